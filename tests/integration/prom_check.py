#!/usr/bin/env python3
"""prom_check.py - check Prometheus text exposition format strictly (test helper).

usage: prom_check.py FILE
Checks what node_exporter's textfile collector and Prometheus's parser
require, and the conventions promtool's `check metrics` lints:
  - every line is '# HELP name text', '# TYPE name gauge|counter|...', or a
    sample 'name{label="value",...} value' (no timestamps: the textfile
    collector refuses them), and the file ends with a newline;
  - names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*
    and do not start with '__'; label values escape only \\\\, \\" and \\n;
  - each family has exactly one HELP and one TYPE, both before its samples,
    and its samples are contiguous; counters end in _total;
  - no two samples have the same name and label set; values are floats.
Prints 'ok N families, M samples' or the first problem, with its line number
(exit 1).
"""
import re
import sys

NAME = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*\Z')
LABEL = re.compile(r'[a-zA-Z_][a-zA-Z0-9_]*\Z')
TYPES = {'counter', 'gauge', 'histogram', 'summary', 'untyped'}


def fail(lineno, why):
    print(f'line {lineno}: {why}')
    sys.exit(1)


def parse_labels(text, lineno):
    """text is what follows '{' up to the end of the line; returns (labels, rest)."""
    labels, i = {}, 0
    while True:
        if text[i:i + 1] == '}':
            return labels, text[i + 1:]
        m = re.match(r'([^=]*)="', text[i:])
        if not m:
            fail(lineno, f'bad label syntax at {text[i:i + 20]!r}')
        name = m.group(1)
        if not LABEL.match(name) or name.startswith('__'):
            fail(lineno, f'bad label name {name!r}')
        if name in labels:
            fail(lineno, f'label {name!r} twice')
        i += m.end()
        value = []
        while True:
            if i >= len(text):
                fail(lineno, 'unterminated label value')
            c = text[i]
            if c == '\\':
                nxt = text[i + 1:i + 2]
                if nxt not in ('\\', '"', 'n'):
                    fail(lineno, f'bad escape \\{nxt} in a label value')
                value.append({'\\': '\\', '"': '"', 'n': '\n'}[nxt])
                i += 2
                continue
            if c == '"':
                i += 1
                break
            if c == '\n':
                fail(lineno, 'raw newline in a label value')
            value.append(c)
            i += 1
        labels[name] = ''.join(value)
        if text[i:i + 1] == ',':
            i += 1
        elif text[i:i + 1] != '}':
            fail(lineno, f'expected , or }} after label {name!r}')


def main(path):
    data = open(path, 'rb').read()
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as e:
        fail(0, f'not UTF-8: {e}')
    if not text.endswith('\n'):
        fail(0, 'the file does not end with a newline')
    helps, types, done, seen = {}, {}, set(), set()
    current, samples = None, 0
    for lineno, line in enumerate(text[:-1].split('\n'), 1):
        if line.startswith('#'):
            parts = line.split(' ', 3)
            if len(parts) < 3 or parts[0] != '#' or parts[1] not in ('HELP', 'TYPE'):
                fail(lineno, f'a comment that is neither HELP nor TYPE: {line!r}')
            name = parts[2]
            if not NAME.match(name):
                fail(lineno, f'bad metric name {name!r}')
            if name in done:
                fail(lineno, f'family {name} again after other families (samples not contiguous)')
            table = helps if parts[1] == 'HELP' else types
            if name in table:
                fail(lineno, f'second {parts[1]} for {name}')
            if name in seen:
                fail(lineno, f'{parts[1]} for {name} after its samples')
            if len(parts) != 4 or not parts[3].strip():
                fail(lineno, f'{parts[1]} for {name} without text')
            table[name] = parts[3]
            if parts[1] == 'TYPE':
                if parts[3] not in TYPES:
                    fail(lineno, f'unknown type {parts[3]!r}')
                if parts[3] == 'counter' and not name.endswith('_total'):
                    fail(lineno, f'counter {name} does not end in _total')
            if current and current != name:
                done.add(current)
            current = name
            continue
        m = re.match(r'([^{ ]+)(\{)?', line)
        if not m:
            fail(lineno, f'not a sample: {line!r}')
        name = m.group(1)
        if not NAME.match(name):
            fail(lineno, f'bad metric name {name!r}')
        if name in done:
            fail(lineno, f'sample of {name} after other families (not contiguous)')
        if name not in helps or name not in types:
            fail(lineno, f'sample of {name} before its HELP and TYPE')
        if current and current != name:
            done.add(current)
        current = name
        labels, rest = parse_labels(line[m.end():], lineno) if m.group(2) else ({}, line[m.end():])
        if not rest.startswith(' ') or len(rest.split(' ')) != 2:
            fail(lineno, f'want exactly one value after the labels (no timestamp): {rest!r}')
        try:
            float(rest[1:])
        except ValueError:
            fail(lineno, f'bad value {rest[1:]!r}')
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            fail(lineno, f'duplicate series {name}{labels}')
        seen.add(key)
        seen.add(name)
        samples += 1
    print(f'ok {len(types)} families, {samples} samples')


if __name__ == '__main__':
    main(sys.argv[1])
