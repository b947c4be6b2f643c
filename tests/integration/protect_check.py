#!/usr/bin/python3
"""protect_check.py - an independent client for protected memcached servers (test helper).

usage: protect_check.py ACTION PORT COUNT SIZE PREFIX [--tls CA [CERT KEY]] [--auth CREDFILE]
  ACTION  check: read items 0..COUNT-1 and compare them with what mkmirror writes (key PREFIX%08u,
                 value mkmirror's make_value, flags i * 2654435761 mod 2^32); prints
                 "hits H missing M wrong W"; exit 0 only when every item is there and right
          fill:  write those items (no expiry)
          count: print the server's total_items (items ever stored)
  --tls CA        TLS to 127.0.0.1:PORT, the server's certificate checked against CA (name 127.0.0.1;
                  CA '-': not checked); CERT KEY: a client certificate
  --auth CREDFILE mcmirror's credentials file (mechanism, user, password): 'authfile' sends
                  memcached's text-protocol token first, 'plain' speaks the binary protocol with
                  SASL PLAIN
The password is read from the file and never printed. Written with Python's own socket and ssl
modules: nothing of mcmirror's code is shared, so a check here can disagree with mcmirror.
"""
import socket
import ssl
import struct
import sys


def make_value(i, size):
    v = bytearray((ord('a') + (i + j) % 26) for j in range(size))
    if i % 8 == 0 and size >= 3:
        v[0:3] = b'\0\r\n'
    return bytes(v)


def read_creds(path):
    creds = {}
    with open(path, 'r') as f:
        for line in f:
            line = line.rstrip('\n').rstrip('\r')
            if not line.strip() or line.lstrip().startswith('#'):
                continue
            name, _, value = line.lstrip().partition(' ')
            creds[name] = value.lstrip(' \t')
    return creds


class Conn:
    def __init__(self, port, tls, creds):
        s = socket.create_connection(('127.0.0.1', port), timeout=10)
        if tls:
            ctx = ssl.create_default_context(cafile=None if tls[0] == '-' else tls[0])
            if tls[0] == '-':
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            if len(tls) == 3:
                ctx.load_cert_chain(tls[1], tls[2])
            s = ctx.wrap_socket(s, server_hostname='127.0.0.1')
        self.s = s
        self.buf = b''
        self.binary = creds is not None and creds['mechanism'] == 'plain'
        if creds is None:
            return
        user, password = creds['user'].encode(), creds['password'].encode()
        if self.binary:
            token = b'\0' + user + b'\0' + password
            self.s.sendall(self.request(0x21, b'', b'PLAIN', token))
            status, _, _, _ = self.reply()
            if status != 0:
                raise SystemExit('protect_check: SASL authentication refused (status 0x%x)' % status)
        else:
            token = user + b' ' + password
            self.s.sendall(b'set auth 0 0 %d\r\n%s\r\n' % (len(token), token))
            line = self.line()
            if line != b'STORED':
                raise SystemExit('protect_check: text authentication refused: %r' % line)

    def more(self):
        d = self.s.recv(1 << 20)
        if not d:
            raise SystemExit('protect_check: connection closed')
        self.buf += d

    def line(self):
        while b'\r\n' not in self.buf:
            self.more()
        line, self.buf = self.buf.split(b'\r\n', 1)
        return line

    def take(self, n):
        while len(self.buf) < n:
            self.more()
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    @staticmethod
    def request(op, extras, key, value):
        body = len(extras) + len(key) + len(value)
        return struct.pack('>BBHBBHIIQ', 0x80, op, len(key), len(extras), 0, 0, body, 0, 0) + extras + key + value

    def reply(self):
        h = self.take(24)
        magic, op, keylen, extlen, _, status, body, _, _ = struct.unpack('>BBHBBHIIQ', h)
        if magic != 0x81:
            raise SystemExit('protect_check: bad binary reply')
        data = self.take(body)
        return status, data[:extlen], data[extlen:extlen + keylen], data[extlen + keylen:]

    def get(self, key):
        """(flags, value) or None"""
        if self.binary:
            self.s.sendall(self.request(0x00, b'', key, b''))
            status, extras, _, value = self.reply()
            if status == 1:
                return None
            if status != 0:
                raise SystemExit('protect_check: GET status 0x%x' % status)
            return struct.unpack('>I', extras[:4])[0], value
        self.s.sendall(b'mg ' + key + b' v f\r\n')
        line = self.line()
        if line == b'EN':
            return None
        parts = line.split()
        if parts[0] != b'VA':
            raise SystemExit('protect_check: mg answered %r' % line)
        value = self.take(int(parts[1]) + 2)[:-2]
        flags = int([p for p in parts if p.startswith(b'f')][0][1:])
        return flags, value

    def set(self, key, flags, value):
        if self.binary:
            self.s.sendall(self.request(0x01, struct.pack('>II', flags, 0), key, value))
            status, _, _, _ = self.reply()
            ok = status == 0
        else:
            self.s.sendall(b'ms ' + key + b' %d F%d\r\n' % (len(value), flags) + value + b'\r\n')
            ok = self.line() == b'HD'
        if not ok:
            raise SystemExit('protect_check: a write was refused')

    def stats(self):
        out = {}
        if self.binary:
            self.s.sendall(self.request(0x10, b'', b'', b''))
            while True:
                status, _, key, value = self.reply()
                if status != 0 or not key:
                    return out
                out[key.decode()] = value.decode()
        self.s.sendall(b'stats\r\n')
        while True:
            line = self.line()
            if line == b'END':
                return out
            _, name, value = line.decode().split(' ', 2)
            out[name] = value


def main(argv):
    if len(argv) < 6:
        raise SystemExit(__doc__)
    action, port, count, size, prefix = argv[1], int(argv[2]), int(argv[3]), int(argv[4]), argv[5]
    tls, creds, rest = None, None, argv[6:]
    while rest:
        if rest[0] == '--tls':
            n = 4 if len(rest) >= 4 and not rest[2].startswith('--') else 2
            tls, rest = rest[1:n], rest[n:]
        elif rest[0] == '--auth':
            creds, rest = read_creds(rest[1]), rest[2:]
        else:
            raise SystemExit(__doc__)
    c = Conn(port, tls, creds)
    if action == 'count':
        print(c.stats().get('total_items', '?'))
        return 0
    hits = missing = wrong = 0
    for i in range(count):
        key = b'%s%08d' % (prefix.encode(), i)
        value, flags = make_value(i, size), (i * 2654435761) % (1 << 32)
        if action == 'fill':
            c.set(key, flags, value)
            continue
        got = c.get(key)
        if got is None:
            missing += 1
        elif got != (flags, value):
            wrong += 1
        else:
            hits += 1
    if action == 'fill':
        return 0
    print('hits %d missing %d wrong %d' % (hits, missing, wrong))
    return 0 if hits == count else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
