"""`triage check --explain`: golden outputs, the schema in docs/, and the text form.

Golden files: tests/fixtures/explain/NAME.eml beside NAME.explain.json, compared exactly.
After a deliberate change of the engine's reading, regenerate them with
``TRIAGE_REGEN_GOLDEN=1 ./dev test tests/test_explain.py`` and review the diff before committing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from triage.cli import main
from triage.config import PROJECT_ROOT, Settings
from triage.engine.loader import load_rules
from triage.engine.normalize import for_report
from triage.engine.spec import RuleSet
from triage.explaining import explain_json, render_text
from triage.parsing.mime import parse_mail
from triage.verdict import judge

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "explain"
GOLDEN = sorted(FIXTURES.glob("*.eml"))
CORPUS = sorted((Path(__file__).resolve().parent / "corpus").glob("*/*.eml"))  # mails and holdout
TODAY = dt.date(2026, 12, 7)  # the golden files were written on this day (dates are judged against it)
REGEN = os.environ.get("TRIAGE_REGEN_GOLDEN") == "1"


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(PROJECT_ROOT / "rules", PROJECT_ROOT / "replies")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((PROJECT_ROOT / "docs" / "explain.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(loaded)
    return loaded


def explained(path: Path, rules: RuleSet) -> dict[str, Any]:
    verdict = judge(
        parse_mail(path.read_bytes()), envelope_to=None, settings=Settings(), rules=rules, today=TODAY
    )
    # Through JSON and back: exactly what `--explain --json` prints.
    data: dict[str, Any] = json.loads(json.dumps(explain_json(verdict, rules), ensure_ascii=False))
    return data


def test_there_are_golden_fixtures_in_both_languages() -> None:
    assert len(GOLDEN) >= 2
    assert {path.name.split("-")[0] for path in GOLDEN} >= {"ja", "en"}


@pytest.mark.parametrize("path", GOLDEN, ids=lambda path: path.stem)
def test_golden_explain_json(path: Path, rules: RuleSet) -> None:
    data = explained(path, rules)
    golden = path.with_suffix(".explain.json")
    if REGEN:
        golden.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert golden.is_file(), f"no {golden.name}: run with TRIAGE_REGEN_GOLDEN=1 to write it"
    assert data == json.loads(golden.read_text("utf-8"))


@pytest.mark.parametrize("path", GOLDEN + CORPUS, ids=lambda path: path.stem)
def test_explain_json_follows_the_schema(path: Path, rules: RuleSet, schema: dict[str, Any]) -> None:
    jsonschema.validate(explained(path, rules), schema, cls=jsonschema.Draft202012Validator)


def test_the_schema_rejects_an_unknown_key_and_a_bad_span(rules: RuleSet, schema: dict[str, Any]) -> None:
    data = explained(GOLDEN[0], rules)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data | {"extra": 1}, schema, cls=jsonschema.Draft202012Validator)
    field = next(item for item in data["fields"] if item["chosen"])
    field["chosen"][0]["spans"] = [[1, 2, 3]]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema, cls=jsonschema.Draft202012Validator)


def test_fields_follow_the_faq_order_then_the_others(rules: RuleSet) -> None:
    path = FIXTURES / "ja-labelled-lunasea.eml"
    data = explained(path, rules)
    names = [item["field"] for item in data["fields"]]
    # secure_lunasea's FAQ order, the carrier id as the au one; then what the mail gave besides.
    assert names[:4] == ["carrier", "au_billing_id", "login_member_number", "login_password"]
    assert names.index("prefecture") > names.index("new_surname")
    password = next(item for item in data["fields"] if item["field"] == "login_password")
    assert password["status"] == "not_found" and password["required"] and password["sensitive"]
    assert [seen["outcome"] for seen in password["candidates"]] == ["not_given"]
    assert "パスワード" in password["looked_for"]["labels"]  # the pack's own label first


def test_every_span_in_the_output_indexes_the_text(rules: RuleSet) -> None:
    for path in GOLDEN:
        data = explained(path, rules)
        for item in data["fields"]:
            for chosen in item["chosen"]:
                if chosen["source"] in ("inferred", "derived"):
                    continue
                pieces = for_report("".join(data["text"][start:end] for start, end in chosen["spans"]))
                assert pieces.lower() == chosen["written"].lower(), (path.name, item["field"])


def test_check_explain_json_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    path = FIXTURES / "en-prose-billing.eml"
    assert main(["check", str(path), "--explain", "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    data = json.loads(out)
    assert data["explain_version"] == 1 and data["mailbox"] == "secure_billing"
    card = next(item for item in data["fields"] if item["field"] == "card_last4")
    assert card["chosen"][0]["written"] == "4417" and card["chosen"][0]["source"] == "prose"


def test_check_explain_text_is_short_and_aligned(capsys: pytest.CaptureFixture[str], rules: RuleSet) -> None:
    path = FIXTURES / "ja-labelled-lunasea.eml"
    assert main(["check", str(path), "--explain"]) == 0
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("needs_info  mailbox=secure_lunasea")
    [carrier] = [line for line in lines if line.startswith("  carrier ")]
    assert "au" in carrier and "「ご利用の携帯会社」" in carrier
    assert any("not_given" in line and "設定した記憶がありません" in line for line in lines)
    assert any(line.strip().startswith("looked for labels:") for line in lines)
    value_column = {line.index("(") for line in lines if line.startswith("  ") and "(not found)" in line}
    assert len(value_column) == 1  # every field's value starts in one column
    assert out == render_text(explained(path, rules))


def test_a_mail_to_no_mailbox_explains_no_fields(rules: RuleSet, tmp_path: Path) -> None:
    raw = b"From: a@example.jp\r\nTo: info@example.jp\r\nSubject: x\r\n\r\nhello\r\n"
    path = tmp_path / "x.eml"
    path.write_bytes(raw)
    data = explained(path, rules)
    assert data["decision"] == "unknown_mailbox" and data["fields"] == [] and data["mailbox"] is None
    assert render_text(data).startswith("unknown_mailbox  mailbox=-")
