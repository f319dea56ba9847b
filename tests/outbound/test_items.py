"""What a reply lists and how: FAQ order, "either A or B", the desk block, phone-width lines."""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path

import pytest

from triage.config import Settings
from triage.engine.lint import lint
from triage.engine.loader import RuleLoadError, load_rules
from triage.outbound.render import render_reply
from triage.outbound.wrap import width, wrap_line, wrap_text
from triage.parsing.mime import parse_mail
from triage.verdict import Verdict, judge

ROOT = Path(__file__).resolve().parents[2]
RULES = load_rules(ROOT / "rules", ROOT / "replies")
SETTINGS = Settings(our_domain="cc.example.jp")
TODAY = datetime.date(2026, 12, 7)


def verdict(body: str, mailbox: str, subject: str = "ログインできません") -> Verdict:
    to = f"{mailbox}@cc.example.jp"
    raw = (
        f"From: taro@example.jp\nTo: {to}\nSubject: {subject}\nMessage-ID: <m1@example.jp>\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        + body
    ).encode("utf-8")
    return judge(parse_mail(raw), envelope_to=to, settings=SETTINGS, rules=RULES, today=TODAY)


def listed(body: str, heading: str) -> list[str]:
    lines = body.splitlines()
    start = lines.index(heading) + 1
    return lines[start : lines.index("", start)]


JO1_NAME_ONLY = "ログインできません。\n・氏名(漢字):山田 太郎\n"


def test_alternatives_are_one_item_that_says_one_is_enough_in_faq_order() -> None:
    found = verdict(JO1_NAME_ONLY, "secure_jo1")
    assert {"plus_member_id", "emails"} <= set(found.missing)
    assert list(found.missing) == sorted(found.missing)  # the engine's order: by key
    reply = render_reply(found, RULES, SETTINGS, reference="7Q4K-2M")
    assert reply is not None
    assert listed(reply.body, "■ 記載が見つからなかった項目") == [
        "・氏名(カナ)",
        "・ご設定のニックネーム",
        "・ご生年月日(西暦表記8桁)",
        "・都道府県",
        "・お電話番号",
        "・ご登録のコース(月会費コース/まとめて払いコース)",
        "・会費のお支払い方法",
        "・Eから始まるPlus member ID、またはメールアドレス",
        "  （どちらか一方で結構です）",
        "・入力したパスワード(桁数)",
    ]


def test_alternatives_in_english() -> None:
    found = verdict("Hello, I cannot log in to my account.\nName: 山田 太郎\n", "secure_jo1", "Cannot log in")
    assert found.language == "en"
    reply = render_reply(found, RULES, SETTINGS, reference="7Q4K-2M")
    assert reply is not None
    items = listed(reply.body, "We could not find:")
    assert "- Either Plus member ID (starting with E) or E-mail address" in items
    assert items[items.index("- Either Plus member ID (starting with E) or E-mail address") + 1] == (
        "  (one of them is enough)"
    )
    assert "- Plus member ID (starting with E)" not in items


def test_an_invalid_alternative_stays_in_the_either_item_and_is_explained() -> None:
    found = verdict(JO1_NAME_ONLY + "・Eから始まるPlus member ID:E12\n", "secure_jo1")
    assert "emails" in found.missing and "plus_member_id" in found.blocking_invalid
    reply = render_reply(found, RULES, SETTINGS, reference="7Q4K-2M")
    assert reply is not None
    assert "・Eから始まるPlus member ID、またはメールアドレス" in listed(
        reply.body, "■ 記載が見つからなかった項目"
    )
    assert listed(reply.body, "■ ご確認いただきたい項目")[0] == "・Eから始まるPlus member ID"


def test_a_carrier_id_stands_where_the_faq_asks_for_it() -> None:
    found = verdict("初回ログインできません。\n・ご契約の携帯会社:au\n", "secure_lunasea")
    assert "au_billing_id" in found.missing
    reply = render_reply(found, RULES, SETTINGS, reference="7Q4K-2M")
    assert reply is not None
    items = listed(reply.body, "■ 記載が見つからなかった項目")
    assert items[:3] == [
        "・auの継続課金ID(11桁)",
        "・ログイン時に入力した会員番号",
        "・ログイン時に入力したパスワード8桁",
    ]
    assert items[-1] == "・ご住所"


# -- the reply: block is checked like the rest of the pack -----------------------------------


@pytest.fixture
def copy(tmp_path: Path) -> tuple[Path, Path]:
    rules, replies = tmp_path / "rules", tmp_path / "replies"
    shutil.copytree(ROOT / "rules", rules)
    shutil.copytree(ROOT / "replies", replies)
    return rules, replies


def edit(path: Path, old: str, new: str) -> int:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  order: [login_id,", "  order: [login_idd,", "reply.order: unknown field 'login_idd'"),
        ("  order: [login_id,", "  order: [phone, login_id,", "reply.order: 'phone' twice"),
        ("  closing:\n", "  closings:\n", "unknown key 'closings' in reply"),
        ("  desk: {ja: 決済サポート窓口, ", "  desk: {ja: '', ", "reply.desk.ja must be a non-empty string"),
        ("  site: {ja: 有料会員サイト, en: our member sites}", "  site: {ja: 有料会員サイト}", "no en text"),
        ("  signature:\n    ja:", "  signature:\n    fr: [x]\n    ja:", "unknown language 'fr'"),
    ],
)
def test_a_broken_reply_block_is_reported_with_file_and_line(
    copy: tuple[Path, Path], old: str, new: str, message: str
) -> None:
    pack = copy[0] / "secure_billing.yaml"
    line = edit(pack, old, new)
    problems, _ = lint(*copy, today=TODAY)
    [problem] = [problem for problem in problems if message in problem.message]
    assert problem.where.path == str(pack)
    assert line <= problem.where.line <= line + 2
    with pytest.raises(RuleLoadError, match=r"secure_billing\.yaml"):
        load_rules(*copy)


def test_a_pack_without_a_reply_block_still_replies_plainly(copy: tuple[Path, Path]) -> None:
    pack = copy[0] / "secure_billing.yaml"
    text = pack.read_text(encoding="utf-8")
    pack.write_text(text[: text.index("# How replies of this mailbox speak")], encoding="utf-8")
    rules = load_rules(*copy)
    found = judge(
        verdict("ログインできません。", "secure_billing").mail,
        envelope_to="secure_billing@cc.example.jp",
        settings=SETTINGS,
        rules=rules,
        today=TODAY,
    )
    reply = render_reply(found, rules, SETTINGS, reference="7Q4K-2M")
    assert reply is not None
    assert reply.from_mailbox == "secure_billing@cc.example.jp"
    assert reply.body.startswith("サポート窓口です。\n")
    assert "-- " not in reply.body.splitlines()
    assert listed(reply.body, "■ 記載が見つからなかった項目") == [  # the order of requires
        "・ログインID(購入前の場合は「購入前」)",
        "・登録メールアドレス",
        "・電話番号",
    ]


# -- phone-width lines ------------------------------------------------------------------------


def test_width_counts_full_width_and_ambiguous_characters_as_two() -> None:
    assert width("abc") == 3
    assert width("あいう") == 6
    assert width("■※") == 4
    assert width("ｱｲｳ") == 3  # half-width katakana
    assert width("が") == 2 and width("か\u3099") == 2  # a combining mark takes no column


def test_a_short_line_is_left_as_written() -> None:
    assert wrap_line("-- ") == ["-- "]
    assert wrap_text("a\n\nb\n") == "a\n\nb\n"


def test_japanese_wraps_at_36_characters_never_before_closing_punctuation() -> None:
    line = "あ" * 35 + "い。" + "う" * 10
    lines = wrap_line(line)
    assert [width(part) for part in lines] == [70, 24]  # い would fit, but 。 may not begin a line
    assert lines[1].startswith("い。")
    assert not any(part[0] in "、。）」" for part in lines)


def test_japanese_prefers_a_break_after_a_comma_nearby() -> None:
    line = "あ" * 25 + "、" + "い" * 20
    assert wrap_line(line) == ["あ" * 25 + "、", "い" * 20]


def test_english_wraps_between_words_with_a_hanging_indent() -> None:
    line = "- " + " ".join(["word"] * 30)
    lines = wrap_line(line)
    assert all(width(part) <= 72 for part in lines)
    assert lines[0].startswith("- word") and all(part.startswith("  word") for part in lines[1:])
    assert " ".join(part.strip(" -") for part in lines) == " ".join(["word"] * 30)


def test_a_word_longer_than_a_line_is_cut() -> None:
    lines = wrap_line("x" * 150)
    assert [len(part) for part in lines] == [72, 72, 6]
