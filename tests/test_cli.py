"""`triage check` and `triage parse` through `triage.cli.main` (spec/cli.md, decisions.md "Routing")."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from triage.cli import main

pytestmark = pytest.mark.usefixtures("plain_environment")

JA_BODY = (
    "ログインできません。よろしくお願いします。\n"
    "ログインID:taro_sample77\n"
    "メールアドレス:taro@example.jp\n"
    "電話番号:090-0000-1234\n"
    "お支払い方法:クレジットカード\n"
    "クレジットカードの末尾4桁:4321\n"
)
EN_BODY = (
    "Hello, I cannot log in to my account and I would like your help with it, please.\n"
    "Email: taro@example.jp\n"
    "Phone: 090-0000-1234\n"
    "I paid with my credit card.\n"
)


def mail(
    *,
    body: str = JA_BODY,
    to: str = "secure_billing@cc.example.jp",
    sender: str = "taro@example.jp",
    return_path: str | None = "<taro-bounces@example.jp>",
    subject: str = "=?UTF-8?B?44Ot44Kw44Kk44Oz44Gn44GN44G+44Gb44KT?=",
    extra: str = "",
) -> bytes:
    head = f"Return-Path: {return_path}\n" if return_path is not None else ""
    head += (
        f"From: {sender}\nTo: {to}\nSubject: {subject}\nMessage-ID: <c1@example.jp>\n"
        "Date: Fri, 10 May 2024 10:00:00 +0900\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n"
    )
    return (head + extra + "\n" + body).replace("\n", "\r\n").encode("utf-8")


def write(tmp_path: Path, raw: bytes, name: str = "in.eml") -> str:
    path = tmp_path / name
    path.write_bytes(raw)
    return str(path)


def run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse usage errors
        return int(exc.code or 0)


def check(tmp_path: Path, capsys: pytest.CaptureFixture[str], raw: bytes, *extra: str) -> dict[str, Any]:
    assert run(["check", write(tmp_path, raw), "--json", *extra]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    data: dict[str, Any] = json.loads(out)
    return data


def test_check_json_keys_and_types(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = check(tmp_path, capsys, mail())
    assert set(data) >= {"mailbox", "decision", "reason", "language", "fields", "missing", "invalid", "reply"}
    assert data["mailbox"] == "secure_billing"
    assert data["decision"] == "queued"
    assert data["language"] == "ja"
    assert data["fields"] == {
        "login_id": "taro_sample77",
        "emails": ["taro@example.jp"],
        "phone": "09000001234",
        "payment_method": "credit_card",
        "card_last4": "4321",
    }
    assert data["missing"] == []
    assert data["invalid"] == []
    assert isinstance(data["reason"], str)
    assert isinstance(data["screening"], list)
    assert isinstance(data["notes"], list)
    reply = data["reply"]
    assert set(reply) == {"template", "to", "subject"}
    assert reply["template"] == "queued"
    assert reply["to"] == "taro-bounces@example.jp"  # the Return-Path, not From
    assert isinstance(reply["subject"], str)
    assert reply["subject"]


def test_check_json_missing_and_invalid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = JA_BODY.replace("ログインID:taro_sample77\n", "").replace("taro@example.jp", "taro@example,jp")
    data = check(tmp_path, capsys, mail(body=body))
    assert data["decision"] == "needs_info"
    assert data["missing"] == ["login_id"]
    assert len(data["invalid"]) == 1
    item = data["invalid"][0]
    assert {"field", "value", "reason"} <= set(item)
    assert item["field"] == "emails"
    assert item["value"] == "taro@example,jp"
    assert isinstance(item["reason"], str)
    assert item["reason"]
    assert data["reply"]["template"] == "needs_info"


def test_to_overrides_headers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = check(
        tmp_path, capsys, mail(to="secure_billing@cc.example.jp"), "--to", "secure_jo1@cc.example.jp"
    )
    assert data["mailbox"] == "secure_jo1"


@pytest.mark.parametrize(
    ("extra", "to"),
    [
        ("Delivered-To: secure_jo1@cc.example.jp\n", "info@cc.example.jp"),
        ("X-Original-To: secure_jo1@cc.example.jp\n", "info@cc.example.jp"),
        ("", "secure_jo1@cc.example.jp"),
        ("Cc: Desk <SECURE_JO1@CC.EXAMPLE.JP>\n", "info@cc.example.jp"),
    ],
    ids=["delivered-to", "x-original-to", "to", "cc-only-upper-case"],
)
def test_routing_without_to(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str, to: str) -> None:
    data = check(tmp_path, capsys, mail(to=to, extra=extra))
    assert data["mailbox"] == "secure_jo1"


def test_secure_mailbox_without_pack_is_unknown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = check(tmp_path, capsys, mail(to="secure_lunasia@cc.example.jp"))
    assert data["mailbox"] is None
    assert data["decision"] == "unknown_mailbox"
    assert data["reply"] is None


@pytest.mark.parametrize("sender", ["taro@icloud.com", "Taro <TARO@ME.COM>", "taro@MAC.COM"])
def test_icloud_sender_rejected_with_extraction(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sender: str
) -> None:
    data = check(tmp_path, capsys, mail(sender=sender))
    assert data["decision"] == "icloud_rejected"
    assert data["fields"]["login_id"] == "taro_sample77"
    assert data["fields"]["phone"] == "09000001234"
    assert data["reply"]["template"] == "icloud_rejected"


def test_auto_submitted_to_secure_mailbox_is_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = check(tmp_path, capsys, mail(extra="Auto-Submitted: auto-replied\n"))
    assert data["mailbox"] == "secure_billing"
    assert data["decision"] == "ignored"
    assert data["fields"] == {}
    assert data["missing"] == []
    assert data["reply"] is None
    assert data["screening"]


def test_auto_reply_to_info_is_unknown_mailbox(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = check(tmp_path, capsys, mail(to="info@cc.example.jp", extra="Auto-Submitted: auto-replied\n"))
    assert data["decision"] == "unknown_mailbox"  # the first row of the verdict table wins


def test_check_reads_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(mail())))
    assert run(["check", "-", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["decision"] == "queued"


def test_check_text_form(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["check", write(tmp_path, mail())]) == 0
    out = capsys.readouterr().out
    assert out.startswith("queued  mailbox=secure_billing")


def test_parse_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = "電話番号:090-0000-1234\n\n2024/05/10 10:15、secure_x@example.jp のメッセージ:\n> 氏名は?\n"
    raw = mail(body=body, to="secure_jo1@cc.example.jp")
    raw = raw.replace(b"Content-Type: text/plain; charset=UTF-8", b"Content-Type: multipart/mixed")
    assert run(["parse", write(tmp_path, raw), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["subject"] == "ログインできません"
    assert "090-0000-1234" in data["text"]
    assert "> 氏名は?" in data["quoted"]
    assert data["defects"]  # no boundary
    assert data["parts"][0]["content_type"] == "multipart/mixed"
    assert {"path", "content_type", "charset", "transfer_encoding", "how", "size", "attachment"} <= set(
        data["parts"][0]
    )
    assert data["return_path"] == "taro-bounces@example.jp"


def test_parse_json_clean_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["parse", write(tmp_path, mail()), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["defects"] == []
    assert data["quoted"] == ""
    assert [part["how"] for part in data["parts"]] == ["utf-8"]
    assert data["text_source"] == "text/plain"


@pytest.mark.parametrize(
    "argv",
    [[], ["check"], ["check", "a.eml", "--bogus"], ["frobnicate"], ["parse", "/nonexistent/x.eml"]],
)
def test_bad_usage_one_line_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1


def test_reply_japanese(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = JA_BODY.replace("ログインID:taro_sample77\n", "")
    assert run(["check", write(tmp_path, mail(body=body)), "--reply", "-"]) == 0
    out = capsys.readouterr().out
    head, _, text = out.partition("\n\n")
    assert "To: taro-bounces@example.jp" in head.splitlines()
    assert "From: 決済サポート窓口 <secure_billing@cc.example.jp>" in head.splitlines()
    assert any(line.startswith("Subject: ") for line in head.splitlines())
    assert "ログインID" in text
    assert "お問い合わせ" in text
    assert "taro_sample77" not in out


def test_reply_english(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = mail(body=EN_BODY, subject="Cannot log in")
    assert run(["check", write(tmp_path, raw), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["language"] == "en"
    assert run(["check", write(tmp_path, raw), "--reply", "-"]) == 0
    out = capsys.readouterr().out
    head, _, text = out.partition("\n\n")
    assert "To: taro-bounces@example.jp" in head.splitlines()
    assert any(line.startswith("Subject: ") for line in head.splitlines())
    assert "login" in text.lower() or "log in" in text.lower()
    assert not any("\u3040" <= char <= "\u30ff" for char in text)  # no kana in the English reply


def test_reply_written_to_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "reply.txt"
    assert run(["check", write(tmp_path, mail()), "--json", "--reply", str(target)]) == 0
    assert json.loads(capsys.readouterr().out)["decision"] == "queued"
    assert target.read_text(encoding="utf-8").startswith("To: taro-bounces@example.jp")
