"""Sender authenticity (issue 12 deliverable 5, security.md §1 #21-23 and §4).

`Authentication-Results` is trusted only when it is the topmost such field, names our authserv-id
and stands below no more Received fields than our own MTA adds; a forged one (below ours, below
another hop, in a forwarded part) never makes a sender verified; DMARC fail marks the sender "not
verified"; without a configured authserv-id every sender is "unchecked". Replies go to the
envelope sender, never to an address from the body or Reply-To, never to an ambiguous From.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage.authenticity.authres import MAX_CHARS, parse_authres
from triage.authenticity.check import SenderStatus, check_sender
from triage.authenticity.marks import case_marks, mail_notes, read_sender_note, reply_problem
from triage.cli import main
from triage.config import Settings
from triage.engine.loader import load_rules
from triage.engine.spec import RuleSet
from triage.parsing.mime import parse_mail
from triage.verdict import judge, reply_recipient

OURS = "mx.cc.example.jp"
TODAY = dt.date(2026, 11, 21)
BODY = (
    "ログインできません。よろしくお願いします。\n"
    "ログインID:taro_sample77\n"
    "メールアドレス:taro@example.jp\n"
    "電話番号:090-0000-1234\n"
    "お支払い方法:クレジットカード\n"
    "クレジットカードの末尾4桁:4321\n"
)


def build(
    *fields: str,
    sender: str = "taro@example.jp",
    from_value: str | None = None,
    return_path: str | None = "taro@example.jp",
    body: str = BODY,
    message_id: str = "a1@example.jp",
) -> bytes:
    """A member's mail with ``fields`` (e.g. A-R and Received) on top, as our MTA hands it on."""
    head = [*fields]
    if return_path is not None:
        head.insert(0, f"Return-Path: <{return_path}>")
    head += [
        f"From: {from_value if from_value is not None else sender}",
        "To: secure_billing@cc.example.jp",
        "Subject: help",
        f"Message-ID: <{message_id}>",
        "Date: Fri, 10 May 2024 10:00:00 +0900",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: 8bit",
    ]
    return ("\r\n".join(head) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode("utf-8")


def ours(results: str, authserv_id: str = OURS) -> str:
    return f"Authentication-Results: {authserv_id};\r\n {results}"


RECEIVED_OURS = "Received: from mail.example.jp (mail.example.jp [192.0.2.1]) by mx.cc.example.jp"
RECEIVED_OTHER = "Received: from relay.example.net by mail.example.jp"


@pytest.fixture(scope="module")
def with_id() -> Settings:
    return Settings.from_env({"TRIAGE_AUTHSERV_ID": OURS})


def status_of(raw: bytes, config: Settings) -> SenderStatus:
    return check_sender(parse_mail(raw), config).status


# -- the reader --------------------------------------------------------------------------------


def test_reads_a_typical_field_with_comments_quotes_and_versions() -> None:
    parsed = parse_authres(
        "mx.cc.example.jp 1; dkim=pass (2048-bit key; unprotected) header.d=example.jp"
        ' header.i="@example.jp" header.b="AbC;d="; spf=pass (domain of taro@example.jp designates'
        " 192.0.2.1) smtp.mailfrom=example.jp;"
        ' dmarc/1=fail reason="policy (quarantine)" (p=QUARANTINE) header.from=Example.JP'
    )
    assert parsed is not None
    assert parsed.authserv_id == "mx.cc.example.jp"
    assert [(item.method, item.result) for item in parsed.results] == [
        ("dkim", "pass"),
        ("spf", "pass"),
        ("dmarc", "fail"),
    ]
    dkim, _, dmarc = parsed.results
    assert dkim.prop("header.d") == "example.jp"
    assert dkim.prop("header.b") == "AbC;d="  # a quoted `;` does not end the result
    assert dmarc.prop("header.from") == "Example.JP"
    assert dmarc.reason == "policy (quarantine)"


def test_none_and_garbage() -> None:
    none = parse_authres("mx.cc.example.jp; none")
    assert none is not None and none.results == ()
    assert parse_authres("") is None
    assert parse_authres("=; dmarc=pass") is None
    odd = parse_authres('mx ; = ; dmarc ; dmarc= ; =pass ; (((( ; "unterminated')
    assert odd is not None and odd.results == ()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_the_reader_never_raises(value: str) -> None:
    parsed = parse_authres(value)
    assert parsed is None or len(parsed.results) <= 50


def test_a_huge_value_is_read_only_to_its_cap() -> None:
    started = time.process_time()
    parsed = parse_authres(OURS + "; " + "dkim=pass header.d=x.jp (" * 200_000)
    assert time.process_time() - started < 2.0
    assert parsed is not None and parsed.authserv_id == OURS
    assert sum(len(item.method) for item in parsed.results) < MAX_CHARS


# -- which field is trusted --------------------------------------------------------------------


def test_dmarc_pass_from_our_mta_verifies(with_id: Settings) -> None:
    raw = build(ours("dkim=pass header.d=example.jp; dmarc=pass header.from=example.jp"), RECEIVED_OURS)
    check = check_sender(parse_mail(raw), with_id)
    assert check.status is SenderStatus.VERIFIED
    assert check.detail == "DMARC pass for example.jp"


def test_the_authserv_id_is_compared_without_case_or_trailing_dot() -> None:
    raw = build(ours("dmarc=pass header.from=example.jp", authserv_id="MX.CC.Example.JP."))
    assert status_of(raw, Settings.from_env({"TRIAGE_AUTHSERV_ID": OURS + "."})) is SenderStatus.VERIFIED


def test_a_spoofed_from_with_dmarc_fail_is_not_verified(with_id: Settings) -> None:
    raw = build(
        ours("spf=pass smtp.mailfrom=evil.test; dmarc=fail header.from=icloud.com"), sender="alice@icloud.com"
    )
    check = check_sender(parse_mail(raw), with_id)
    assert check.status is SenderStatus.NOT_VERIFIED
    assert check.detail == "DMARC fail for icloud.com"


def test_a_forged_field_below_ours_is_ignored(with_id: Settings) -> None:
    """Ours says fail; the member's own (forged, with our id) says pass: not verified."""
    raw = build(
        ours("dmarc=fail header.from=icloud.com"),
        RECEIVED_OURS,
        ours("dkim=pass header.d=icloud.com; dmarc=pass header.from=icloud.com"),
        sender="alice@icloud.com",
    )
    assert status_of(raw, with_id) is SenderStatus.NOT_VERIFIED


def test_a_forged_field_below_another_hop_is_ignored(with_id: Settings) -> None:
    """No field of our MTA's; the forged one sits below the sender's own Received: unchecked."""
    raw = build(
        RECEIVED_OURS,
        RECEIVED_OTHER,
        ours("dkim=pass header.d=icloud.com; dmarc=pass header.from=icloud.com"),
        sender="alice@icloud.com",
    )
    check = check_sender(parse_mail(raw), with_id)
    assert check.status is SenderStatus.UNCHECKED
    assert check.detail == f"no Authentication-Results of {OURS} at the top"


def test_another_hops_field_above_ours_leaves_it_untrusted(with_id: Settings) -> None:
    raw = build(
        ours("dmarc=fail header.from=example.jp", authserv_id="mx.elsewhere.example"),
        ours("dmarc=pass header.from=example.jp"),
    )
    assert status_of(raw, with_id) is SenderStatus.UNCHECKED


def test_a_forged_field_in_a_forwarded_part_is_ignored(with_id: Settings) -> None:
    inner = (
        f"Authentication-Results: {OURS}; dkim=pass header.d=icloud.com;\r\n"
        " dmarc=pass header.from=icloud.com\r\n"
        "From: alice@icloud.com\r\nSubject: fwd\r\n\r\nhello\r\n"
    )
    body = (
        "--sep\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n" + BODY + "\r\n"
        "--sep\r\nContent-Type: message/rfc822\r\n\r\n" + inner + "--sep--\r\n"
    )
    raw = build(sender="alice@icloud.com", body=body).replace(
        b"Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit",
        b'Content-Type: multipart/mixed; boundary="sep"',
        1,
    )
    mail = parse_mail(raw)
    assert mail.content_type == "multipart/mixed"
    assert check_sender(mail, with_id).status is SenderStatus.UNCHECKED


def test_without_an_authserv_id_every_sender_is_unchecked() -> None:
    raw = build(ours("dmarc=pass header.from=example.jp"))
    check = check_sender(parse_mail(raw), Settings.from_env({}))
    assert check.status is SenderStatus.UNCHECKED
    assert check.detail == "no authserv-id configured (TRIAGE_AUTHSERV_ID)"


def test_dkim_alignment_stands_in_for_a_missing_dmarc_verdict(with_id: Settings) -> None:
    aligned = build(
        ours("dkim=pass header.d=example.jp; dmarc=none header.from=mail.example.jp"),
        sender="taro@mail.example.jp",
    )
    assert check_sender(parse_mail(aligned), with_id).detail == "DKIM pass for mail.example.jp"
    parent = build(ours("dkim=pass header.d=example.jp"), sender="taro@mail.example.jp")
    assert check_sender(parse_mail(parent), with_id).detail == "DKIM pass for mail.example.jp"
    other = build(ours("dkim=pass header.d=evil.test; dmarc=none header.from=example.jp"))
    check = check_sender(parse_mail(other), with_id)
    assert (check.status, check.detail) == (SenderStatus.UNCHECKED, "DMARC none for example.jp")


def test_a_dmarc_result_for_another_domain_is_not_verified(with_id: Settings) -> None:
    raw = build(ours("dmarc=pass header.from=evil.test"), sender="alice@icloud.com")
    check = check_sender(parse_mail(raw), with_id)
    assert check.status is SenderStatus.NOT_VERIFIED
    assert "evil.test" in check.detail


@pytest.mark.parametrize(
    "from_value",
    [
        "alice@icloud.com <bob@evil.test>",  # CVE-2023-27043's unquoted form
        "alice@icloud.com, bob@evil.test",  # several addresses
    ],
)
def test_an_ambiguous_from_is_never_verified_nor_the_reply_address(
    with_id: Settings, from_value: str
) -> None:
    raw = build(ours("dmarc=pass header.from=evil.test"), from_value=from_value, return_path=None)
    mail = parse_mail(raw)
    assert mail.from_ambiguous
    assert check_sender(mail, with_id).status is SenderStatus.NOT_VERIFIED
    assert reply_recipient(mail) is None
    assert reply_problem(mail) == "no envelope sender, and the From is ambiguous"


def test_the_quoted_display_name_form_is_not_icloud() -> None:
    """§1 #21: the From is the address in angle brackets."""
    mail = parse_mail(build(from_value='"alice@icloud.com" <attacker@evil.test>'))
    assert mail.from_addr is not None and mail.from_addr.addr == "attacker@evil.test"
    verdict = judge(mail, envelope_to=None, settings=Settings.from_env({}), rules=_rules(), today=_today())
    assert verdict.decision.value != "icloud_rejected"


# -- replies go to the envelope sender ---------------------------------------------------------


def test_replies_go_to_the_envelope_sender_never_to_the_body_or_reply_to() -> None:
    body = "返信先: other@evil.test\nReply to: other@evil.test\n" + BODY
    raw = build(
        "Reply-To: other@evil.test", sender="shown@example.jp", return_path="env@example.jp", body=body
    )
    verdict = judge(
        parse_mail(raw), envelope_to=None, settings=Settings.from_env({}), rules=_rules(), today=_today()
    )
    assert verdict.reply_to == "env@example.jp"


@pytest.mark.parametrize(
    ("return_path", "why"),
    [
        ("", "the envelope sender is the null reverse path <>"),
        ("太郎@例え.jp", "the reply address is not ASCII (an internationalised address we cannot send to)"),
        ("taro@例え.jp", "the reply address is not ASCII (an internationalised address we cannot send to)"),
    ],
)
def test_a_member_who_cannot_be_answered_is_flagged(return_path: str, why: str) -> None:
    mail = parse_mail(build(return_path=return_path))
    assert reply_problem(mail) == why


def test_an_answerable_member_is_not_flagged() -> None:
    assert reply_problem(parse_mail(build())) is None


def test_notes_are_written_only_for_mail_that_makes_a_case(with_id: Settings) -> None:
    rules = _rules()
    raw = build(ours("dmarc=fail header.from=example.jp"), return_path="")
    verdict = judge(parse_mail(raw), envelope_to=None, settings=with_id, rules=rules, today=_today())
    assert verdict.decision.value == "ignored"  # MAIL FROM:<> is a bounce
    assert mail_notes(verdict.mail, verdict, with_id) == []
    raw = build(ours("dmarc=fail header.from=example.jp"))
    verdict = judge(parse_mail(raw), envelope_to=None, settings=with_id, rules=rules, today=_today())
    assert mail_notes(verdict.mail, verdict, with_id) == ["sender not verified: DMARC fail for example.jp"]


def test_a_case_shows_the_worst_mark_of_its_mails() -> None:
    mark, unanswerable = case_marks(
        [
            (1, ["sender verified: DMARC pass for example.jp"]),
            (2, ["sender not verified: DMARC fail for example.jp", "cannot be answered: x"]),
            (3, ["sender unchecked: no DMARC result for example.jp"]),
        ]
    )
    assert mark is not None and (mark.status, mark.inbound_id) == (SenderStatus.NOT_VERIFIED, 2)
    assert [(item.inbound_id, item.why) for item in unanswerable] == [(2, "x")]
    assert read_sender_note("sender of the mail: x") is None


# -- through `triage ingest` and `case show` ---------------------------------------------------


def _rules() -> RuleSet:
    config = Settings.from_env({})
    return load_rules(config.rules_dir, config.replies_dir)


def _today() -> dt.date:
    return TODAY


def run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


@pytest.mark.db
@pytest.mark.usefixtures("plain_environment")
def test_case_show_marks_a_spoofed_sender_and_a_forged_field_changes_nothing(
    migrated_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRIAGE_DATABASE_URL", migrated_db_url)
    monkeypatch.setenv("TRIAGE_AUTHSERV_ID", OURS)
    spoofed = build(
        ours("dmarc=fail header.from=example.jp"),
        RECEIVED_OURS,
        ours("dmarc=pass header.from=example.jp"),  # forged by the sender, below ours
    )
    (tmp_path / "1.eml").write_bytes(spoofed)
    assert run(["ingest", str(tmp_path), "--json"]) == 0
    [result] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert run(["case", "show", str(result["case_id"]), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["sender_check"] == {
        "status": "not verified",
        "detail": "DMARC fail for example.jp",
        "inbound_id": result["inbound_id"],
    }
    assert data["cannot_answer"] == []
    assert run(["case", "show", str(result["case_id"])]) == 0
    assert f"  sender not verified: DMARC fail for example.jp (inbound {result['inbound_id']})" in (
        capsys.readouterr().out.splitlines()
    )
    assert run(["inbound", "list", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert "sender not verified: DMARC fail for example.jp" in row["notes"]


@pytest.mark.db
@pytest.mark.usefixtures("plain_environment")
def test_case_show_flags_a_member_who_cannot_be_answered(
    migrated_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRIAGE_DATABASE_URL", migrated_db_url)
    (tmp_path / "1.eml").write_bytes(build(return_path="taro@例え.jp"))
    assert run(["ingest", str(tmp_path), "--json"]) == 0
    [result] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert run(["case", "show", str(result["case_id"]), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["sender_check"]["status"] == "unchecked"  # no authserv-id configured
    assert data["cannot_answer"] == [
        {
            "inbound_id": result["inbound_id"],
            "why": "the reply address is not ASCII (an internationalised address we cannot send to)",
        }
    ]
    assert all(reply["status"] != "pending" for reply in data["replies"])  # nothing goes out


def test_the_hops_of_our_own_mtas_are_configurable() -> None:
    """A front MTA with a content filter adds two Received fields above its result."""
    raw = build(
        "Received: from localhost by mx.cc.example.jp (reinjection)",
        RECEIVED_OURS,
        ours("dmarc=pass header.from=example.jp"),
    )
    one = Settings.from_env({"TRIAGE_AUTHSERV_ID": OURS})
    two = Settings.from_env({"TRIAGE_AUTHSERV_ID": OURS, "TRIAGE_AUTHSERV_HOPS": "2"})
    assert status_of(raw, one) is SenderStatus.UNCHECKED
    assert status_of(raw, two) is SenderStatus.VERIFIED
