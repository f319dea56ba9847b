"""`triage check --reply -` shows the whole reply; the README shows two of them exactly as printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.cli import main
from triage.outbound.wrap import MAX_COLUMNS, width

ROOT = Path(__file__).resolve().parents[2]

JA_MAIL = (
    "From: hanako@example.jp\nTo: secure_jo1@cc.example.jp\nSubject: ログインできません\n"
    "Message-ID: <a1@example.jp>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: 8bit\n\n"
    "会費を払ったのにログインできません。\n・氏名(漢字):佐藤 花子\n・氏名(カナ):サトウ ハナコ\n"
    "・ご設定のニックネーム:はなこ\n・ご生年月日(西暦表記8桁):19920304\n・お電話番号:090-0000-1212\n"
    "・ご登録のコース:月会費コース\n・会費のお支払い方法:キャリア決済\n"
    "・キャリア決済の場合:au 090-0000-1212\n"
).encode()
EN_MAIL = (
    "From: ken@example.com\nTo: secure_produce101shinsekai@cc.example.jp\n"
    "Subject: Cannot reset my password\nMessage-ID: <a2@example.com>\nMIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=utf-8\n\n"
    "Hello, I cannot reset my password and the reset e-mail never arrives.\nName (kanji): 田中 健\n"
    "Name (katakana): タナカ ケン\nNickname: ken\nDate of birth: March 5, 1995\nPrefecture: Osaka\n"
    "Phone: 080-0000-3434\nEmail: ken@example,com\nPayment: credit card\nPlus member ID: E1234\nThank you.\n"
).encode()


def reply_of(tmp_path: Path, raw: bytes, capsys: pytest.CaptureFixture[str]) -> str:
    mail = tmp_path / "mail.eml"
    mail.write_bytes(raw)
    assert main(["check", str(mail), "--reply", "-"]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(("raw", "language"), [(JA_MAIL, "ja"), (EN_MAIL, "en")])
def test_check_shows_the_whole_reply_and_the_readme_shows_it_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], raw: bytes, language: str
) -> None:
    out = reply_of(tmp_path, raw, capsys)
    head, _, body = out.partition("\n\n")
    lines = head.splitlines()
    assert lines[0].startswith("To: ")
    assert lines[1].endswith("cc.example.jp>")  # "Desk name <mailbox>"
    marker = (
        "受付番号：（受付時に決まります）"
        if language == "ja"
        else "Reference: (given when the mail is stored)"
    )
    assert marker in body.splitlines()[:5]
    assert all(width(line) <= MAX_COLUMNS for line in body.splitlines())
    assert "-- " in body.splitlines()
    assert f"```text\n{out}```" in (ROOT / "README.md").read_text(encoding="utf-8")
