"""`triage doctor` against a real database (SQLite and PostgreSQL) and a real relay on loopback
(aiosmtpd, with and without STARTTLS): what it finds, what it says to fix, its exit code."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from triage.cli import main
from triage.config import Settings
from triage.doctor import Finding, check_database, check_disk, check_relay, run_checks

pytestmark = pytest.mark.usefixtures("plain_environment")

ROOT = Path(__file__).resolve().parents[1]
TODAY = dt.date(2026, 12, 7)


class Accepting:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def relay() -> Iterator[int]:
    """A plain relay on 127.0.0.1 (no STARTTLS)."""
    controller = Controller(Accepting(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "relay.pem", folder / "relay.key"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_relay(certificate: tuple[Path, Path]) -> Iterator[int]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    controller = Controller(
        Accepting(), hostname="127.0.0.1", port=free_port(), tls_context=context, require_starttls=True
    )
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


def by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {finding.check: finding for finding in findings}


def test_a_ready_installation(migrated_db_url: str, relay: int) -> None:
    settings = Settings(database_url=migrated_db_url, relay=("127.0.0.1", relay), our_domain="cc.example.jp")
    found = by_check(run_checks(settings, today=TODAY, min_free_mb=1))
    assert {name: finding.status for name, finding in found.items()} == {
        "database": "ok",
        "migrations": "ok",
        "durability": "ok",
        "relay": "ok",
        "starttls": "ok",
        "rules": "ok",
        "message_id_domain": "ok",
        "disk": "ok",
    }
    durable = found["durability"].detail
    assert (
        durable == "SQLite journal_mode=wal, synchronous=full"
        if migrated_db_url.startswith("sqlite")
        else durable.startswith("PostgreSQL synchronous_commit=on, fsync=on")
    )


def test_a_missing_sqlite_file_is_reported_not_created(tmp_path: Path) -> None:
    file = tmp_path / "triage.db"
    (finding,) = check_database(Settings(database_url=f"sqlite:///{file}"))
    assert finding.status == "fail"
    assert "no database at" in finding.detail
    assert "triage db upgrade" in finding.fix
    assert not file.exists()


def test_a_database_not_migrated(db_url: str) -> None:
    if db_url.startswith("sqlite:///"):
        Path(db_url.removeprefix("sqlite:///")).touch()  # it exists, with no tables
    found = by_check(check_database(Settings(database_url=db_url)))
    assert found["migrations"].status == "fail"
    assert "triage db upgrade" in found["migrations"].fix


def test_an_unreachable_postgresql_names_the_url_masked() -> None:
    url = f"postgresql+psycopg://desk:pw-s3cret@127.0.0.1:{free_port()}/triage"
    (finding,) = check_database(Settings(database_url=url))
    assert finding.status == "fail"
    assert "desk:***@127.0.0.1" in finding.detail
    assert "pw-s3cret" not in finding.detail
    assert "TRIAGE_DATABASE_URL" in finding.fix


def test_no_relay_is_a_warning_an_unreachable_one_a_failure() -> None:
    (missing,) = check_relay(Settings())
    assert (missing.status, missing.fix) == ("warn", "set TRIAGE_RELAY=host:port")
    (down,) = check_relay(Settings(relay=("127.0.0.1", free_port())), timeout=5)
    assert down.status == "fail"
    assert "cannot be reached" in down.detail
    assert "TRIAGE_RELAY" in down.fix


def test_starttls_required_but_not_offered(relay: int) -> None:
    found = by_check(check_relay(Settings(relay=("127.0.0.1", relay), relay_starttls=True)))
    assert found["relay"].status == "ok"
    assert found["starttls"].status == "fail"
    assert "does not offer STARTTLS" in found["starttls"].detail


def test_starttls_offered_and_verified(tls_relay: int, certificate: tuple[Path, Path]) -> None:
    ca_file = str(certificate[0])
    settings = Settings(relay=("127.0.0.1", tls_relay), relay_starttls=True, relay_ca_file=ca_file)
    found = by_check(check_relay(settings))
    assert found["starttls"].status == "ok", found["starttls"]
    assert "verified" in found["starttls"].detail
    untrusted = by_check(check_relay(replace(settings, relay_ca_file="")))  # the system CAs do not know it
    assert untrusted["starttls"].status == "fail"
    assert "TRIAGE_RELAY_CA_FILE" in untrusted["starttls"].fix


def test_little_free_disk(tmp_path: Path) -> None:
    (finding,) = check_disk(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}"), min_free_mb=10**12)
    assert finding.status == "fail"
    assert str(tmp_path) in finding.detail


def test_the_command_says_what_to_fix_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    pack = rules / "secure_jo1.yaml"
    pack.write_text(pack.read_text(encoding="utf-8") + "\nrequire: [no_such_field]\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRIAGE_RULES_DIR", str(rules))
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("FAIL  database")
    assert any(line.startswith("FAIL  rules") and "secure_jo1.yaml" in line for line in out), out
    assert any(line.startswith("FAIL  message_id_domain") for line in out)
    assert any("fix: set TRIAGE_OUR_DOMAIN" in line for line in out)
    assert out[-1] == "3 to fix, 1 to look at"
    assert not (tmp_path / "triage.db").exists()


def test_the_json_form(
    migrated_db_url: str, relay: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIAGE_DATABASE_URL", migrated_db_url)
    monkeypatch.setenv("TRIAGE_RELAY", f"127.0.0.1:{relay}")
    monkeypatch.setenv("TRIAGE_OUR_DOMAIN", "cc.example.jp")
    assert main(["doctor", "--json", "--min-free-mb", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True
    assert [check["check"] for check in data["checks"]] == [
        "database",
        "migrations",
        "durability",
        "relay",
        "starttls",
        "rules",
        "message_id_domain",
        "disk",
    ]
    assert all(set(check) == {"check", "status", "detail", "fix"} for check in data["checks"])
