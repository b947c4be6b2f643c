#!/usr/bin/env python3
"""sql_check.py - checks of the external-store tests (the database against the mirrors, memcached
before and after a restore). Standard library only.

usage:
  sql_check.py origin MIRROR_DIR
      print the mirror's origin id (meta "origin", read with mdb_dump)
  sql_check.py table EXPORT [--single] DUMP=ORIGIN...
      EXPORT: the store's mcmirror_items, one row per line:
        POOL_HEX STATE WTIME_US ORIGIN SEQ FLAGS EXPTIME NS_LEN +GROUP_HEX|- KEY_HEX =VALUE_HEX|-
      DUMP: `mcmirror dump --all` of a mirror that ships into the store, ORIGIN its origin id.
      The store must hold, for every (pool, key), the newest record of the mirrors (largest
      write time, then origin), with its write time, origin, sequence number and state; a live one
      with its exact value, flags, expiry, namespace length and group key; an expired one live or
      deleted; a flushed one deleted or absent (--single: one mirror, whose flush the store applied).
      Nothing else may be in the store. Prints "rows N live L" and exits 0, or prints the
      differences (at most 20) and exits 1.
  sql_check.py same DUMP EXPORT
      DUMP: `mcmirror dump --all` of a mirror made with `import --from`; it holds exactly the store's
      rows (origin and sequence numbers aside): live rows as values (expired ones too), deleted and
      dropped ones as such, with their write times, flags, expiry, namespace and group key.
  sql_check.py mcstate BEFORE AFTER EXPORT
      BEFORE, AFTER: sql_mcstate outputs; EXPORT: the store's rows (as for table). The same keys on the
      same servers with the same flags and value bytes, and each TTL after within 2 s of what the
      store's absolute expiry gives at the time the server's own clock said as it was read (its
      "clock" line): memcached's clock ticks once a second, late on a loaded machine, so that its
      TTLs are up to 2 s off the wall clock; comparing them with the TTLs held before, or with
      the wall clock, would need 3 s or more.
      Prints "keys N" (and how many TTLs were how far off) and exits 0, or the differences and exits 1.
"""
import re
import subprocess
import sys


ESCAPE = re.compile(rb'\\([0-9a-f]{2})')


def unescape(s):
    """The bytes of a dump field (docs/FORMAT.md 2.3)."""
    return ESCAPE.sub(lambda m: bytes((int(m.group(1), 16),)), s.encode('ascii'))


def origin_of(mirror):
    out = subprocess.run(['mdb_dump', '-s', 'meta', mirror], check=True, capture_output=True, text=True).stdout
    lines = [l.strip() for l in out.split('\n') if l.startswith(' ')]
    for k, v in zip(lines[0::2], lines[1::2]):
        if bytes.fromhex(k) == b'origin':
            return v
    raise SystemExit('sql_check: no origin in ' + mirror)


def read_dump(path, origin, records):
    with open(path, encoding='ascii') as f:
        body = False
        for line in f:
            line = line.rstrip('\n')
            if line == 'HEADER=END':
                body = True
                continue
            if not body or line.startswith('DATA=END'):
                continue
            fields = line.split(' ')
            if len(fields) == 9:
                fields.append('')  # an empty value
            status, pool, seq, wtime, flags, exptime, ns_len, group, key, value = fields
            rec = {
                'status': status, 'seq': int(seq), 'wtime': int(wtime), 'origin': origin,
                'flags': int(flags), 'exptime': int(exptime), 'ns_len': int(ns_len),
                'group': '-' if group == '-' else unescape(group[1:]).hex(),
                'value': unescape(value).hex(),
            }
            k = (pool, unescape(key).hex())
            best = records.get(k)
            if best is None or (rec['wtime'], rec['origin']) > (best['wtime'], best['origin']):
                records[k] = rec


def read_export(path):
    rows = {}
    with open(path, encoding='ascii') as f:
        for line in f:
            p = line.split()
            if not p:
                continue
            pool, state, wtime, origin, seq, flags, exptime, ns_len, group, key, value = p
            rows[(pool.lower().rjust(16, '0'), key.lower())] = {
                'state': state, 'wtime': int(wtime), 'origin': origin, 'seq': int(seq), 'flags': int(flags),
                'exptime': int(exptime), 'ns_len': int(ns_len), 'group': group[1:].lower() if group != '-' else '-',
                'value': value[1:].lower() if value != '-' else None,
            }
    return rows


def check_table(argv):
    single = '--single' in argv
    argv = [a for a in argv if a != '--single']
    rows = read_export(argv[0])
    records = {}
    for spec in argv[1:]:
        path, origin = spec.rsplit('=', 1)
        read_dump(path, origin, records)
    errors = []
    for k, rec in sorted(records.items()):
        row = rows.pop(k, None)
        st = rec['status']
        name = '%s/%s (%s of %s, seq %d)' % (k[0], bytes.fromhex(k[1]), st, rec['origin'][:8], rec['seq'])
        if st == 'flushed' or (st == 'expired' and row is None):
            # records a flush killed are not shipped: the flush deleted what the store had of them
            # (an expired record may have been killed by a flush too)
            if row and not (row['state'] == 'deleted' and (single or row['origin'] == rec['origin'])):
                errors.append('%s: the store holds %s of %s' % (name, row['state'], row['origin'][:8]))
            continue
        if row is None:
            errors.append('%s: not in the store' % name)
            continue
        if (row['wtime'], row['origin'], row['seq']) != (rec['wtime'], rec['origin'], rec['seq']):
            errors.append('%s: the store holds the write of %d by %s (seq %d), not %d' % (
                name, row['wtime'], row['origin'][:8], row['seq'], rec['wtime']))
            continue
        want = {'live': ('live',), 'expired': ('live', 'deleted'), 'deleted': ('deleted',),
                'dropped': ('dropped',)}[st]
        if row['state'] not in want:
            errors.append('%s: state %s in the store' % (name, row['state']))
            continue
        if row['state'] == 'live':
            for f in ('value', 'flags', 'exptime', 'ns_len', 'group'):
                if row[f] != rec[f]:
                    errors.append('%s: %s %r in the store, %r in the mirror' % (name, f, row[f], rec[f]))
        elif row['value'] is not None:
            errors.append('%s: a %s row with a value' % (name, row['state']))
    for k, row in sorted(rows.items()):
        errors.append('%s/%s: in the store (%s of %s), in no mirror' % (k[0], bytes.fromhex(k[1]), row['state'],
                                                                       row['origin'][:8]))
    for e in errors[:20]:
        print('DIFF ' + e)
    if errors:
        print('%d differences' % len(errors))
        return 1
    print('rows %d live %d' % (len(records), sum(1 for r in records.values() if r['status'] == 'live')))
    return 0


def check_same(argv):
    records = {}
    read_dump(argv[0], '-', records)
    rows = read_export(argv[1])
    errors = []
    for k in sorted(set(records) | set(rows)):
        rec, row = records.get(k), rows.get(k)
        name = '%s/%s' % (k[0], bytes.fromhex(k[1]))
        if rec is None or row is None:
            errors.append('%s: %s' % (name, 'not in the mirror' if rec is None else 'not in the store'))
            continue
        kind = {'live': 'live', 'expired': 'live', 'flushed': 'live', 'deleted': 'deleted',
                'dropped': 'dropped'}[rec['status']]
        if kind != row['state'] or rec['wtime'] != row['wtime']:
            errors.append('%s: %s of %d in the mirror, %s of %d in the store' % (name, rec['status'], rec['wtime'],
                                                                            row['state'], row['wtime']))
            continue
        if kind == 'live':
            for f in ('value', 'flags', 'exptime', 'ns_len', 'group'):
                if row[f] != rec[f]:
                    errors.append('%s: %s %r in the store, %r in the mirror' % (name, f, row[f], rec[f]))
    for e in errors[:20]:
        print('DIFF ' + e)
    if errors:
        print('%d differences' % len(errors))
        return 1
    print('records %d' % len(records))
    return 0


def read_state(path):
    state, clock = {}, {}
    with open(path, encoding='ascii') as f:
        for line in f:
            p = line.split()
            if p[0] == 'clock':
                clock[p[1]] = int(p[2])
                continue
            server, key, flags, ttl, value = p
            state[(server, key)] = (int(flags), int(ttl), value)
    return state, clock


def check_mcstate(argv):
    before, _ = read_state(argv[0])
    after, clock = read_state(argv[1])
    expiry = {bytes.fromhex(k[1]).decode('latin-1'): r['exptime'] for k, r in read_export(argv[2]).items()
              if r['state'] == 'live'}
    errors, off = [], {}
    for k in sorted(set(before) | set(after)):
        b, a = before.get(k), after.get(k)
        if b is None or a is None:
            errors.append('%s on %s: %s' % (k[1], k[0], 'absent before, present after' if b is None
                                                else 'present before, absent after'))
            continue
        if a[0] != b[0] or a[2] != b[2]:
            errors.append('%s on %s: flags/value differ (%d %s... / %d %s...)' % (k[1], k[0], b[0], b[2][:16],
                                                                                a[0], a[2][:16]))
        if k[1] not in expiry:
            errors.append('%s on %s: no live row in the store' % (k[1], k[0]))
            continue
        want = expiry[k[1]] - clock[k[0]] if expiry[k[1]] else -1
        if want >= 0 and a[1] >= 0:
            off[a[1] - want] = off.get(a[1] - want, 0) + 1
        if (want < 0) != (a[1] < 0) or abs(a[1] - want) > 2:
            errors.append('%s on %s: ttl %d after, %d expected (%d before)' % (k[1], k[0], a[1], want, b[1]))
    for e in errors[:20]:
        print('DIFF ' + e)
    if errors:
        print('%d differences' % len(errors))
        return 1
    print('keys %d, ttl off by (s: keys) %s' % (len(before), ', '.join('%+d: %d' % i for i in sorted(off.items()))))
    return 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == 'origin':
        print(origin_of(sys.argv[2]))
        return 0
    if len(sys.argv) >= 4 and sys.argv[1] == 'table':
        return check_table(sys.argv[2:])
    if len(sys.argv) == 4 and sys.argv[1] == 'same':
        return check_same(sys.argv[2:])
    if len(sys.argv) == 5 and sys.argv[1] == 'mcstate':
        return check_mcstate(sys.argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main())
