"""Score the engine on a corpus folder: NNN-kind-slug.eml beside NNN-kind-slug.expected.json.

Each mail goes through `triage.verdict.judge` and `triage.cli.verdict_json`, exactly what
`triage check --json` prints, and is compared as the desk's `score-corpus --pack-keys` compares:

- decision exactly;
- fields only on mails expected `queued` or `needs_info`, key by key over the union of expected and
  reported keys of the mailbox's rule pack: names with all white space removed, e-mails as a set of
  lower-cased addresses, every other field exactly;
- missing as a sorted list, exactly; invalid as the sorted list of field names, exactly.

Used by `tests/corpus/test_corpus.py` and `bench/corpus.py`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from triage.cli import verdict_json
from triage.clock import SystemClock
from triage.config import Settings
from triage.engine.loader import load_rules
from triage.engine.spec import RuleSet
from triage.parsing.mime import parse_mail
from triage.verdict import judge

CORPUS_ROOT = Path(__file__).resolve().parent
KINDS = (
    "labels",
    "translated",
    "table",
    "prose_ja",
    "prose_en",
    "twofields",
    "hedged",
    "garbage",
    "correction",
    "emoji",
    "split",
    "plain",
)
DECISIONS = ("queued", "needs_info", "icloud_rejected", "ignored", "unknown_mailbox")
SCORED = frozenset({"queued", "needs_info"})
NAMES = frozenset({"name_kanji", "name_kana", "nickname", "old_surname", "new_surname", "address"})
_CARRIER = ("carrier", "docomo_payment_number", "au_billing_id", "softbank_order_number")
PACK_KEYS: Mapping[str, frozenset[str]] = {
    "secure_produce101shinsekai": frozenset(
        {
            "name_kanji",
            "name_kana",
            "nickname",
            "birth_date",
            "prefecture",
            "phone",
            "emails",
            "payment_method",
            "plus_member_id",
            "course",
            "member_number",
            *_CARRIER,
        }
    ),
    "secure_lunasea": frozenset(
        {
            "login_member_number",
            "login_password",
            "name_kanji",
            "name_kana",
            "nickname",
            "birth_date",
            "emails",
            "phone",
            "address",
            "plus_member_id",
            "old_surname",
            "new_surname",
            *_CARRIER,
        }
    ),
    "secure_jo1": frozenset(
        {
            "name_kanji",
            "name_kana",
            "nickname",
            "birth_date",
            "prefecture",
            "phone",
            "course",
            "payment_method",
            "plus_member_id",
            "emails",
            "password_length",
            "password_edge_chars",
            "error_message",
            *_CARRIER,
        }
    ),
    "secure_billing": frozenset({"login_id", "emails", "phone", "payment_method", "card_last4"}),
}
EXPECTED_KEYS = frozenset(
    {"to", "mailbox", "decision", "language", "fields", "missing", "invalid", "kind", "note"}
)


@dataclass(frozen=True)
class Case:
    name: str
    eml: Path
    expected: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.expected.get("kind", "?"))


@dataclass
class Tally:
    """Counts over a set of mails: decisions, missing and invalid lists, and fields (tp/fp/fn)."""

    mails: int = 0
    decisions_ok: int = 0
    missing_ok: int = 0
    invalid_ok: int = 0
    fields: dict[str, list[int]] = field(default_factory=dict)

    def add(self, result: MailResult) -> None:
        self.mails += 1
        self.decisions_ok += result.decision_ok
        self.missing_ok += result.missing_ok
        self.invalid_ok += result.invalid_ok
        for key, (tp, fp, fn) in result.fields.items():
            counts = self.fields.setdefault(key, [0, 0, 0])
            counts[0] += tp
            counts[1] += fp
            counts[2] += fn

    @property
    def decision_accuracy(self) -> float:
        return self.decisions_ok / self.mails if self.mails else 0.0

    @property
    def missing_exact(self) -> float:
        return self.missing_ok / self.mails if self.mails else 0.0

    @property
    def invalid_exact(self) -> float:
        return self.invalid_ok / self.mails if self.mails else 0.0

    def prf(self, key: str | None = None) -> tuple[float, float, float]:
        """Precision, recall and F1 of one field, or of all fields together (micro-average)."""
        rows = [self.fields.get(key, [0, 0, 0])] if key else list(self.fields.values())
        tp, fp, fn = (sum(row[i] for row in rows) for i in range(3))
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return precision, recall, f1

    def as_json(self) -> dict[str, Any]:
        precision, recall, f1 = self.prf()
        return {
            "mails": self.mails,
            "decision_accuracy": round(self.decision_accuracy, 4),
            "fields_precision": round(precision, 4),
            "fields_recall": round(recall, 4),
            "fields_f1": round(f1, 4),
            "missing_exact": round(self.missing_exact, 4),
            "invalid_exact": round(self.invalid_exact, 4),
            "per_field": {
                key: {
                    "tp": tp,
                    "fp": fp,
                    "fn": fn,
                    "precision": round(self.prf(key)[0], 4),
                    "recall": round(self.prf(key)[1], 4),
                }
                for key, (tp, fp, fn) in sorted(self.fields.items())
            },
        }


@dataclass
class MailResult:
    name: str
    kind: str
    decision: str | None
    expected_decision: str
    decision_ok: bool
    missing_ok: bool
    invalid_ok: bool
    fields: dict[str, tuple[int, int, int]]
    notes: list[str]

    @property
    def ok(self) -> bool:
        return not self.notes

    def line(self) -> str:
        return f"{self.name}: " + "; ".join(self.notes)


@dataclass
class Report:
    folder: Path
    results: list[MailResult]

    def tally(self, kind: str | None = None) -> Tally:
        tally = Tally()
        for result in self.results:
            if kind is None or result.kind == kind:
                tally.add(result)
        return tally

    def kinds(self) -> list[str]:
        seen = {result.kind for result in self.results}
        return [kind for kind in KINDS if kind in seen] + sorted(seen - set(KINDS))

    def wrong_decisions(self) -> list[MailResult]:
        return [result for result in self.results if not result.decision_ok]


def load_cases(folder: Path) -> list[Case]:
    cases = []
    for expected in sorted(folder.glob("*.expected.json")):
        name = expected.name.removesuffix(".expected.json")
        eml = expected.with_name(f"{name}.eml")
        cases.append(Case(name, eml, json.loads(expected.read_text(encoding="utf-8"))))
    return cases


def _norm(key: str, value: Any) -> Any:
    if key == "emails":
        return frozenset(str(item).strip().lower() for item in (value or []))
    if isinstance(value, str) and key in NAMES:
        return "".join(value.split())
    return value


def compare(case: Case, got: Mapping[str, Any]) -> MailResult:
    """One mail's verdict (the `triage check --json` object) against its expectation."""
    exp = case.expected
    notes = []
    decision_ok = got.get("decision") == exp["decision"]
    if not decision_ok:
        notes.append(f"decision {got.get('decision')!r} != {exp['decision']!r}")
    got_missing = sorted(got.get("missing") or [])
    missing_ok = got_missing == sorted(exp.get("missing") or [])
    if not missing_ok:
        notes.append(f"missing {got_missing} != {sorted(exp.get('missing') or [])}")
    got_invalid = sorted(
        {str(item.get("field")) for item in (got.get("invalid") or []) if isinstance(item, dict)}
    )
    invalid_ok = got_invalid == sorted(exp.get("invalid") or [])
    if not invalid_ok:
        notes.append(f"invalid {got_invalid} != {sorted(exp.get('invalid') or [])}")
    counts: dict[str, tuple[int, int, int]] = {}
    if exp["decision"] in SCORED:
        keep = PACK_KEYS.get(str(exp.get("mailbox")))
        want = {k: v for k, v in (exp.get("fields") or {}).items() if keep is None or k in keep}
        have = {k: v for k, v in (got.get("fields") or {}).items() if keep is None or k in keep}
        for key in sorted(set(want) | set(have)):
            if key in want and key in have and _norm(key, want[key]) == _norm(key, have[key]):
                counts[key] = (1, 0, 0)
                continue
            counts[key] = (0, int(key in have), int(key in want))
            notes.append(f"{key}: got {have.get(key)!r} want {want.get(key)!r}")
    return MailResult(
        case.name,
        case.kind,
        got.get("decision"),
        exp["decision"],
        decision_ok,
        missing_ok,
        invalid_ok,
        counts,
        notes,
    )


def check(case: Case, *, settings: Settings, rules: RuleSet, today: dt.date) -> dict[str, Any]:
    """What `triage check --json --to TO FILE` prints for this mail."""
    mail = parse_mail(case.eml.read_bytes())
    verdict = judge(mail, envelope_to=case.expected.get("to"), settings=settings, rules=rules, today=today)
    return verdict_json(verdict, rules)


def score(
    folder: Path,
    *,
    settings: Settings | None = None,
    rules: RuleSet | None = None,
    today: dt.date | None = None,
) -> Report:
    settings = settings or Settings.from_env()
    rules = rules or load_rules(settings.rules_dir, settings.replies_dir)
    today = today or SystemClock().today()
    results = [
        compare(case, check(case, settings=settings, rules=rules, today=today)) for case in load_cases(folder)
    ]
    return Report(folder, results)


def problems(case: Case, rules: RuleSet | None = None) -> list[str]:
    """What is wrong with a fixture's expectation (schema, kind, decision, pack keys), as lines."""
    exp = case.expected
    out = []
    if not case.eml.is_file():
        out.append("no .eml beside the expectation")
    if set(exp) != EXPECTED_KEYS:
        out.append(f"keys {sorted(exp)} != {sorted(EXPECTED_KEYS)}")
        return out
    parts = case.name.split("-", 2)
    if len(parts) != 3 or not parts[0].isdigit() or len(parts[0]) != 3:
        out.append("file name is not NNN-<kind>-<slug>")
    elif parts[1] != exp["kind"]:
        out.append(f"file name kind {parts[1]!r} != kind {exp['kind']!r}")
    if exp["kind"] not in KINDS:
        out.append(f"unknown kind {exp['kind']!r}")
    if exp["decision"] not in DECISIONS:
        out.append(f"unknown decision {exp['decision']!r}")
    if exp["language"] not in ("ja", "en"):
        out.append(f"unknown language {exp['language']!r}")
    if not isinstance(exp["note"], str) or not exp["note"]:
        out.append("no note")
    if not isinstance(exp["to"], str) or "@" not in exp["to"]:
        out.append("to is not an address")
    for key in ("missing", "invalid"):
        value = exp[key]
        if (
            not isinstance(value, list)
            or value != sorted(value)
            or not all(isinstance(v, str) for v in value)
        ):
            out.append(f"{key} is not a sorted list of field names")
    if not isinstance(exp["fields"], dict):
        out.append("fields is not an object")
        return out
    mailbox = exp["mailbox"]
    if exp["decision"] in ("unknown_mailbox", "ignored"):
        if exp["fields"] or exp["missing"] or exp["invalid"]:
            out.append(f"{exp['decision']} must report no fields, missing or invalid")
        if (mailbox is None) != (exp["decision"] == "unknown_mailbox"):
            out.append("mailbox must be null exactly for unknown_mailbox")
        return out
    if mailbox not in PACK_KEYS:
        out.append(f"unknown mailbox {mailbox!r}")
        return out
    if rules is not None and mailbox not in rules.packs:
        out.append(f"mailbox {mailbox!r} has no rule pack in rules/")
    if not exp["to"].lower().startswith(f"{mailbox}@"):
        out.append(f"to {exp['to']!r} is not the mailbox {mailbox!r}")
    keys = PACK_KEYS[mailbox]
    for key in _outside(exp["fields"], keys):
        out.append(f"field {key!r} is not in the {mailbox} pack")
    for key in _outside(exp["missing"] + exp["invalid"], keys):
        out.append(f"missing/invalid {key!r} is not in the {mailbox} pack")
    overlap = set(exp["fields"]) & set(exp["missing"])
    if overlap:
        out.append(f"fields also listed as missing: {sorted(overlap)}")
    emails = exp["fields"].get("emails")
    if emails is not None and not (isinstance(emails, list) and emails):
        out.append("emails is not a non-empty list")
    if "password_length" in exp["fields"] and not isinstance(exp["fields"]["password_length"], int):
        out.append("password_length is not an integer")
    blocked = bool(exp["missing"]) or bool(exp["invalid"])
    if exp["decision"] == "queued" and exp["missing"]:
        out.append("queued with missing fields")
    if exp["decision"] == "needs_info" and not blocked:
        out.append("needs_info with nothing missing or invalid")
    return out


def _outside(keys: Iterable[str], allowed: frozenset[str]) -> list[str]:
    return [key for key in keys if key not in allowed]
