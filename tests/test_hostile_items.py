"""security.md §1 items that had no test of their own (docs/hostile-input.md maps every item).

Each test names its item. Mails through the worker run on a real database (SQLite and
PostgreSQL) with the real store, as the SMTP ingress would have stored them.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from triage import textmatch
from triage.clock import FixedClock
from triage.config import Settings
from triage.db.engine import make_engine, session_factory
from triage.db.models import Case, CaseValue, InboundMessage, OutboundMessage
from triage.engine.loader import load_rules
from triage.engine.spec import RuleSet
from triage.ingress.store import InboundStore
from triage.parsing.mime import parse_mail
from triage.verdict import judge
from triage.worker.batchwrite import ProcessResult
from triage.worker.loop import Worker

ROOT = Path(__file__).resolve().parents[1]
TODAY = dt.date(2026, 11, 21)
MAILBOX = "secure_billing@cc.example.jp"
COMPLETE = "ログインID:taro_sample77\r\nメールアドレス:taro@example.jp\r\n電話番号:090-0000-1234\r\n"


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(ROOT / "rules", ROOT / "replies")


@pytest.fixture(scope="module")
def config() -> Settings:
    return Settings.from_env({})


def head(*fields: str, sender: str = "taro@example.jp") -> bytes:
    lines = [
        f"From: {sender}",
        f"To: {MAILBOX}",
        "Subject: help",
        "MIME-Version: 1.0",
        *fields,
    ]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def text_mail(body: str, *fields: str, sender: str = "taro@example.jp") -> bytes:
    return head("Content-Type: text/plain; charset=UTF-8", *fields, sender=sender) + b"\r\n" + body.encode()


class Desk:
    def __init__(self, url: str, rules: RuleSet) -> None:
        self.engine = make_engine(url)
        self.sessions: sessionmaker[Session] = session_factory(self.engine)
        clock = FixedClock(dt.datetime(2026, 11, 21, 1, 0, tzinfo=dt.UTC))
        self.store = InboundStore(self.sessions, now=clock.now)
        self.worker = Worker(self.sessions, Settings(database_url=url), rules, clock=clock, name="w1")

    def run(self, raw: bytes, mail_from: str = "taro@example.jp") -> ProcessResult:
        inbound_id = self.store.insert(raw, mail_from, [MAILBOX], "127.0.0.1", "client.example.jp", False)
        assert self.worker.claim(inbound_id) == inbound_id
        return self.worker.process(inbound_id)

    def row(self, inbound_id: int) -> InboundMessage:
        with self.sessions() as session:
            row = session.get(InboundMessage, inbound_id)
            assert row is not None
            session.expunge(row)
            return row

    def replies(self, case_id: int | None) -> list[OutboundMessage]:
        with self.sessions() as session:
            found = list(
                session.scalars(sa.select(OutboundMessage).where(OutboundMessage.case_id == case_id))
            )
            session.expunge_all()
            return found


@pytest.fixture
def desk(migrated_db_url: str, rules: RuleSet) -> Iterator[Desk]:
    made = Desk(migrated_db_url, rules)
    yield made
    made.engine.dispose()


# -- 2. bare LF or bare CR: stored as received, flagged, parsed ---------------------------------


@pytest.mark.db
@pytest.mark.parametrize("ending", [b"\n", b"\r"], ids=["bare-lf", "bare-cr"])
def test_item_2_bare_line_ends_are_stored_flagged_and_parsed(desk: Desk, ending: bytes) -> None:
    raw = text_mail(COMPLETE).replace(b"\r\n", ending)
    result = desk.run(raw)
    row = desk.row(result.inbound_id)
    assert row.raw == raw  # stored as received
    assert row.has_bare_line_ends
    assert "bare CR or LF line ends in the stored message" in row.notes
    if ending == b"\n":
        assert result.decision == "queued"  # parsed and read like any other mail
    else:
        assert result.decision is not None  # a CR-only mail is one long header: no crash, a verdict


# -- 3. NUL bytes: stored; stripped before matching; never echoed ------------------------------


@pytest.mark.db
def test_item_3_nul_bytes_are_stored_and_stripped_before_matching(desk: Desk) -> None:
    raw = text_mail(COMPLETE.replace("090-0000", "090-\x000000"), "X-Note: a\x00b").replace(
        b"Subject: help", b"Subject: he\x00lp"
    )
    result = desk.run(raw)
    row = desk.row(result.inbound_id)
    assert row.raw == raw and b"\x00" in row.raw
    mail = parse_mail(raw)
    assert "\x00" not in mail.text + mail.subject + "".join(value for _, value in mail.headers)
    assert mail.subject == "help"
    assert result.decision == "queued"  # the phone was read across the NUL
    [reply] = desk.replies(result.case_id)
    assert b"\x00" not in reply.raw and "\x00" not in reply.body


# -- 15. no blank line after the headers, LF-only file, headers only ----------------------------


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (head() + b"Content-Type: text/plain\r\nnot a header line\r\nPhone: 090\r\n", "Phone: 090"),
        (text_mail("Phone: 090-0000-1234\r\n").replace(b"\r\n", b"\n"), "Phone: 090-0000-1234"),
        (head("Content-Type: text/plain"), ""),
    ],
    ids=["no-blank-line", "lf-only", "headers-only"],
)
def test_item_15_broken_framing_gives_the_text_and_a_verdict(
    raw: bytes, text: str, config: Settings, rules: RuleSet
) -> None:
    mail = parse_mail(raw)
    assert text in mail.text
    assert mail.subject == "help"
    verdict = judge(mail, envelope_to=MAILBOX, settings=config, rules=rules, today=TODAY)
    assert verdict.decision.value in {"needs_info", "queued"}


def test_item_15_a_header_line_without_a_colon_is_a_recorded_defect() -> None:
    mail = parse_mail(head() + b"Content-Type: text/plain\r\nnot a header line\r\nPhone: 090\r\n")
    assert "MissingHeaderBodySeparatorDefect" in mail.defects


# -- 18. a base64 zip bomb: stored as opaque bytes, never opened --------------------------------


def test_item_18_a_zip_bomb_is_listed_as_opaque_bytes() -> None:
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", b"\x00" * (200 * 1024 * 1024))  # 200 MB unpacked
    bomb = packed.getvalue()
    assert len(bomb) < 1024 * 1024
    body = (
        b"--z\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nsee attached\r\n"
        b'--z\r\nContent-Type: application/zip\r\nContent-Disposition: attachment; filename="a.zip"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(bomb) + b"--z--\r\n"
    )
    started = time.process_time()
    mail = parse_mail(head('Content-Type: multipart/mixed; boundary="z"') + b"\r\n" + body)
    assert time.process_time() - started < 2.0
    [attachment] = mail.attachments
    assert (attachment.filename, attachment.content_type, attachment.size) == (
        "a.zip",
        "application/zip",
        len(bomb),
    )
    assert mail.text == "see attached"


# -- 19. attachment names: 1,000-character RFC 2231 names, a lying Content-Type -----------------


def test_item_19_a_long_rfc2231_name_and_a_lying_type_are_listed_cleaned() -> None:
    long_name = "%E8%AB%8B%E6%B1%82" * 333 + ".pdf"  # 請求 ... 1,000 characters once decoded
    body = (
        b"--n\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nhello\r\n"
        b"--n\r\nContent-Type: image/png\r\nContent-Disposition: attachment;\r\n"
        b" filename*=UTF-8''"
        + long_name.encode()
        + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(b"MZ\x90\x00 an executable, not a png")
        + b"--n\r\nContent-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="invoice\xe2\x80\xaegpj.exe"\r\n\r\nx\r\n--n--\r\n'
    )
    mail = parse_mail(head('Content-Type: multipart/mixed; boundary="n"') + b"\r\n" + body)
    first, second = mail.attachments
    assert first.filename is not None and len(first.filename) <= 200 and first.filename.startswith("請求")
    assert first.content_type == "image/png"  # listed as declared: never opened, never served inline
    assert second.filename == "invoicegpj.exe"  # the RTL override removed
    assert mail.text == "hello"


# -- 22. several From fields, group syntax, empty From, From differing from MAIL FROM -----------


@pytest.mark.db
@pytest.mark.parametrize(
    "from_fields",
    [
        ("From: taro@example.jp", "From: other@example.com"),
        ("From: members: taro@example.jp, hana@example.jp;",),
        ("From:",),
        ("From: someone.else@example.com",),
    ],
    ids=["several", "group", "empty", "differs"],
)
def test_item_22_odd_from_fields_reply_to_the_envelope_sender_and_say_so(
    desk: Desk, from_fields: tuple[str, ...]
) -> None:
    lines = [
        *from_fields,
        f"To: {MAILBOX}",
        "Subject: help",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=UTF-8",
    ]
    raw = ("\r\n".join(lines) + "\r\n\r\n" + COMPLETE).encode()
    result = desk.run(raw, mail_from="envelope@example.jp")
    if from_fields == ("From:",):  # autoreply.md §1 row 10: an empty From is automatic mail
        assert (result.decision, result.case_id) == ("ignored", None)
        assert desk.row(result.inbound_id).reason == "automatic mail: empty-from"
        return
    assert result.decision == "queued"
    [reply] = desk.replies(result.case_id)
    assert reply.to_addr == "envelope@example.jp"
    with desk.sessions() as session:
        case = session.get(Case, result.case_id)
        assert case is not None and case.sender == "envelope@example.jp"
    notes = desk.row(result.inbound_id).notes
    assert (
        "From differs from the envelope sender; replies go to the envelope sender" in notes
        or "From is ambiguous (defects or several addresses): not evidence of identity" in notes
    ), notes


# -- 26. an encoded newline in the Subject cannot add a header to our reply ---------------------


@pytest.mark.db
def test_item_26_an_encoded_newline_adds_no_header_to_the_reply(desk: Desk) -> None:
    raw = text_mail(COMPLETE).replace(
        b"Subject: help", b"Subject: =?UTF-8?Q?help=0ABcc:_evil@example.com?=\r\n =?UTF-8?Q?=0D=0AX-Evil:_1?="
    )
    result = desk.run(raw)
    [reply] = desk.replies(result.case_id)
    sent = email.message_from_bytes(reply.raw, policy=email.policy.default)
    names = {name.lower() for name in sent}
    assert "bcc" not in names and "x-evil" not in names
    assert sent.get_all("To") == ["taro@example.jp"]
    assert "\n" not in str(sent["Subject"]) and "\r" not in str(sent["Subject"])


# -- 29. 100 KB of digits and hyphens: every pattern bounded, the mail still gets a verdict ------


def test_item_29_redos_bait_gets_a_verdict_and_any_timeout_is_recorded(
    config: Settings, rules: RuleSet
) -> None:
    bait = ("0123-4567-" * 10_240)[: 100 * 1024]
    raw = text_mail("電話番号:" + bait + "\r\n" + bait.replace("-", "") + "\r\n")
    started = time.process_time()
    with textmatch.reading():
        verdict = judge(parse_mail(raw), envelope_to=MAILBOX, settings=config, rules=rules, today=TODAY)
    assert time.process_time() - started < 2.0
    assert verdict.decision.value in {"needs_info", "queued"}
    with textmatch.reading(30) as budget, textmatch.per_call_cap(0):
        starved = judge(parse_mail(raw), envelope_to=MAILBOX, settings=config, rules=rules, today=TODAY)
    assert budget.timeouts  # each pattern that gave up is recorded ...
    assert starved.decision.value in {"needs_info", "queued"}  # ... and the mail still gets a verdict


# -- 32. a 10 KB "name" -------------------------------------------------------------------------


@pytest.mark.db
def test_item_32_a_10kb_name_is_stored_as_written_and_capped_where_echoed(desk: Desk) -> None:
    raw = text_mail("お名前: " + "山" * 10_000 + "\r\nニックネーム: " + "た" * 10_000 + "\r\n" + COMPLETE)
    result = desk.run(raw)
    assert result.case_id is not None
    with desk.sessions() as session:
        written = dict(
            session.execute(
                sa.select(CaseValue.field, CaseValue.written).where(CaseValue.case_id == result.case_id)
            ).all()
        )
    assert written["name_kanji"] == "山" * 10_000  # stored as written
    [reply] = desk.replies(result.case_id)
    assert "山" * 200 not in reply.body and len(reply.subject) <= 200
    assert max(len(line) for line in reply.body.splitlines()) < 200


# -- 27. look-alike domains: flagged, never "corrected"; punycode kept --------------------------


def test_item_27_a_cyrillic_icloud_is_not_icloud_nor_corrected(config: Settings, rules: RuleSet) -> None:
    look_alike = "alice@icl\u043eud.com"  # a Cyrillic о
    body = f"メールアドレス:{look_alike}\r\nメールアドレス:taro@xn--r8jz45g.jp\r\n" + COMPLETE
    mail = parse_mail(text_mail(body, sender=look_alike))
    verdict = judge(mail, envelope_to=MAILBOX, settings=config, rules=rules, today=TODAY)
    assert verdict.decision.value != "icloud_rejected"
    assert verdict.extraction is not None
    emails = verdict.extraction.value("emails")
    assert isinstance(emails, list)
    assert "taro@xn--r8jz45g.jp" in emails  # IDN punycode as written
    assert not any("icloud.com" in address for address in emails)  # never corrected
    assert any(item.field == "emails" and "\u043e" in item.written for item in verdict.extraction.invalid)
