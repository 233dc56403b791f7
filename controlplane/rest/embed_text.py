#!/usr/bin/env python3
"""Embed a text file in a C source file as one string.

usage: embed_text.py SYMBOL OUTPUT.c INPUT

Writes `const char SYMBOL[] = "...";` holding INPUT's bytes (UTF-8 text).
"""
import sys


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    symbol, output, path = sys.argv[1:]
    with open(path, encoding='utf-8') as f:
        text = f.read()
    lines = []
    for line in text.splitlines(keepends=True):
        esc = line.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')
        esc = esc.replace('\t', '\\t').replace('??', '?\\?')
        lines.append('\t"' + esc + '"')
    with open(output, 'w', encoding='utf-8') as f:
        f.write(f'/* Generated from {path.split("/")[-1]} by embed_text.py. */\n')
        f.write(f'extern const char {symbol}[];\n')
        f.write(f'const char {symbol}[] =\n' + ('\n'.join(lines) or '\t""') + ';\n')


if __name__ == '__main__':
    main()
