"""Coverage-guided fuzzing of the parser and the read of one mail (atheris). Not run in CI.

    .venv/bin/pip install -e '.[fuzz]'            # atheris (a wheel for CPython 3.11 on x86-64 Linux)
    .venv/bin/python bench/fuzz_parse.py -atheris_runs=200000 -max_len=65536 [CORPUS_DIR ...]

Each input is raw mail bytes: parse + language + screening + judge inside one reading budget.
Anything but the documented ParseFailure is a finding (libFuzzer saves the input as crash-*), and
so is a read slower than SLOW_SECONDS (reported as a TimeoutError). A folder of .eml files given
after the options seeds the corpus (tests/ fixtures, say); libFuzzer adds what it finds there.
"""

from __future__ import annotations

import datetime as dt
import sys
import time

import atheris

with atheris.instrument_imports():
    from triage import textmatch
    from triage.config import Settings
    from triage.engine.language import reply_language
    from triage.engine.loader import load_rules
    from triage.errors import ParseFailure
    from triage.parsing.mime import parse_mail
    from triage.screening import screen
    from triage.verdict import judge

SLOW_SECONDS = 2.0
SETTINGS = Settings.from_env()
RULES = load_rules(SETTINGS.rules_dir, SETTINGS.replies_dir)
TODAY = dt.date(2026, 11, 21)


def one_input(data: bytes) -> None:
    started = time.monotonic()
    with textmatch.reading():
        try:
            mail = parse_mail(data)
        except ParseFailure:
            return
        reply_language(mail)
        screen(mail, SETTINGS, mailboxes=RULES.mailboxes)
        judge(mail, envelope_to=None, settings=SETTINGS, rules=RULES, today=TODAY)
    spent = time.monotonic() - started
    if spent > SLOW_SECONDS:
        raise TimeoutError(f"one mail took {spent:.2f} s to read")


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
