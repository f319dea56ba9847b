"""Every reply reads well on a phone and names its site (issue 10, items 2 and 4).

Each template is rendered in each language for each shipped mailbox, from a real verdict with
everything missing and several invalid values (the longest lists and reasons a reply can have),
and checked line by line: at most 72 columns (36 full-width characters), a blank line between
sections, the case reference within the first five lines, the site, desk, closing and signature
of the pack, and no text that a field's validator would take for a value.
"""

from __future__ import annotations

import datetime
import email
import email.policy
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
import regex

from triage.config import Settings
from triage.engine.fields import VALIDATORS, FieldContext, Ok
from triage.engine.loader import load_rules
from triage.outbound.compose import compose
from triage.outbound.desk import desk_of
from triage.outbound.render import LANGUAGES, render, render_reply, reply_context
from triage.outbound.wrap import MAX_COLUMNS, width
from triage.parsing.mime import parse_mail
from triage.verdict import Verdict, judge

ROOT = Path(__file__).resolve().parents[2]
REPLIES = str(ROOT / "replies")
RULES = load_rules(ROOT / "rules", ROOT / "replies")
SETTINGS = Settings(our_domain="cc.example.jp")
TODAY = datetime.date(2026, 12, 7)
TEMPLATES = sorted(path.name for path in Path(REPLIES).iterdir() if path.is_dir())
MAILBOXES = sorted(RULES.packs)
REFERENCE = "7Q4K-2M"
REFERENCE_MARK = "<reference>"

# Values that are written but invalid, so every reply has reasons to show (fields.py's own words).
BAD_VALUES = {
    "ja": "ログインできません。\n・お電話番号:12\n・Plus member ID:X1\n・継続課金ID:090-0000-5678\n"
    "・メールアドレス:taro@example,jp\n・カード末尾4桁:4111111111111111\n",
    "en": "Hello, I cannot log in to my account.\nPhone: 12\nPlus member ID: X1\n"
    "Email: taro@example,jp\nCard last 4 digits: 4111111111111111\nPlease help me.\n",
}

# Validators whose valid values have a shape of their own (numbers, ids, addresses, dates). The
# others accept words: any Japanese line is a name (name_kanji), any text is a nickname or an
# error message (nonempty, edge_chars), labels name the choices on purpose ("docomo/au/SoftBank",
# "月会費コース") and any number is a password length ("8桁").
SHAPE_VALIDATORS = (
    "birth_date",
    "phone",
    "email",
    "docomo_payment_number",
    "au_billing_id",
    "softbank_order_number",
    "plus_member_id",
    "digits_4_12",
    "login_password",
    "card_last4",
)
# softbank_order_number takes any 6 to 40 letters and digits once spaces are removed, so a
# sentence counts for it only as one token (an order number is one word).
ONE_TOKEN = frozenset({"softbank_order_number"})
_BULLET = regex.compile(r"^\s*(?:[・※■-]\s*)?")
_TOKENS = regex.compile(r"[\s()（）「」『』【】、。，,:：/・]+")


def value_shapes(line: str, ctx: FieldContext) -> list[tuple[str, str]]:
    """(validator, text) for each part of ``line`` a shape validator accepts as a value.

    Parts are the line without its bullet, what follows a colon, and each word; only parts with
    a digit or an @ are tried (every shaped value has one).
    """
    text = _BULLET.sub("", line).strip()
    parts = {text, *regex.split(r"[:：]", text), *_TOKENS.split(text)}
    found = []
    for part in sorted(part.strip() for part in parts if part.strip()):
        if not regex.search(r"[0-9０-９@＠]", part):
            continue
        for name in SHAPE_VALIDATORS:
            if name in ONE_TOKEN and regex.search(r"\s", part):
                continue
            if isinstance(VALIDATORS[name](part, ctx), Ok):
                found.append((name, part))
    return found


def verdict_for(mailbox: str, language: str, sender: str = "taro@example.jp") -> Verdict:
    to = f"{mailbox}@cc.example.jp"
    subject = "Cannot log in" if language == "en" else "ログインできません"
    raw = (
        f"From: {sender}\nTo: {to}\nSubject: {subject}\nMessage-ID: <m1@example.jp>\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        + BAD_VALUES[language]
    ).encode("utf-8")
    verdict = judge(parse_mail(raw), envelope_to=to, settings=SETTINGS, rules=RULES, today=TODAY)
    assert verdict.language == language
    return verdict


def rendered() -> Iterator[tuple[str, str, str]]:
    for mailbox in MAILBOXES:
        for language in LANGUAGES:
            for template in TEMPLATES:
                yield mailbox, language, template


@pytest.fixture(scope="module")
def bodies() -> dict[tuple[str, str, str], tuple[str, str]]:
    out = {}
    for mailbox, language, template in rendered():
        context = reply_context(verdict_for(mailbox, language), RULES, REFERENCE)
        assert context["missing"] and context["invalid"]
        out[mailbox, language, template] = render(REPLIES, template, language, context)
    return out


CASES = list(rendered())
IDS = ["-".join(case) for case in CASES]


@pytest.mark.parametrize(("mailbox", "language", "template"), CASES, ids=IDS)
def test_lines_fit_a_phone_and_sections_are_apart(
    bodies: dict[tuple[str, str, str], tuple[str, str]], mailbox: str, language: str, template: str
) -> None:
    _, body = bodies[mailbox, language, template]
    lines = body.rstrip("\n").split("\n")
    too_wide = [(width(line), line) for line in lines if width(line) > MAX_COLUMNS]
    assert too_wide == []
    assert lines[0] != "" and lines[-1] != ""
    assert ("", "") not in set(itertools.pairwise(lines))  # never two blank lines
    item = regex.compile(r"^(?:・|- |  )")
    for index, line in enumerate(lines):
        if line.startswith("■") or (line.endswith(":") and not item.match(line)):
            assert lines[index - 1] == "", f"no blank line before the section {line!r}"
        if item.match(line) and index + 1 < len(lines):
            after = lines[index + 1]
            assert after == "" or item.match(after), f"no blank line after the list at {line!r}"


@pytest.mark.parametrize(("mailbox", "language", "template"), CASES, ids=IDS)
def test_the_reference_is_within_the_first_five_lines(
    bodies: dict[tuple[str, str, str], tuple[str, str]], mailbox: str, language: str, template: str
) -> None:
    _, body = bodies[mailbox, language, template]
    [at] = [index for index, line in enumerate(body.splitlines()) if REFERENCE in line]
    assert at < 5


@pytest.mark.parametrize(("mailbox", "language", "template"), CASES, ids=IDS)
def test_no_line_has_the_shape_of_a_field_value(
    bodies: dict[tuple[str, str, str], tuple[str, str]], mailbox: str, language: str, template: str
) -> None:
    subject, body = bodies[mailbox, language, template]
    ctx = FieldContext(today=TODAY)
    # The reference is made by the case service, not written in a template (a follow-up that
    # quotes it is matched by it; our own lines are never read as the member's values).
    text = f"{subject}\n{body}".replace(REFERENCE, REFERENCE_MARK)
    found = [(line, hit) for line in text.splitlines() for hit in value_shapes(line, ctx)]
    assert found == []


@pytest.mark.parametrize(
    "line",
    [
        "・お電話番号(例：090-1234-5678)",
        "- Plus member ID (e.g. E12345678)",
        "例えば taro@example.jp のように",
        "・ご生年月日(例：1990年1月2日)",
        "注文番号の例 AB12CD34EF",
        "・カード末尾4桁(例：1234)",
    ],
)
def test_the_shape_check_finds_example_values(line: str) -> None:
    assert value_shapes(line, FieldContext(today=TODAY)) != []


@pytest.mark.parametrize("mailbox", MAILBOXES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_each_mailbox_names_its_site_and_desk_and_signs(mailbox: str, language: str) -> None:
    desk = desk_of(RULES.packs[mailbox].where.path)
    site, name = desk.text("site", language), desk.text("desk", language)
    assert site and name and desk.text("closing", language) and desk.signature[language]
    reply = render_reply(verdict_for(mailbox, language), RULES, SETTINGS, reference=REFERENCE)
    assert reply is not None
    assert site in reply.subject
    assert name in reply.body.splitlines()[0]
    assert desk.text("closing", language) in reply.body.replace("\n", "")
    assert reply.body.rstrip("\n").splitlines()[-len(desk.signature[language]) :] == list(
        desk.signature[language]
    )
    assert "-- " in reply.body.splitlines()  # the signature separator, with its space

    raw = compose(
        reply,
        message_id="r.1.abc@cc.example.jp",
        in_reply_to=None,
        references=(),
        instance_id="triage",
        date=datetime.datetime(2026, 12, 7, tzinfo=datetime.UTC),
    )
    message = email.message_from_bytes(raw, policy=email.policy.default)
    [sender] = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (name, f"{mailbox}@cc.example.jp")
    assert site in str(message["Subject"])
