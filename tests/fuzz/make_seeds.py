#!/usr/bin/env python3
"""make_seeds.py - write the seed corpus of every fuzz target of tests/fuzz (run by the build).

usage: make_seeds.py OUTDIR
Writes OUTDIR/<target>/<name> for the targets dumpfmt, load, record, journal and pipe: small
inputs that are valid (or nearly so) in each target's input format, so that the fuzzer starts
from lines that decode, dumps that load, records that decode, journal programs that write,
drain, damage and reboot, and replies a memcached server sends. The formats are those the
header comments of the fuzz_<target>.c files describe; keep them in step.
"""
import os
import struct
import sys
import time
import zlib

POOL_A = "335ba8a0684190e6"
POOL_B = "a682f41d61639738"


def pool_line(pid, servers, dist="modula", khash="default", dhash="default", hwn=0, created=1795465101076133,
              flush_seq=0, flush_time=0, encrypted=0):
    return ("pool=%s servers=%s distribution=%s key_hash=%s dist_hash=%s hash_with_namespace=%d created_us=%d "
            "flush_seq=%d flush_time=%d encrypted=%d\n" % (pid, servers, dist, khash, dhash, hwn, created, flush_seq,
                                                            flush_time, encrypted))


# record lines in key order (pool, then key bytes), as `mcmirror dump --all` writes them
RECORDS = [
    "live %s 2 1795465101076155 6839 0 0 - a:empty \n" % POOL_A,
    "deleted %s 9 1795465101076188 0 0 0 - a:gone \n" % POOL_A,
    "live %s 5 1795465101076177 8793 0 0 +grp\\01\\20x a:grouped in\\20a\\20group\n" % POOL_A,
    "live %s 3 1795465101076165 4885 1795468701 0 - a:ttl lives\\20an\\20hour\n" % POOL_A,
    "dropped %s 11 1795465101076190 0 0 0 - a:unknown \n" % POOL_A,
    "live %s 4 1795465101076174 8793 0 5 - app1:user ns\\20value\n" % POOL_A,
    "live %s 7 1795465101076182 11724 0 0 +\\5c bin\\01\\7f\\ff\\20\\5c\\0a\\0d\\00z binary\\20key\n" % POOL_A,
    "expired %s 21 1795465101076218 16609 1 0 - a:expired-at-once never\\20lived\n" % POOL_B,
    "flushed %s 23 1795465101076226 15632 0 0 - b:before-flush-1 flushed\\20away\n" % POOL_B,
]


def dump(records, pools, scope="all", last_seq=36):
    head = ("format=mcmirror-dump\nversion=1\nrecord_format=1\ncreated=2026-11-23T20:18:21Z\nmirror=/var/lib/mcmirror\n"
            "last_seq=%d\nscope=%s\npools=%d\n" % (last_seq, scope, len(pools)))
    return head + "".join(pools) + "HEADER=END\n" + "".join(records)


def trailer(text, count):
    return text + "DATA=END records=%d crc32=%08x\n" % (count, zlib.crc32(text.encode()))


def item_record(kind=1, group_mode=0, flags=0, exptime=0, wtime=1795465101076155, seq=1, ns_len=0, group=b"",
                value=b"", version=1):
    """An item record; version 2 with a zero CRC (fuzz_record's mode 1 writes the right one)."""
    fields = (kind, group_mode, 0, flags, exptime, wtime, seq, ns_len, len(group), len(value))
    if version == 1:
        return struct.pack("<BBBBIqQQHHI", 1, *fields) + group + value
    return struct.pack("<BBBBIqQQHHIII", 2, *fields, 0, 0) + group + value


def pool_record(servers=b"127.0.0.1:11211", dist=0, khash=0, dhash=0, hwn=0, encrypted=0, flush_seq=0,
                flush_time=0, version=1, sasl=0):
    """A pool record; version 2 with a zero CRC (fuzz_record's mode 1 writes the right one)."""
    if version == 1:
        return (struct.pack("<BBBBIIIQQqII", 1, hwn, encrypted, 0, dist, khash, dhash, 1795465101076133, flush_seq,
                            flush_time, len(servers), 0) + servers)
    return (struct.pack("<BBBBIIIQQqII", 2, hwn, encrypted, sasl, dist, khash, dhash, 1795465101076133, flush_seq,
                        flush_time, 0, len(servers)) + servers)


def bundle(entries):
    """A bundle of the seq index (format 3): (number, kind, exptime, wtime, items key) entries."""
    out = bytes([1, len(entries)]) + b"\0\0"
    for seq, kind, exptime, wtime, ikey in entries:
        entry = bytes([kind]) + bytes(7) + struct.pack("<qQ", exptime, wtime) + ikey
        out += struct.pack("<QH", seq, len(entry)) + entry
    return out


def record_seed(key, rec, fix=0):
    """fuzz_record's input: the key's length and bytes, the mode byte (1: fix the CRC), the record."""
    return struct.pack("<H", len(key)) + key + bytes([fix]) + rec


# --- fuzz_journal programs: opcodes and operands as fuzz_journal.c reads them ----------------
S_POOL, S_INTENT, S_OUTCOME, S_WRITE, S_WRITE2, S_RAW, S_DAMAGE, S_DRAIN, S_SYNC, S_REAP, S_DRAINER, S_REBOOT = range(12)
S_ONE, S_RESOLVE = 0xe0, 0xe1  # one-record writes (MCM_J_WRITE), and a later resolution
OWN = 0x80  # an id of this process (0x40: of a dead one, 0: of none)
OP_PUT, OP_APPEND, OP_DELTA, OP_TOUCH, OP_DELETE, OP_DROP, OP_FLUSH = 1, 2, 4, 5, 6, 7, 8


def j_pool(idx=0, dist=0):
    return bytes([S_POOL, idx, dist, 0, 0, 0])


def j_write(counter, key=0, op=OP_PUT, value=b"v", group=b"", shape=0, step=S_WRITE, who=OWN, pool=0):
    out = bytes([step, who | counter, pool, key])
    if step != S_OUTCOME:
        out += bytes([0])  # intent: as written
    if step != S_INTENT:
        out += bytes([len(group)]) + group + bytes([shape, len(value)]) + value + bytes([op])
        out += bytes([0])  # ns_len (modulo the key's length + 1)
        out += struct.pack("<I", 42)  # flags
        out += bytes([0])  # exptime: 0
        out += bytes([1]) + struct.pack("<Q", 7) + bytes([0, 1])  # delta, result, initial, incr
    return out


def j_one(counter, how, key=0, value=b"v", who=OWN):
    """A one-record write: how 0 resolves it at once, 1 keeps it pending, 2 appends an outcome too."""
    out = bytes([S_ONE, who | counter, 0, how, key])
    out += bytes([0, 0, len(value)]) + value + bytes([OP_PUT, 0]) + struct.pack("<I", 42) + bytes([0])
    out += bytes([1]) + struct.pack("<Q", 7) + bytes([0, 1])
    if how == 2:
        out += bytes([0, 0, len(value)]) + value + bytes([OP_DELETE, 0]) + struct.pack("<I", 0) + bytes([0])
        out += bytes([1]) + struct.pack("<Q", 7) + bytes([0, 1])
    return out


def j_drain(n=31):
    return bytes([S_DRAIN, n])


def j_damage(at, data):
    return bytes([S_DAMAGE]) + struct.pack("<H", at) + bytes([len(data) - 1]) + data


def journal_seeds():
    writes = b"".join(j_write(i % 8, key=i % 4, value=b"value-%d" % i) for i in range(6))
    return {
        "writes": bytes([0x00]) + j_pool() + writes + j_drain(),
        "ops": bytes([0x04]) + j_pool() + j_write(1, op=OP_PUT, value=b"10") + j_write(2, op=OP_APPEND, value=b"x")
        + j_write(3, op=OP_DELTA) + j_write(4, op=OP_TOUCH) + j_write(5, key=1, op=OP_DELETE)
        + j_write(6, key=2, op=OP_DROP) + j_write(7, op=OP_FLUSH) + j_drain(),
        "overlap": bytes([0x00]) + j_pool() + j_write(1, step=S_INTENT) + j_write(2, step=S_INTENT)
        + j_write(1, step=S_OUTCOME) + j_write(2, step=S_OUTCOME) + j_write(3, who=0x40, step=S_INTENT)
        + bytes([S_REAP, 0]) + j_drain(),
        "wrap": bytes([0x05]) + j_pool() + b"".join(j_write(i % 8, value=b"w" * 60) + j_drain(4) + bytes([S_SYNC])
                                                    for i in range(24)),
        "damage": bytes([0x00]) + j_pool() + writes + j_damage(40, b"\xff\xff\xff\xff") + j_drain()
        + writes + j_damage(200, b"\x00") + j_drain(),
        "reboot": bytes([0x01]) + j_pool() + writes + j_drain(3) + bytes([S_SYNC]) + writes + bytes([S_REBOOT, 1])
        + writes + bytes([S_DRAINER]) + j_drain(),
        # one record a write: resolved, pending then resolved (before and after the drainer took
        # it over), another call's outcome, overlapping writes on one key
        "one_record": bytes([0x00]) + j_pool() + j_one(1, 0) + j_one(2, 1) + j_one(3, 1, key=1)
        + bytes([S_RESOLVE, 0]) + j_drain(2) + bytes([S_RESOLVE, 0]) + j_one(4, 2) + j_one(5, 1, key=2)
        + j_one(6, 0, key=2) + bytes([S_RESOLVE, 0]) + j_drain(),
        "ns_group": bytes([0x00]) + j_pool(1) + j_write(1, key=2, pool=1, group=b"grp", shape=0x10) + j_drain(),
        # found by a long run (minimized): a reboot tears the record a pad made room for, so the
        # recovered journal ends with the pad; the drain stopped before it (test_drain: pad_at_the_end)
        "pad_at_end": bytes.fromhex("3401002a00000000010000000000000001010776616c750000000900000000012a0076616c77772a770000666f6c6c000007760100610000006f6c73010700006c756500666f616c002a0000000077"),
    }


def pipe_seeds():
    return {
        "replay": b"\x00HD\r\nNS\r\nHD\r\nNF\r\nMN\r\n",
        "values": b"\x07VA 3 f0 t-1\r\nabc\r\nEN\r\nVA 0 f5 t100\r\n\r\nMN\r\n",
        "binary": b"\x01VA 5 f123 t-1 b\r\n\x00\r\n\xff\xfe\r\nEN\r\n",
        "errors": b"\x00SERVER_ERROR out of memory storing object\r\nCLIENT_ERROR bad command line format\r\nERROR\r\n",
        "metadump": b"\x10key=a%20b exp=-1 la=1700000000 cas=1 fetch=no cls=1 size=63\r\n"
                    b"key=c exp=1700003600 la=1700000000 cas=2 fetch=yes cls=1 size=70\r\nEND\r\n",
        "busy": b"\x00BUSY currently processing crawler request\r\n",
    }


def replies_seeds():
    """fuzz_replies: mode (1 verify, 0 import), listing length, listing, answers to the gets."""
    def seed(mode, listing, gets):
        return bytes([mode]) + struct.pack("<H", len(listing)) + listing + gets
    # verify's mirror: "bin\x01key7", k0..k6 (key order), values "value-<i>", flags <i>, k3 expiring
    # at 2100-01-01 (its TTL is right for a while after the build)
    def va(i):
        ttl = int(4102444800 - time.time()) if i == 3 else -1
        return b"VA 7 f%d t%d\r\nvalue-%d\r\n" % (i, ttl, i)
    good = b"".join(va(i) for i in [7, 0, 1, 2, 3, 4, 5, 6])
    listing = (b"key=a exp=-1 la=1700000000 cas=1 fetch=no cls=1 size=63\n"
               b"key=b%20c exp=1700003600 la=1700000000 cas=2 fetch=yes cls=1 size=70\nEND\r\n")
    return {
        "verify": seed(1, b"", good),
        "verify_miss": seed(1, b"", b"EN\r\nVA 3 f9 t5\r\nabc\r\nSERVER_ERROR busy\r\n"),
        "import": seed(0, listing, b"VA 1 f1 t-1\r\nx\r\nVA 2 f2 t100\r\nyz\r\n"),
        "import_gone": seed(0, listing, b"EN\r\nCLIENT_ERROR bad data chunk\r\n"),
        "import_refused": seed(0, b"ERROR\r\n", b""),
        # raw control bytes in a key field (found by a long run: import fetched and wrote such a key)
        "import_raw_key": seed(0, b"key=a\x00exp=-1\x01\r f9 t5\r\nkey=ok exp=-1 la=1 cas=1 fetch=no cls=1 size=63\n"
                                  b"END\r\n", b"VA 3 f1 t-1\r\nabc\r\nVA 1 f1 t-1\r\nx\r\n"),
        # flags and ttls no memcached sends (found by a long run: now + t9223372036854775807 overflowed)
        "import_bad_flags": seed(0, listing, b"VA 1 f0 t9223372036854775807\r\nx\r\nVA 2 f4294967296 t-1\r\nyz\r\n"),
        "verify_bad_flags": seed(1, b"", b"VA 7 f7 t9223372036854775807\r\nvalue-7\r\nVA 7 f-1 t-9223372036854775808\r\n"
                                         b"value-0\r\n"),
    }


def main():
    out = sys.argv[1]
    pools = [pool_line(POOL_A, "127.0.0.1:11211"),
             pool_line(POOL_B, "127.0.0.1:11212,/run/mc.sock", "consistent_ketama", "md5", "crc", 1, flush_seq=22,
                       flush_time=1795465000)]
    full = dump(RECORDS, pools)
    # every number at the edge of its range (issue 17, defect 4: a flush_time of INT64_MIN overflowed)
    edges = dump(["live %s 18446744073709551615 18446744073709551615 4294967295 0 5 - app1:edge v\n" % POOL_A,
                  "live %s 18446744073709551613 18446744073709551615 4294967295 -9223372036854775808 5 - "
                  "app1:edge2 v\n" % POOL_A],
                 [pool_line(POOL_A, "127.0.0.1:11211", created=18446744073709551615, flush_seq=18446744073709551614,
                            flush_time=-9223372036854775808, hwn=255, encrypted=255)],
                 last_seq=18446744073709551615)
    live = dump([r for r in RECORDS if r.startswith("live")], pools[:1], scope="live")
    seeds = {
        "dumpfmt": {"records": "".join(RECORDS).encode(), "pools": "".join(pools).encode(),
                    "header": full.encode()},
        "load": {"all": b"\x01" + full.encode(), "merge": b"\x03" + full.encode(),
                 "live_trailer": b"\x00" + trailer(live, 5).encode(), "empty": b"\x01" + dump([], []).encode(),
                 "edges": b"\x01" + edges.encode()},
        "record": {"value": record_seed(bytes.fromhex(POOL_A) + b"app1:user", item_record(ns_len=5, value=b"ns value")),
                   "group": record_seed(bytes.fromhex(POOL_A) + b"a:grouped", item_record(group_mode=1, group=b"grp",
                                                                                         value=b"x")),
                   "tombstone": record_seed(bytes.fromhex(POOL_A) + b"a:gone", item_record(kind=2)),
                   "bundle": record_seed(struct.pack(">Q", 40),
                                         bundle([(7, 1, 0, 1795465101076155, bytes.fromhex(POOL_A) + b"app1:user"),
                                                 (39, 2, 1795468701, 1795465101076165, bytes.fromhex(POOL_A) + b"a:gone")])),
                   "pool": record_seed(b"", pool_record(b"127.0.0.1:11211,/run/mc.sock", dist=2, flush_seq=9)),
                   "value2": record_seed(bytes.fromhex(POOL_A) + b"app1:user",
                                         item_record(ns_len=5, value=b"ns value", version=2), fix=1),
                   "group2": record_seed(bytes.fromhex(POOL_A) + b"a:grouped",
                                         item_record(group_mode=1, group=b"grp", value=b"x", version=2), fix=1),
                   "tombstone2": record_seed(bytes.fromhex(POOL_A) + b"a:gone", item_record(kind=2, version=2), fix=1),
                   "pool2": record_seed(bytes.fromhex(POOL_A), pool_record(b"127.0.0.1:11211,/run/mc.sock", dist=2,
                                                                           flush_seq=9, version=2, sasl=1), fix=1)},
        "journal": journal_seeds(),
        "pipe": pipe_seeds(),
        "replies": replies_seeds(),
    }
    for target, files in seeds.items():
        os.makedirs(os.path.join(out, target), exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(out, target, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
