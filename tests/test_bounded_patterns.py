"""Every pattern over member text runs under a timeout (issue 8 deliverable 5, issue 12 item 1).

Two halves: a scan of the source that fails on any use of `re` or `regex` outside
`triage/textmatch.py`, and runs of each module's public reading functions with the per-call cap
at zero, so that every pattern gives up: each call site's fallback must keep the mail (an
answer, a note, never a traceback).
"""

from __future__ import annotations

import ast
import datetime as dt
import importlib.util
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from triage import textmatch
from triage.config import Settings
from triage.engine import emails, language, normalize, numerals, prefectures, wareki
from triage.parsing import addresses, charsets, headers, htmltext, quotes
from triage.parsing.mime import parse_mail
from triage.screening import screen

PACKAGE = Path(__file__).resolve().parent.parent / "triage"
PATTERN_MODULES = frozenset({"re", "regex", "sre_compile", "sre_parse", "_sre"})

# Modules that never see member text, each with its reason. Keep this list tiny.
NEVER_MEMBER_TEXT: dict[str, str] = {
    "triage/textmatch.py": "the one way to match member text",
}

# TEMPORARY: files whose owners convert them to textmatch; this list only ever shrinks.
PENDING: dict[str, str] = {
    "triage/masking.py": "pending: logging owner (masks values that may come from mail)",
    "triage/outbound/compose.py": "pending: outbound owner (header values of our replies)",
    "triage/outbound/ratelimit.py": "pending: outbound owner (no-reply local parts of recipients)",
    "triage/outbound/stamp.py": "pending: outbound owner (the Date header of our own stored reply)",
    "triage/outbound/transport.py": "pending: outbound owner (relay replies, dot-stuffing of our reply)",
    "triage/outbound/wrap.py": "pending: outbound owner (line breaking of our reply, which quotes values)",
}


def _pattern_imports(path: Path) -> list[str]:
    """`import re`, `from regex import …`, `importlib.import_module("re")` … with their lines."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module.split(".")[0]]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in {"import_module", "__import__"} and isinstance(node.args[0].value, str):
                names = [node.args[0].value.split(".")[0]]
        line = getattr(node, "lineno", 0)
        found += [f"line {line}: {name}" for name in names if name in PATTERN_MODULES]
    return found


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_pattern_module_outside_textmatch() -> None:
    offenders = {}
    for path in _sources():
        relative = path.relative_to(PACKAGE.parent).as_posix()
        if relative in NEVER_MEMBER_TEXT or relative in PENDING:
            continue
        hits = _pattern_imports(path)
        if hits:
            offenders[relative] = hits
    assert offenders == {}, f"patterns without the textmatch timeout: {offenders}"


def test_the_scan_sees_every_form_of_import(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text(
        "import re\nimport regex as rx\nfrom re import compile\nimport importlib\n"
        "importlib.import_module('regex')\n__import__('re')\nfrom triage import textmatch\n",
        encoding="utf-8",
    )
    assert [hit.split(": ")[1] for hit in _pattern_imports(source)] == ["re", "regex", "re", "regex", "re"]


def test_the_lists_name_only_files_that_exist_and_still_need_it() -> None:
    for relative in (*NEVER_MEMBER_TEXT, *PENDING):
        path = PACKAGE.parent / relative
        assert path.is_file(), f"{relative} is listed but does not exist"
    stale = [relative for relative in PENDING if not _pattern_imports(PACKAGE.parent / relative)]
    assert stale == [], f"converted: delete from PENDING: {stale}"


# --- every pattern gives up: each call site keeps the mail -----------------------------------------

BIG_TEXT = (
    "会員番号は12345678です。On Wed, May 1, 2024 at 10:00 Taro <taro@example.jp> wrote:\n> quoted\n"
) * 2000
MAIL = (
    b"Return-Path: <taro@example.jp>\r\n"
    b"From: =?UTF-8?B?5bGx55Sw?= <taro@example.jp>\r\n"
    b"To: secure_jo1@cc.example.jp\r\n"
    b"Subject: =?UTF-8?B?44Ot44Kw44Kk44Oz?=\r\n"
    b"Message-ID: <m1@example.jp>\r\n"
    b"References: <r.1.abc@cc.example.jp>\r\n"
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n"
    b"MIME-Version: 1.0\r\n\r\n"
    b"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    + ("<p>電話番号 090-1234-5678</p><blockquote>quoted</blockquote>" * 500).encode()
    + b"\r\n--b--\r\n"
)


@pytest.fixture
def no_patterns() -> Iterator[textmatch.Budget]:
    with textmatch.reading(30) as budget, textmatch.per_call_cap(0):
        yield budget


def test_zero_cap_makes_a_pattern_give_up_and_names_it(no_patterns: textmatch.Budget) -> None:
    with pytest.raises(textmatch.MatchTimeout):
        textmatch.compile("x+", name="probe").search("xxx")
    assert "probe" in no_patterns.timeouts


def test_a_tiny_cap_stops_a_real_scan() -> None:
    with textmatch.per_call_cap(1e-4), pytest.raises(textmatch.MatchTimeout):
        textmatch.compile(r"x+y", name="probe.real").search("x" * 2_000_000)


def test_finditer_is_bounded_over_the_whole_scan_not_per_match() -> None:
    """Millions of cheap matches: each alone is instant, the scan as a whole hits the cap."""
    started = time.monotonic()
    with textmatch.per_call_cap(0.05), pytest.raises(textmatch.MatchTimeout):
        textmatch.compile("(?:a)", name="probe.many").finditer("a" * 5_000_000)
    assert time.monotonic() - started < 2.0


def test_the_budget_counts_the_mails_own_work_not_waiting() -> None:
    """Wall time spent waiting (a busy machine, another process on the core) spends no budget;
    the thread's own work does."""
    with textmatch.reading(0.2) as budget:
        time.sleep(0.4)
        assert not budget.spent
        assert 0 < budget.remaining() <= 0.2
        started = time.monotonic()
        while not budget.spent and time.monotonic() - started < 10:
            sum(range(1000))
        assert budget.spent


def test_a_deadline_is_exact_near_its_end_and_a_lower_bound_before() -> None:
    far = textmatch.Deadline.after(5.0)
    assert 0.5 < far.left() <= 5.0
    near = textmatch.Deadline.after(0.3)
    assert 0 < near.left() <= 0.3
    assert far.earliest(near).left() <= 0.3
    assert textmatch.Deadline.after(0).passed()


def test_a_spent_budget_stops_every_pattern() -> None:
    with textmatch.reading(0) as budget, pytest.raises(textmatch.MatchTimeout) as caught:
        textmatch.compile("a").search("a")
    assert caught.value.budget_spent
    assert budget.timeouts == ["a"]


def test_bytes_patterns_are_bounded_too(no_patterns: textmatch.Budget) -> None:
    with pytest.raises(textmatch.MatchTimeout):
        textmatch.compile_bytes(rb"x+", name="probe.bytes").findall(b"xxx")


def test_parse_keeps_the_mail_and_lists_what_gave_up(no_patterns: textmatch.Budget) -> None:
    mail = parse_mail(MAIL)
    assert mail.from_addr is None and mail.from_ambiguous  # never evidence of identity unread
    assert mail.message_id is None  # ids unread: nothing threads on a guess
    assert "=?UTF-8?B?44Ot44Kw44Kk44Oz?=" in mail.subject  # kept undecoded, not lost
    assert "090-1234-5678" in mail.text  # HTML stripped crudely, quote split given up: all member text
    assert "quoted" in mail.text and mail.quoted == ""
    notes = " ".join(mail.defects)
    assert "ReadingTimeLimit: html: markup stripped without a parser" in notes
    assert "ReadingTimeLimit: headers: value kept undecoded" in notes


def test_language_falls_back_to_a_count(no_patterns: textmatch.Budget) -> None:
    assert language.text_language("Hello, I cannot log in to my account since the renewal.") == "en"
    assert language.text_language("お世話になっております。ログインできません。ID: taro77\n" * 500) == "ja"
    assert "language" in no_patterns.timeouts


def test_quotes_keep_the_rest_as_member_text(no_patterns: textmatch.Budget) -> None:
    own, quoted = quotes.split_quoted(BIG_TEXT)
    assert own == BIG_TEXT.strip("\n") and quoted == ""


def test_html_is_stripped_without_the_parser(no_patterns: textmatch.Budget) -> None:
    text = htmltext.html_to_text("<div>お名前: <b>山田</b></div>\n<p>電話 090</p>")
    assert text == "お名前: 山田\n電話 090"


def test_headers_and_addresses(no_patterns: textmatch.Budget) -> None:
    assert headers.decode_header_with_how("=?UTF-8?B?5bGx55Sw?=\r\n x") == (
        "=?UTF-8?B?5bGx55Sw?= x",
        "literal",
    )
    assert addresses.parse_from("Taro <taro@example.jp>") == (None, True)
    assert addresses.parse_return_path("<taro@example.jp>") == "taro@example.jp"
    assert addresses.message_ids("<a@b> <c@d>") == ()


def test_screening_still_decides(no_patterns: textmatch.Budget) -> None:
    mail = parse_mail(MAIL)
    result = screen(mail, Settings.from_env({}), mailboxes=frozenset({"secure_jo1"}))
    signals = {hit.signal: hit.detail for hit in result.hits}
    assert "report-type not read" in signals["dsn-report"]  # still a report: never answered


def test_engine_helpers_answer_not_found(no_patterns: textmatch.Budget) -> None:
    assert wareki.parse_date("平成2年1月2日", dt.date(2026, 1, 1)) is None
    assert prefectures.find_prefecture("〒100-0001 東京都千代田区") is None
    assert numerals.replace_kanji_numerals("平成二年", before="年") == "平成二年"
    checked = emails.check_email("taro@example.jp")
    assert checked.address == "taro@example.jp"  # email_validator alone
    assert emails.check_email("taro@@example").address is None
    steps = " ".join(no_patterns.timeouts)
    assert "wareki" in steps and "prefectures" in steps and "emails" in steps


def test_a_bounce_is_linked_by_its_threading_headers_alone() -> None:
    from triage.worker.pipeline import _our_message_ids

    mail = parse_mail(MAIL)
    raw = MAIL + b"\r\nMessage-ID: <r.2.xyz@cc.example.jp>\r\n"
    assert _our_message_ids(mail, raw, "cc.example.jp") == ["r.1.abc@cc.example.jp", "r.2.xyz@cc.example.jp"]
    with textmatch.reading(30) as budget, textmatch.per_call_cap(0):
        assert _our_message_ids(mail, raw, "cc.example.jp") == ["r.1.abc@cc.example.jp"]
    assert any(step.startswith("bounce:") for step in budget.timeouts)


# --- each pattern alone gives up: every one is reached, and its call site keeps the mail ------------

RICH_MAIL = (
    b"Return-Path: <taro@example.jp>\r\n"
    b"From: =?UTF-8?B?5bGx55Sw?= =?UTF-8?Q?=E5=A4=AA?= <taro@example.jp>\r\n"
    b"To: secure_jo1@cc.example.jp\r\n"
    b"Subject: Re: =?UTF-8?B?44Ot44Kw44Kk44Oz?=\r\n"
    b"Message-ID: <m2@example.jp>\r\n"
    b"List-Id: help <list@example.jp>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    + "\n".join(
        (
            "ログインできません。I live in Osaka, mail me at taro@example.jp",
            "-----Original Message-----",
            "差出人: Hanako",
            "送信日時: 2024年5月1日",
            "件名: Re: help",
            "2024年5月1日(水) 10:00 山田 太郎 <taro@example.jp",
            ">:",
            "On Wed, May 1, 2024 at 10:00 Taro",
            "<taro@example.jp> wrote:",
            "> quoted",
        )
    ).encode()
)
DSN = b"Status: 5.1.1\r\nMessage-ID: <r.7.abc@cc.example.jp>\r\n"


def _read_everything() -> None:
    """Every public reading function of the modules that use textmatch, on inputs that reach each
    of their patterns."""
    from triage.cases import followup
    from triage.worker.pipeline import _dsn_status, _our_message_ids

    mail = parse_mail(RICH_MAIL)
    settings = Settings.from_env({})
    screen(mail, settings, mailboxes=frozenset({"secure_jo1"}))
    language.text_language(mail.text, mail.subject)
    language.text_language("", "Re: hello there my friend")
    quotes.split_quoted(mail.text + "\n" + mail.quoted)
    quotes.split_quoted("answer\n差出人: Hanako\n送信日時: x\n件名: y\n宛先: z\nquoted")
    quotes.split_quoted("answer\nTaro wrote:\n> q")
    quotes.split_quoted("x\nOn Wed, May 1, 2024 at 10:00 Taro\n<taro@example.jp> wrote:\n> q")
    language.text_language("お名前: 山田\n電話: 090")
    headers.decode_header("a\r\n b")
    headers.decode_header("=?UTF-8?B?5bGx 55Sw?= x")  # base64 with a blank: read by its patterns
    screen(parse_mail(MAIL), settings, mailboxes=frozenset({"secure_jo1"}))
    htmltext.html_to_text("<p>a < b</p>")
    wareki.parse_date("平成二年一月二日 1990/1/2 March 5, 1995", dt.date(2026, 1, 1))
    prefectures.find_prefecture("1-2-3 Kita-ku, Osaka-fu 530-0001, Japan")
    prefectures.find_prefecture("〒100-0001 日本 東京都")
    numerals.replace_kanji_numerals("二〇〇〇年", before="年")
    emails.check_email("taro at example.jp")
    emails.check_email("taro..x.@docomo.ne.jp")
    emails.check_email("tarо@example.jp")  # a Cyrillic о
    _our_message_ids(mail, DSN, "cc.example.jp")
    _dsn_status(DSN)
    followup.case_references(["受付番号 7q4k-2m の件"])
    _read_member_text()


def _read_member_text() -> None:
    """The engine on member text of every kind, for every mailbox (tests/engine/test_reading.py
    has the kinds one by one)."""
    from triage.engine.extract import extract
    from triage.engine.fields import VALIDATORS, FieldContext
    from triage.engine.loader import load_rules

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("reading_cases", root / "tests/engine/test_reading.py")
    assert spec is not None and spec.loader is not None
    cases = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cases)  # the kinds of mail live there, one case each
    RULES = load_rules(root / "rules", root / "replies")
    texts = [case[1] for case in cases.CASES] + list(ENGINE_TEXTS)
    normalize.forget()  # remembered values would answer without running a pattern
    normalize.for_matching("❶ ①　a\r\nb  c")
    normalize.normalize_newlines("a\r\nb\u2028c")
    charsets.suspicion("ｱｲｳ\ue000 ordinary text")
    for mailbox in sorted(RULES.packs):
        extract("\n".join(texts), RULES, today=dt.date(2026, 12, 7), mailbox=mailbox)
        for text in texts:
            extract(text, RULES, today=dt.date(2026, 12, 7), mailbox=mailbox)
    ctx = FieldContext(today=dt.date(2026, 12, 7), member_phone="09011112222")
    for value in VALIDATOR_VALUES:
        for validator in VALIDATORS.values():
            validator(value, ctx)


ENGINE_TEXTS = (
    "1. 藤田 恵\n2. フジタ メグミ\n3. めぐ\n4. 1988/5/22\n5. 大阪\n6. 090-1234-5678",
    "①高橋 大翔\n②タカハシヒロト\n③ひろ\n④1983年5月16日\n⑤愛知県",
    "前川航\nマエカワ ワタル\nわたる\n2002.12.17\n鹿児島県\n070-6527-3493\nw.m@example.jp",
    "Name: 阿部 詩織 (アベ シオリ). Nickname shiori. Born on October 16, 1977.",
    "キタムラ ユイ（北村 結衣）\n私は青木 蓮、アオキ レンといいます。",
    "--\n株式会社見本商事\nTEL 03-5555-0142 / FAX 03-5555-0143",
    "ｶﾞｷﾞ ﾀﾛｳ ０９０ー１２３４ー５６７８ ①②",
    "ログインID：kento_7912 ❤\nメール：kei.kudo \n56@example.jp",
    "ニックネームは「ぴよこ」ではなく「ともや」でした。",
    "住所は東京都千代田区1-2-3です。カナはヤマダ タロウです。旧姓は伊藤です。",
    "パスワードの桁数は10です。Plus member IDはE12345678です。注文番号はAB12345678です。",
    "キャリアはauです。決済情報は1234567890です。",
    "氏名: 堀 拓海 / ホリ タクミ (Hori Takumi)\nPassword I entered: 7 characters",
    "・ご契約の携帯会社【au】\n・ご登録のコース【月会費コース】",
    "お持ちのメールアドレス全て：risa 0228@example.com",
    "氏名：安藤 花音 アンドウ カノン",
    "氏名：内田梓 ウチダアズサ\n名前は山田太郎です。",
    "各キャリアの決済情報\n注文番号 AB1234567\n■ニックネーム\n---\n",
    "İstanbul 電話番号は090-1234-5678, Mobile: 090-1234-5678",
    "氏名(漢字/カナ)：森 桜子/モリ サクラコ",
    "ニックネーム：覚えていません",
    "エラーは「会員情報が見つかりません」と出ます。",
    "住所：東京都千代田区1-2-3\n サンハイツ102\n\n━━━━\n美容室 Lien 岐阜店\nTEL 058-000-3190\n━━━━",
    "メールはa@example.jpです。支払いはクレジットカード、IDはE12345678です。",
)
VALIDATOR_VALUES = (
    "山田 太郎です",
    "ヤマダ タロウ",
    "やまだ",
    "Taro 1",
    "1990年1月2日",
    "98年4月5日",
    "平成2年1月2日",
    "東京",
    "Osaka-fu",
    "埼玉県さいたま市1-2-3",
    "090-1234-5678",
    "+81 90 1234 5678",
    "taro@example.jp",
    "taro@gmail,com",
    "クレジットカード",
    "docomo/au",
    "auかんたん決済",
    "1234-5678-9012",
    "40000001234",
    "SB-2405 1300-43",
    "e12345678",
    "12345678",
    "1990/01/02",
    "10桁",
    "3〜5文字",
    "月会費まとめて払いコース",
    "**** **** **** 1234",
    "まだ購入前です",
    "たしかひらがなで名前を入れたと思うのですが自信がありません",
    "s/9",
)


def _pattern_names() -> list[str]:
    _read_everything()  # compiles the patterns built on first use
    names = [pattern.name for pattern in textmatch._COMPILED.values()]
    names += [pattern.name for pattern in textmatch._COMPILED_BYTES.values()]
    # "web.*" patterns check staff input in the web UI: bounded like every other, but never on the
    # way of a mail's read (whether they are compiled here depends on which modules were imported).
    return sorted(name for name in set(names) if not name.startswith(("probe", "web.")))


@pytest.mark.parametrize("name", _pattern_names())
def test_each_pattern_alone_gives_up_and_the_mail_is_kept(name: str) -> None:
    with textmatch.reading(30) as budget, textmatch.per_call_cap(0, only=name):
        _read_everything()  # no exception: each call site has its fallback
    assert name in budget.timeouts, f"{name} was never reached by the inputs"
