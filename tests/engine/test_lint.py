"""`triage rules lint`: every problem in a broken copy of rules/ and replies/ with its file and line."""

from __future__ import annotations

import datetime
import re
import shutil
from pathlib import Path

import pytest

from triage.cli import main
from triage.engine.lint import lint
from triage.engine.loader import RuleLoadError, load_rules
from triage.errors import RulePackError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TODAY = datetime.date(2026, 11, 21)


@pytest.fixture
def copy(tmp_path: Path) -> tuple[Path, Path]:
    rules = tmp_path / "rules"
    replies = tmp_path / "replies"
    shutil.copytree(PROJECT_ROOT / "rules", rules)
    shutil.copytree(PROJECT_ROOT / "replies", replies)
    return rules, replies


def edit(path: Path, old: str, new: str) -> int:
    """Replace the first `old` by `new`; return the 1-based line where it stands."""
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def problems_of(copy: tuple[Path, Path]) -> list[RulePackError]:
    problems, summary = lint(*copy, today=TODAY)
    assert summary.endswith(f"{len(problems)} problems")
    return problems


def only(problems: list[RulePackError], fragment: str) -> RulePackError:
    matching = [problem for problem in problems if fragment in problem.message]
    assert len(matching) == 1, [str(problem) for problem in problems]
    return matching[0]


def test_shipped_rules_lint_clean() -> None:
    problems, summary = lint(PROJECT_ROOT / "rules", PROJECT_ROOT / "replies", today=TODAY)
    assert [str(problem) for problem in problems] == []
    assert summary.endswith(" 0 problems")
    assert "4 mailbox packs" in summary


def test_pattern_that_does_not_compile(copy: tuple[Path, Path]) -> None:
    fields = copy[0] / "fields.yaml"
    line = edit(
        fields,
        "      - '(?i)\\bmy (?P<value>credit card) (?:was|has been) charged'",
        "      - '(?P<value>[unclosed'",
    )
    problem = only(problems_of(copy), "does not compile")
    assert problem.where.path == str(fields)
    assert problem.where.line == line
    assert "payment_method" in problem.message


def test_prose_pattern_without_value_group(copy: tuple[Path, Path]) -> None:
    fields = copy[0] / "fields.yaml"
    line = edit(
        fields,
        "      - '(?i)\\bmy (?P<value>credit card) (?:was|has been) charged'",
        "      - 'my (credit card) was charged'",
    )
    problem = only(problems_of(copy), "(?P<value>")
    assert (problem.where.path, problem.where.line) == (str(fields), line)


def test_pack_requiring_an_unknown_field(copy: tuple[Path, Path]) -> None:
    pack = copy[0] / "secure_billing.yaml"
    line = edit(pack, "  - [login_id, emails, phone]", "  - [login_id, emails, phone, birthdate]")
    problem = only(problems_of(copy), "unknown field 'birthdate'")
    assert (problem.where.path, problem.where.line) == (str(pack), line)
    assert problem.where.column == len("  - [login_id, emails, phone, ") + 1


def test_duplicate_key_in_a_mapping(copy: tuple[Path, Path]) -> None:
    pack = copy[0] / "secure_billing.yaml"
    text = pack.read_text(encoding="utf-8")
    pack.write_text(text + "description: again\n", encoding="utf-8")
    line = text.count("\n") + 1
    problem = only(problems_of(copy), "duplicate key 'description'")
    assert (problem.where.path, problem.where.line) == (str(pack), line)
    assert "first at line 4" in problem.message


def test_duplicate_field_in_fields_yaml(copy: tuple[Path, Path]) -> None:
    fields = copy[0] / "fields.yaml"
    line = edit(fields, "  card_last4:\n", "  card_last4:\n    validator: card_last4\n  card_last4:\n")
    problem = only(problems_of(copy), "duplicate key 'card_last4'")
    assert (problem.where.path, problem.where.line) == (str(fields), line + 2)


def test_pack_naming_a_template_with_no_folder(copy: tuple[Path, Path]) -> None:
    pack = copy[0] / "secure_jo1.yaml"
    line = edit(pack, "  queued: queued", "  queued: queued_v2")
    problem = only(problems_of(copy), "missing template 'queued_v2'")
    assert (problem.where.path, problem.where.line) == (str(pack), line)


def test_template_file_deleted(copy: tuple[Path, Path]) -> None:
    body = copy[1] / "queued" / "en" / "body.txt.j2"
    body.unlink()
    problem = only(problems_of(copy), "missing template file")
    assert (problem.where.path, problem.where.line) == (str(body), 1)


def test_template_syntax_error(copy: tuple[Path, Path]) -> None:
    body = copy[1] / "needs_info" / "ja" / "body.txt.j2"
    line = edit(body, "{% endif %}", "{% endiff %}")
    problem = only(problems_of(copy), "template syntax")
    assert Path(problem.where.path) == body
    assert problem.where.line == line
    assert "endiff" in problem.message


def test_template_using_an_undefined_variable(copy: tuple[Path, Path]) -> None:
    body = copy[1] / "queued" / "en" / "body.txt.j2"
    line = edit(body, "Reference: {{ reference }}", "Reference: {{ reference }} {{ member_name }}")
    problem = only(problems_of(copy), "unknown variable")
    assert "member_name" in problem.message
    assert Path(problem.where.path) == body
    assert problem.where.line == line


def test_undefined_variable_in_a_subject(copy: tuple[Path, Path]) -> None:
    subject = copy[1] / "icloud_rejected" / "ja" / "subject.txt.j2"
    subject.write_text("{{ sender_name }}様\n", encoding="utf-8")
    problem = only(problems_of(copy), "unknown variable")
    assert Path(problem.where.path) == subject
    assert problem.where.line == 1


def test_example_whose_value_does_not_match(copy: tuple[Path, Path]) -> None:
    fields = copy[0] / "fields.yaml"
    old = '      - {text: "電話番号は080-0000-2323、住所は千葉県です。", value: "08000002323"}'
    line = edit(fields, old, old.replace('value: "08000002323"', 'value: "08000002324"'))
    problem = only(problems_of(copy), "example for 'phone'")
    assert (problem.where.path, problem.where.line) == (str(fields), line)
    assert "08000002323" in problem.message


def test_example_that_must_give_nothing(copy: tuple[Path, Path]) -> None:
    fields = copy[0] / "fields.yaml"
    line = edit(
        fields, '{text: "電話番号を変えました", value: null}', '{text: "電話番号:090-0000-1234", value: null}'
    )
    problem = only(problems_of(copy), "must give nothing")
    assert (problem.where.path, problem.where.line) == (str(fields), line)


def test_field_missing_its_reply_name(copy: tuple[Path, Path]) -> None:
    names = copy[1] / "fields.yaml"
    edit(names, "  card_last4: {ja: クレジットカードの末尾4桁, en: Last 4 digits of the credit card}\n", "")
    problems = problems_of(copy)
    ja = only(problems, "'card_last4' has no ja name")
    only(problems, "'card_last4' has no en name")
    assert ja.where.path == str(names)
    assert ja.where.line == 4  # the `default:` section that should name it


def test_field_missing_one_language_of_its_reply_name(copy: tuple[Path, Path]) -> None:
    names = copy[1] / "fields.yaml"
    line = edit(
        names,
        "  card_last4: {ja: クレジットカードの末尾4桁, en: Last 4 digits of the credit card}",
        "  card_last4: {ja: クレジットカードの末尾4桁}",
    )
    problem = only(problems_of(copy), "'card_last4' has no en name")
    assert (problem.where.path, problem.where.line) == (str(names), line)


def test_yaml_syntax_error(copy: tuple[Path, Path]) -> None:
    pack = copy[0] / "secure_lunasea.yaml"
    line = edit(pack, "description: first login", "description: first: login")
    problem = only(problems_of(copy), "YAML")
    assert (problem.where.path, problem.where.line) == (str(pack), line)


def test_unknown_validator(copy: tuple[Path, Path]) -> None:
    fields = copy[0] / "fields.yaml"
    line = edit(fields, "    validator: card_last4", "    validator: card_last5")
    problem = only(problems_of(copy), "unknown validator 'card_last5'")
    assert (problem.where.path, problem.where.line) == (str(fields), line)


def test_reply_names_for_an_unknown_mailbox(copy: tuple[Path, Path]) -> None:
    names = copy[1] / "fields.yaml"
    line = edit(names, "secure_billing:\n", "secure_bililng:\n")
    problem = only(problems_of(copy), "section 'secure_bililng' names no mailbox pack")
    assert (problem.where.path, problem.where.line) == (str(names), line)


def test_yaml_syntax_error_in_reply_names(copy: tuple[Path, Path]) -> None:
    names = copy[1] / "fields.yaml"
    line = edit(names, "  card_last4: {ja:", "  card_last4: [ja:")
    problem = only(problems_of(copy), "YAML")
    assert problem.where.path == str(names)
    assert problem.where.line == line


def test_load_rules_refuses_a_broken_copy(copy: tuple[Path, Path]) -> None:
    edit(copy[0] / "secure_billing.yaml", "[login_id, emails, phone]", "[login_id, emails, phone, birthdate]")
    with pytest.raises(RuleLoadError) as raised:
        load_rules(*copy)
    assert "secure_billing.yaml:6:" in str(raised.value)


def test_cli_lint_exits_1_on_a_broken_copy(
    copy: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = copy[0] / "secure_billing.yaml"
    edit(pack, "[login_id, emails, phone]", "[login_id, emails, phone, birthdate]")
    monkeypatch.setenv("TRIAGE_RULES_DIR", str(copy[0]))
    monkeypatch.setenv("TRIAGE_REPLIES_DIR", str(copy[1]))
    assert main(["rules", "lint"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert re.fullmatch(rf"{re.escape(str(pack))}:6:\d+: unknown field 'birthdate'", out[0])
    assert out[-1].startswith("FAILED: ")


def test_cli_lint_exits_0_on_the_shipped_rules(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRIAGE_RULES_DIR", str(PROJECT_ROOT / "rules"))
    monkeypatch.setenv("TRIAGE_REPLIES_DIR", str(PROJECT_ROOT / "replies"))
    assert main(["rules", "lint"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [out[-1]]
    assert out[-1].startswith("ok: ") and out[-1].endswith(" 0 problems")
