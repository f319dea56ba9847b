"""Hostile input through the CLI (security.md §1 items 11-20): an answer, never a traceback.

Each test must finish in a few seconds; speed targets themselves live in bench/, not here.
"""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path
from typing import Any

import pytest

from triage.cli import main

pytestmark = pytest.mark.slow

HEAD = (
    b"Return-Path: <taro@example.jp>\r\n"
    b"From: taro@example.jp\r\n"
    b"To: secure_jo1@cc.example.jp\r\n"
    b"Message-ID: <h1@example.jp>\r\n"
    b"MIME-Version: 1.0\r\n"
)


def run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def answer(path: Path, capsys: pytest.CaptureFixture[str], command: str = "check") -> tuple[int, Any]:
    """Exit 0 with one JSON object, or exit 2 with exactly one line on stderr."""
    code = run([command, str(path), "--json"])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    if code == 0:
        return code, json.loads(out)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    return code, err


def test_empty_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.eml"
    path.write_bytes(b"")
    code, err = answer(path, capsys)
    assert code == 2
    assert err.startswith("triage:")


def test_blank_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "blank.eml"
    path.write_bytes(b"\r\n\r\n  \r\n")
    assert answer(path, capsys)[0] == 2


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("command", ["check", "parse"])
def test_binary_garbage(tmp_path: Path, capsys: pytest.CaptureFixture[str], seed: int, command: str) -> None:
    rng = random.Random(seed)
    path = tmp_path / "garbage.eml"
    path.write_bytes(bytes(rng.randrange(256) for _ in range(64 * 1024)))
    code, data = answer(path, capsys, command)
    if code == 0 and command == "check":
        assert data["decision"] in {"unknown_mailbox", "ignored", "icloud_rejected", "needs_info", "queued"}


def test_garbage_with_headers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(42)
    path = tmp_path / "garbage.eml"
    path.write_bytes(HEAD + b"Subject: x\r\n\r\n" + bytes(rng.randrange(256) for _ in range(64 * 1024)))
    code, data = answer(path, capsys)
    assert code == 0
    assert data["mailbox"] == "secure_jo1"


def test_50mb_base64_body(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    payload = base64.encodebytes(b"\x00\x01binary" * (37 * 1024 * 1024 // 8)).replace(b"\n", b"\r\n")
    path = tmp_path / "big.eml"
    path.write_bytes(
        HEAD + b"Subject: big\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + payload
    )
    assert path.stat().st_size > 50 * 1024 * 1024
    code, data = answer(path, capsys)
    assert code == 0
    assert data["mailbox"] == "secure_jo1"


def test_50mb_text_body(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = "電話番号:090-0000-1234 ログインできません。\r\n".encode()
    path = tmp_path / "big.eml"
    path.write_bytes(
        HEAD + b"Subject: big\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + line * (50 * 1024 * 1024 // len(line) + 1)
    )
    code, data = answer(path, capsys)
    assert code == 0
    assert data["fields"]["phone"] == "09000001234"


def test_1000_deep_multipart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    depth = 1000
    parts = [HEAD + b"Subject: deep\r\n"]
    for level in range(depth):
        parts.append(f'Content-Type: multipart/mixed; boundary="b{level}"\r\n\r\n--b{level}\r\n'.encode())
    parts.append(b"Content-Type: text/plain\r\n\r\nPhone: 090-0000-1234\r\n")
    for level in reversed(range(depth)):
        parts.append(f"--b{level}--\r\n".encode())
    path = tmp_path / "deep.eml"
    path.write_bytes(b"".join(parts))
    for command in ("check", "parse"):
        code, _ = answer(path, capsys, command)
        assert code in (0, 2)


def test_10000_header_fields(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fields = b"".join(f"X-Filler-{index}: value {index}\r\n".encode() for index in range(10_000))
    path = tmp_path / "headers.eml"
    path.write_bytes(HEAD + fields + b"Subject: many\r\n\r\nPhone: 090-0000-1234\r\n")
    code, data = answer(path, capsys)
    assert code == 0
    assert data["decision"] in {"needs_info", "ignored", "unknown_mailbox", "queued", "icloud_rejected"}


def test_1mb_folded_subject(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    subject = b"Subject: " + b"\r\n ".join([b"=?UTF-8?B?44Ot44Kw44Kk44Oz?="] * (1024 * 1024 // 30))
    path = tmp_path / "subject.eml"
    path.write_bytes(HEAD + subject + b"\r\nContent-Type: text/plain\r\n\r\nPhone: 090-0000-1234\r\n")
    assert path.stat().st_size > 1024 * 1024
    assert answer(path, capsys)[0] == 0
    code, parsed = answer(path, capsys, "parse")
    assert code == 0
    assert any("HeaderSectionTruncated" in defect for defect in parsed["defects"])


def test_10000_flat_parts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    part = b"--flat\r\nContent-Type: text/plain\r\n\r\nPhone: 090-0000-1234\r\n"
    path = tmp_path / "flat.eml"
    path.write_bytes(
        HEAD
        + b'Subject: flat\r\nContent-Type: multipart/mixed; boundary="flat"\r\n\r\n'
        + part * 10_000
        + b"--flat--\r\n"
    )
    assert answer(path, capsys)[0] == 0
    code, parsed = answer(path, capsys, "parse")
    assert code == 0
    assert any("TooManyParts" in defect for defect in parsed["defects"])
    assert len(parsed["parts"]) <= 1000
