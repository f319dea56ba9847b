"""Screening (design/autoreply.md §1): one test per signal, and the negatives that matter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from triage.config import Settings
from triage.parsing.model import Address, Attachment, ParsedMail, PartInfo
from triage.screening import SUBJECT_WORDS, ScreenResult, screen

SETTINGS = Settings(our_domain="triage.example.jp", instance_id="triage-test")
MAILBOXES = frozenset({"secure_lunasea", "secure_jo1"})

MEMBER_HEADERS: tuple[tuple[str, str], ...] = (
    ("Return-Path", "<hanako@example.jp>"),
    ("Received", "from mx.example.jp by mail.triage.example.jp; Wed, 1 May 2024 10:00:00 +0900"),
    ("Date", "Wed, 1 May 2024 10:00:00 +0900"),
    ("From", "山田 花子 <hanako@example.jp>"),
    ("To", "secure_lunasea@triage.example.jp"),
    ("Subject", "ログインできません"),
    ("Message-ID", "<abc123@example.jp>"),
    ("MIME-Version", "1.0"),
    ("Content-Type", "text/plain; charset=ISO-2022-JP"),
)


def _part(content_type: str, path: str = "1") -> PartInfo:
    return PartInfo(
        path=path,
        content_type=content_type,
        declared_charset=None,
        transfer_encoding=None,
        how="ascii",
        size=10,
        is_attachment=False,
    )


def make_mail(
    *,
    headers: tuple[tuple[str, str], ...] = MEMBER_HEADERS,
    extra: tuple[tuple[str, str], ...] = (),
    subject: str | None = None,
    from_addr: Address | str | None = "hanako@example.jp",
    return_path: str | None = "hanako@example.jp",
    message_id: str | None = "<abc123@example.jp>",
    content_type: str = "text/plain",
    parts: tuple[PartInfo, ...] = (),
    attachments: tuple[Attachment, ...] = (),
) -> ParsedMail:
    """A member's ordinary mail unless told otherwise; `extra` headers are appended."""
    all_headers = headers + extra
    if subject is None:
        subject = next((value for name, value in all_headers if name.lower() == "subject"), "")
    if isinstance(from_addr, str):
        from_addr = Address("山田 花子", from_addr)
    return ParsedMail(
        headers=all_headers,
        subject=subject,
        from_addr=from_addr,
        from_ambiguous=False,
        to=(Address("", "secure_lunasea@triage.example.jp"),),
        cc=(),
        return_path=return_path,
        message_id=message_id,
        in_reply_to=(),
        references=(),
        content_type=content_type,
        text="山田花子です。ログインできません。",
        quoted="",
        text_how="jis",
        text_source="text/plain",
        parts=parts or (_part(content_type, ""),),
        attachments=attachments,
        defects=(),
        header_names_lower=frozenset(name.lower() for name, _ in all_headers),
    )


def run(
    mail: ParsedMail,
    settings: Settings = SETTINGS,
    issued_message_id: Callable[[str], bool] | None = None,
) -> ScreenResult:
    return screen(mail, settings, mailboxes=MAILBOXES, issued_message_id=issued_message_id)


def signals(result: ScreenResult) -> list[str]:
    return [hit.signal for hit in result.hits]


def with_header(name: str, value: str) -> ScreenResult:
    return run(make_mail(extra=((name, value),)))


def with_subject(subject: str) -> ScreenResult:
    headers = tuple((n, subject if n == "Subject" else v) for n, v in MEMBER_HEADERS)
    return run(make_mail(headers=headers))


# --- the ordinary member mail ------------------------------------------------------------------


def test_ordinary_member_mail_is_not_ignored() -> None:
    result = run(make_mail())
    assert result.hits == ()
    assert result.notes == ()
    assert not result.ignored
    assert not result.weak_only


def test_missing_message_id_is_only_a_note() -> None:
    headers = tuple(h for h in MEMBER_HEADERS if h[0] != "Message-ID")
    result = run(make_mail(headers=headers, message_id=None))
    assert not result.ignored
    assert result.notes == ("no Message-ID",)


# --- row 1: Auto-Submitted ---------------------------------------------------------------------


@pytest.mark.parametrize("value", ["auto-replied", "auto-generated", "auto-notified", "Auto-Replied"])
def test_auto_submitted_other_than_no(value: str) -> None:
    result = with_header("Auto-Submitted", value)
    assert signals(result) == ["auto-submitted"]
    assert result.hits[0].strong
    assert result.hits[0].detail == f"Auto-Submitted: {value.lower()}"


@pytest.mark.parametrize("value", ["no", " No ", "no (human)", "no; reason=x"])
def test_auto_submitted_no_is_not_a_hit(value: str) -> None:
    assert not with_header("Auto-Submitted", value).ignored


def test_auto_submitted_parameters_are_ignored_and_not_shown() -> None:
    result = with_header("Auto-Submitted", "auto-replied; owner-email=hanako@example.jp")
    assert signals(result) == ["auto-submitted"]
    assert "hanako" not in result.hits[0].detail


def test_auto_submitted_upper_case_name() -> None:
    assert signals(with_header("AUTO-SUBMITTED", "auto-generated")) == ["auto-submitted"]


def test_auto_submitted_second_occurrence_counts() -> None:
    mail = make_mail(extra=(("Auto-Submitted", "no"), ("auto-submitted", "auto-replied")))
    assert signals(run(mail)) == ["auto-submitted"]


def test_auto_submitted_vacation_is_labelled_out_of_office() -> None:
    result = with_header("Auto-Submitted", "auto-replied (zimbra; vacation)")
    assert result.hits[0].detail == "Auto-Submitted: auto-replied (out-of-office)"


# --- row 2: Precedence -------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["bulk", "junk", "list", "auto_reply", " BULK ", "bulk; x=y"])
@pytest.mark.parametrize("name", ["Precedence", "X-Precedence", "PRECEDENCE"])
def test_precedence(name: str, value: str) -> None:
    assert signals(with_header(name, value)) == ["precedence"]


@pytest.mark.parametrize("value", ["first-class", "normal", "bulky", "not-bulk", "special-delivery"])
def test_precedence_is_anchored(value: str) -> None:
    assert not with_header("Precedence", value).ignored


def test_precedence_second_occurrence_counts() -> None:
    mail = make_mail(extra=(("Precedence", "first-class"), ("Precedence", "junk")))
    assert signals(run(mail)) == ["precedence"]


# --- rows 3-8: other automatic headers ---------------------------------------------------------


@pytest.mark.parametrize("value", ["All", "OOF", "AutoReply", "DR, RN, NRN", "dr,rn"])
def test_auto_response_suppress(value: str) -> None:
    assert signals(with_header("X-Auto-Response-Suppress", value)) == ["auto-response-suppress"]


def test_auto_response_suppress_other_value_is_not_a_hit() -> None:
    assert not with_header("X-Auto-Response-Suppress", "None").ignored


def test_exchange_out_of_office_detail() -> None:
    mail = make_mail(extra=(("X-Auto-Response-Suppress", "All"), ("X-MS-Exchange-Inbox-Rules-Loop", "x")))
    assert run(mail).hits[0].detail.endswith("(out-of-office)")


@pytest.mark.parametrize(
    "name", ["X-Autoreply", "X-Autorespond", "X-Autoresponse", "X-AutoReply-From", "x-mail-autoreply"]
)
def test_autoreply_headers_present(name: str) -> None:
    assert signals(with_header(name, "yes")) == ["autoreply-header"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-Autogenerated", "Reply"),
        ("X-AMAZON-MAIL-RELAY-TYPE", "notification"),
        ("x-fc-machinegenerated", "TRUE"),
    ],
)
def test_machine_generated_headers(name: str, value: str) -> None:
    assert signals(with_header(name, value)) == ["machine-generated"]


def test_machine_generated_needs_the_exact_value() -> None:
    assert not with_header("X-Autogenerated", "Forward").ignored
    assert not with_header("X-FC-MachineGenerated", "false").ignored


def test_x_loop_present_and_address_masked() -> None:
    result = with_header("X-Loop", "hanako@example.jp")
    assert signals(result) == ["x-loop"]
    assert "hanako" not in result.hits[0].detail


@pytest.mark.parametrize("name", ["List-Id", "List-Unsubscribe", "list-post", "List-Subscribe"])
def test_list_headers(name: str) -> None:
    result = with_header(name, "<mailto:neko-ctl@example.org?body=subscribe>")
    assert signals(result) == ["list-header"]
    assert "neko-ctl" not in result.hits[0].detail


def test_x_ack_no() -> None:
    assert signals(with_header("X-Ack", "No")) == ["x-ack"]
    assert not with_header("X-Ack", "yes").ignored


# --- rows 9-14: bounces, receipts, reports -----------------------------------------------------


def test_null_return_path() -> None:
    result = run(make_mail(return_path=""))
    assert signals(result) == ["null-return-path"]


def test_null_return_path_in_a_repeated_header() -> None:
    mail = make_mail(extra=(("Return-Path", "<>"),))
    assert signals(run(mail)) == ["null-return-path"]


@pytest.mark.parametrize("local", ["MAILER-DAEMON", "postmaster", "Post_Master"])
def test_from_bounce_sender(local: str) -> None:
    result = run(make_mail(from_addr=f"{local}@mx.example.jp"))
    assert signals(result) == ["from-mailer-daemon"]
    assert result.hits[0].detail == f"From local part: {local.lower()}"
    assert result.hits[0].strong


def test_from_empty_address() -> None:
    assert signals(run(make_mail(from_addr=Address("MAILER-DAEMON", "")))) == ["empty-from"]
    assert signals(run(make_mail(from_addr=Address("", "<>")))) == ["empty-from"]


def test_no_from_field() -> None:
    headers = tuple(h for h in MEMBER_HEADERS if h[0] != "From")
    result = run(make_mail(headers=headers, from_addr=None))
    assert signals(result) == ["empty-from"]
    assert result.hits[0].detail == "no From field"


def test_from_without_usable_address() -> None:
    assert signals(run(make_mail(from_addr=None))) == ["empty-from"]


@pytest.mark.parametrize(
    "ctype",
    [
        "multipart/report; report-type=delivery-status; boundary=x",
        'multipart/report; boundary="x"; report-type="disposition-notification"',
        "Multipart/Report;\r\n\tREPORT-TYPE=Feedback-Report;\r\n\tboundary=x",
        "multipart/report; boundary=x; report-type = delivery-status (comment)",
    ],
)
def test_multipart_report(ctype: str) -> None:
    headers = tuple((n, ctype if n == "Content-Type" else v) for n, v in MEMBER_HEADERS)
    result = run(make_mail(headers=headers, content_type="multipart/report", parts=(_part("text/plain"),)))
    assert signals(result) == ["dsn-report"]
    assert "unusual" not in result.hits[0].detail


def test_multipart_report_without_report_type_is_still_a_report() -> None:
    headers = tuple(
        (n, "multipart/report; boundary=x" if n == "Content-Type" else v) for n, v in MEMBER_HEADERS
    )
    result = run(make_mail(headers=headers, content_type="multipart/report", parts=(_part("text/plain"),)))
    assert result.hits[0].detail == "multipart/report (no report-type)"


def test_failed_recipients() -> None:
    result = with_header("X-Failed-Recipients", "hanako@example.jp")
    assert signals(result) == ["failed-recipients"]
    assert "hanako" not in result.hits[0].detail


@pytest.mark.parametrize(
    "ctype",
    [
        "message/delivery-status",
        "message/disposition-notification",
        "message/feedback-report",
        "text/rfc822-headers",
    ],
)
def test_report_part_anywhere(ctype: str) -> None:
    parts = (_part("text/plain", "1"), _part(ctype, "2"), _part("message/rfc822", "3"))
    result = run(make_mail(content_type="multipart/mixed", parts=parts))
    assert signals(result) == ["report-part"]


def test_report_part_as_attachment() -> None:
    mail = make_mail(attachments=(Attachment("status.txt", "message/delivery-status", 100),))
    assert signals(run(mail)) == ["report-part"]


def test_attached_message_is_not_a_report() -> None:
    parts = (_part("text/plain", "1"), _part("message/rfc822", "2"))
    assert not run(make_mail(content_type="multipart/mixed", parts=parts)).ignored


@pytest.mark.parametrize(
    "subject",
    [
        "Undelivered Mail Returned to Sender",
        "Mail delivery failed: returning message to sender",
        "Delivery Status Notification (Failure)",
        "Undeliverable: ログインできません",
        "Returned mail: see transcript for details",
        "Automatic reply: ログインできません",
        "Auto reply: Nyaan",
        "AUTO-REPLY: hello",
        "Out of Office: hello",
        "complaint about message from 192.0.2.222",
        "メールエラー通知",
        "Mail System Error - Returned Mail",
        "自動返信: お問い合わせありがとうございます",
        "【自動返信】お問い合わせありがとうございます",
        "自動応答: ログインできません",
        "不在: ログインできません",
        "【不在】5月1日まで",
        "不在通知",
        "不在のお知らせ（5/1〜5/5）",
        "開封済み: ログインできません",
        "開封済み：ログインできません",
    ],
)
def test_subject_words_are_weak(subject: str) -> None:
    result = with_subject(subject)
    assert signals(result) == ["subject-words"]
    assert not result.hits[0].strong
    assert result.weak_only


@pytest.mark.parametrize(
    "subject",
    [
        "Fwd: Returned mail: see transcript for details",
        "Fw: Undeliverable: hello",
        "転送: メールエラー通知",
        "Re: Auto reply: Nyaan",
        "ログインできません（海外不在中…）",
        "自動返信メールが届きません",
        "不在中の家族の分も確認したい",
        "Undeliverables",
        "Returned mailbox question",
    ],
)
def test_member_subjects_are_not_screened(subject: str) -> None:
    assert not with_subject(subject).ignored


def test_every_subject_word_matches_itself() -> None:
    for word in SUBJECT_WORDS:
        assert signals(with_subject(word)) == ["subject-words"], word


@pytest.mark.parametrize(
    "local",
    ["no-reply", "NoReply", "do-not-reply", "donotreply", "neko-admin", "majordomo-request", "owner-neko"],
)
def test_noreply_from_is_weak(local: str) -> None:
    result = run(make_mail(from_addr=f"{local}@example.org"))
    assert signals(result) == ["from-noreply"]
    assert result.hits[0].detail == f"From local part: {local.lower()}"
    assert result.weak_only


def test_noreply_from_list_is_configurable() -> None:
    settings = replace(SETTINGS, noreply_local_parts=("info", "notice-*"))
    assert signals(run(make_mail(from_addr="notice-42@example.org"), settings)) == ["from-noreply"]
    assert signals(run(make_mail(from_addr="info@example.org"), settings)) == ["from-noreply"]
    assert not run(make_mail(from_addr="info@example.org")).ignored


def test_weak_and_strong_together_is_not_weak_only() -> None:
    mail = make_mail(from_addr="no-reply@example.org", extra=(("Auto-Submitted", "auto-generated"),))
    result = run(mail)
    assert signals(result) == ["auto-submitted", "from-noreply"]
    assert result.ignored
    assert not result.weak_only


# --- rows 15-18: self and loop guards ----------------------------------------------------------


def test_our_loop_header() -> None:
    result = with_header("x-triage-loop", "triage-test")
    assert signals(result) == ["our-loop-header"]
    assert result.hits[0].detail.endswith("(ours)")


def test_another_instances_loop_header() -> None:
    result = with_header("X-Triage-Loop", "other-instance")
    assert signals(result) == ["our-loop-header"]
    assert result.hits[0].detail.endswith("(another)")


def test_our_message_id_by_shape() -> None:
    mid = "<r.42.Zx9_k-Q@triage.example.jp>"
    headers = tuple((n, mid if n == "Message-ID" else v) for n, v in MEMBER_HEADERS)
    assert signals(run(make_mail(headers=headers, message_id=mid))) == ["our-message-id"]


def test_message_id_of_other_domain_is_not_ours() -> None:
    mid = "<r.42.abc@example.jp>"
    headers = tuple((n, mid if n == "Message-ID" else v) for n, v in MEMBER_HEADERS)
    assert not run(make_mail(headers=headers, message_id=mid)).ignored


def test_our_message_id_by_lookup() -> None:
    seen: list[str] = []

    def issued(mid: str) -> bool:
        seen.append(mid)
        return mid == "<abc123@example.jp>"

    result = run(make_mail(), issued_message_id=issued)
    assert signals(result) == ["our-message-id"]
    assert seen == ["<abc123@example.jp>"]
    assert not run(make_mail(), issued_message_id=lambda mid: False).ignored


@pytest.mark.parametrize(
    "addr", ["secure_lunasea@triage.example.jp", "SECURE_jo1@other.example", "secure_new@x.jp"]
)
def test_from_our_address(addr: str) -> None:
    result = run(make_mail(from_addr=addr))
    assert signals(result) == ["from-our-address"]
    assert "@" not in result.hits[0].detail


def test_return_path_our_address() -> None:
    result = run(make_mail(return_path="bounces@triage.example.jp"))
    assert signals(result) == ["from-our-address"]
    assert result.hits[0].detail.startswith("Return-Path")


def test_received_count() -> None:
    # the member headers already carry one Received field
    hops = tuple(("Received", f"from hop{i}") for i in range(98))
    assert not run(make_mail(extra=hops)).ignored
    result = run(make_mail(extra=(*hops, ("received", "from one-more"))))
    assert signals(result) == ["received-count"]
    assert result.hits[0].detail == "100 Received fields"


# --- result shape ------------------------------------------------------------------------------


def test_hits_follow_checklist_order() -> None:
    mail = make_mail(
        from_addr="MAILER-DAEMON@mx.example.jp",
        return_path="",
        extra=(("X-Triage-Loop", "triage-test"), ("Auto-Submitted", "auto-replied"), ("Precedence", "bulk")),
    )
    assert signals(run(mail)) == [
        "auto-submitted",
        "precedence",
        "null-return-path",
        "from-mailer-daemon",
        "our-loop-header",
    ]


def test_detail_is_capped() -> None:
    result = with_header("List-Id", "x" * 500)
    assert len(result.hits[0].detail) <= 120


def test_comments_nest_and_an_unclosed_one_stays() -> None:
    from triage.screening import _strip_comments, _token

    assert _token("auto-replied (a (b) c) ; x") == "auto-replied"
    assert " ".join(_strip_comments("a (b (c) d").split()) == "a (b d"
    deep = "(" * 50_000 + "x" + ")" * 50_000 + " auto-generated"
    assert _token(deep) == "auto-generated"
