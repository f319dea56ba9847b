"""How well the engine reads the project's own corpus: tests/corpus/mails, holdout and fresh.

    .venv/bin/python bench/corpus.py [--mistakes] [--json]

For each folder (reported apart: holdout/ is mail the engine was never tuned against; fresh/ was
written in a later round before the engine was changed for it, and its first score is kept in
docs/reading.md): decision
accuracy, fields precision/recall/F1, missing exact and invalid exact, then one row per kind of mail
with its decision accuracy, fields P/R and the fields it reads worst. Scored as the desk's
`score-corpus --pack-keys` scores (tests/corpus/scoring.py). `--mistakes` lists every mail that
differs from its expectation; `--json` prints one object for scripts.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "corpus"))

from scoring import CORPUS_ROOT, Report, Tally, score

from triage.config import Settings
from triage.engine.loader import load_rules

FOLDERS = ("mails", "holdout", "fresh", "unseen")


def weakest(tally: Tally, limit: int = 4) -> str:
    """The fields with the lowest recall (then precision), as `field P/R`, for one row."""
    rows = []
    for key in tally.fields:
        precision, recall, _ = tally.prf(key)
        if precision < 1.0 or recall < 1.0:
            rows.append((recall, precision, key))
    rows.sort()
    return ", ".join(f"{key} {p:.2f}/{r:.2f}" for r, p, key in rows[:limit]) or "-"


def summary(tally: Tally) -> str:
    precision, recall, f1 = tally.prf()
    return (
        f"decisions {tally.decisions_ok}/{tally.mails} ({tally.decision_accuracy:.1%}) · "
        f"fields P {precision:.3f} R {recall:.3f} F1 {f1:.3f} · "
        f"missing exact {tally.missing_ok}/{tally.mails} · invalid exact {tally.invalid_ok}/{tally.mails}"
    )


def print_report(name: str, report: Report, mistakes: bool) -> None:
    print(f"== {name}: {summary(report.tally())}")
    print(
        f"  {'kind':11} {'mails':>5} {'decisions':>9} {'P':>6} {'R':>6} {'missing':>7}  weakest fields (P/R)"
    )
    for kind in report.kinds():
        tally = report.tally(kind)
        precision, recall, _ = tally.prf()
        print(
            f"  {kind:11} {tally.mails:5} {tally.decision_accuracy:9.1%} {precision:6.3f} {recall:6.3f} "
            f"{tally.missing_exact:7.1%}  {weakest(tally)}"
        )
    total = report.tally()
    print(f"  {'field':24} {'tp':>4} {'fp':>4} {'fn':>4} {'P':>6} {'R':>6}")
    for key, (tp, fp, fn) in sorted(total.fields.items()):
        precision, recall, _ = total.prf(key)
        print(f"  {key:24} {tp:4} {fp:4} {fn:4} {precision:6.3f} {recall:6.3f}")
    if mistakes:
        for result in report.results:
            if not result.ok:
                print(f"  ! {result.line()}")
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mistakes", action="store_true", help="list every mail that differs")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    settings = Settings.from_env()
    rules = load_rules(settings.rules_dir, settings.replies_dir)
    reports = {
        name: score(CORPUS_ROOT / name, settings=settings, rules=rules)
        for name in FOLDERS
        if (CORPUS_ROOT / name).is_dir()
    }
    if args.json:
        out: dict[str, Any] = {}
        for name, report in reports.items():
            out[name] = report.tally().as_json() | {
                "kinds": {kind: report.tally(kind).as_json() for kind in report.kinds()},
                "mistakes": [result.line() for result in report.results if not result.ok],
            }
        print(json.dumps(out, ensure_ascii=False))
        return 0
    for name, report in reports.items():
        print_report(name, report, args.mistakes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
