#!/usr/bin/env python3
"""Embed a domain's migration files in a C source file.

usage: embed_sql.py DOMAIN OUTPUT.c NNN_name.sql...

Writes `const struct db_migration DOMAIN_migrations[]` and
`const size_t DOMAIN_migrations_n`. Files must be numbered 1, 2, 3... without
gaps (the number is the schema version they bring the domain to).
"""
import os
import re
import sys


def c_string(text):
    out = []
    for line in text.splitlines(keepends=True):
        esc = line.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')
        esc = esc.replace('\t', '\\t').replace('\r', '\\r').replace('??', '?\\?')
        out.append('\t"' + esc + '"')
    return '\n'.join(out) if out else '\t""'


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    domain, output, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    migrations = []
    for path in files:
        m = re.fullmatch(r'(\d{3})_([a-z0-9_]+)\.sql', os.path.basename(path))
        if not m:
            sys.exit(f'{path}: migration files are named NNN_name.sql')
        with open(path, encoding='utf-8') as f:
            migrations.append((int(m.group(1)), m.group(2), f.read()))
    migrations.sort()
    for i, (version, name, _) in enumerate(migrations, 1):
        if version != i:
            sys.exit(f'{domain}: migration {version:03d}_{name} should be number {i:03d}')
    with open(output, 'w', encoding='utf-8') as f:
        f.write('/* Generated from the migration files by bss/core/embed_sql.py. */\n')
        f.write('#include <stddef.h>\n#include "bss/core/db.h"\n\n')
        f.write(f'const struct db_migration {domain}_migrations[] = {{\n')
        for version, name, sql in migrations:
            f.write(f'\t{{{version}, "{name}",\n{c_string(sql)}}},\n')
        f.write('};\n')
        f.write(f'const size_t {domain}_migrations_n = {len(migrations)};\n')


if __name__ == '__main__':
    main()
