"""Encryption at rest (triage/crypto.py, triage/rekey.py) on SQLite and PostgreSQL.

Mails with known personal values go through the real pipeline (`triage ingest`); the database is
then read below the models (raw SQL, and on SQLite the file itself) for those values.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from privacykit import KENTA, MIZUHO, byte_leaks, mail
from sqlalchemy.engine import make_url

from triage import crypto
from triage.cli import main
from triage.config import Settings
from triage.db.engine import make_engine, session_factory
from triage.errors import ConfigError
from triage.rekey import sealed_columns
from triage.web.search import find_cases

pytestmark = pytest.mark.usefixtures("plain_environment")

KEY_A = crypto.new_key()
KEY_B = crypto.new_key()
# Where the member's own address is kept plain: the look-up keys of follow-ups and rate limits.
ADDRESS_COLUMNS = {("cases", "sender"), ("inbound_messages", "mail_from"), ("outbound_messages", "to_addr")}


def run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def secret_values() -> list[str]:
    """Every personal value of both members except their sender addresses (kept plain)."""
    return [value for member in (MIZUHO, KENTA) for value in member.personal() if value not in member.sender]


@pytest.fixture
def desk(migrated_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("TRIAGE_DATABASE_URL", migrated_db_url)
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "1.eml").write_bytes(mail(MIZUHO, "m1@example.jp"))
    (folder / "2.eml").write_bytes(mail(KENTA, "k1@example.jp", birth=False))
    yield str(folder)


def ingest(folder: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["ingest", folder]) == 0
    capsys.readouterr()


def stored_cells(url: str) -> Iterator[tuple[str, str, bytes]]:
    """(table, column, the cell's bytes as the database gives them), below every model type."""
    engine = make_engine(url)
    try:
        tables = sa.inspect(engine).get_table_names()
        with engine.connect() as connection:
            for table in tables:
                result = connection.exec_driver_sql(f'SELECT * FROM "{table}"')
                names = list(result.keys())
                for row in result:
                    for name, cell in zip(names, row, strict=True):
                        yield table, name, _as_bytes(cell)
    finally:
        engine.dispose()


def _as_bytes(cell: Any) -> bytes:
    if cell is None:
        return b""
    if isinstance(cell, bytes | memoryview | bytearray):
        return bytes(cell)
    if isinstance(cell, str):
        return cell.encode("utf-8")
    return json.dumps(cell, ensure_ascii=False, default=str).encode("utf-8")


def leaks_in_database(url: str) -> list[str]:
    return [
        f"{table}.{column}: {value}"
        for table, column, data in stored_cells(url)
        for value in byte_leaks(data, secret_values())
    ]


def case_show(capsys: pytest.CaptureFixture[str], case_id: int = 1) -> tuple[int, str, str]:
    code = run(["case", "show", str(case_id), "--reveal", "--json"])
    out, err = capsys.readouterr()
    return code, out, err


def sealed_key_ids(url: str) -> set[str]:
    """The key ids of every sealed cell ('plain' for a non-empty cell of a sealed column left plain)."""
    sealed = {(column.table.name, column.name) for column in sealed_columns()}
    found = set()
    for table, column, data in stored_cells(url):
        if (table, column) not in sealed or data in (b"", b"null"):
            continue
        stored: Any = data if column == "raw" else _json_or_text(data.decode())
        key = crypto.sealed_key_id(stored)
        found.add(key.hex() if key else "plain")
    return found


def _json_or_text(text: str) -> Any:
    """A JSON cell as SQLite gives it (JSON text) or as psycopg does (already decoded)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


# -- round trip, nothing plain -------------------------------------------------------------------


@pytest.mark.db
def test_sealed_values_read_back_and_are_not_on_disk(
    desk: str, migrated_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRIAGE_ENCRYPTION_KEYS", KEY_A)
    ingest(desk, capsys)
    code, out, err = case_show(capsys)
    assert code == 0, err
    values = {item["field"]: item["value"] for item in json.loads(out)["fields"]}
    assert values["name_kanji"] == MIZUHO.name
    assert values["birth_date"] == "19940723"
    assert values["phone"] == "08044172986"
    assert values["docomo_payment_number"] == MIZUHO.payment
    assert values["emails"] == MIZUHO.registered or values["emails"] == [MIZUHO.registered]

    assert leaks_in_database(migrated_db_url) == []
    assert sealed_key_ids(migrated_db_url) == {crypto.key_id(crypto.parse_keys(KEY_A)[0]).hex()}
    # The sender address is kept plain, and only where it is a look-up key.
    holders = {
        (table, column)
        for table, column, data in stored_cells(migrated_db_url)
        if MIZUHO.sender.split("@")[0].encode() in data
    }
    assert ("cases", "sender") in holders
    assert holders <= ADDRESS_COLUMNS
    if make_url(migrated_db_url).get_backend_name() == "sqlite":
        database = Path(str(make_url(migrated_db_url).database))
        files = [path for path in database.parent.iterdir() if path.name.startswith(database.name)]
        assert files
        on_disk = b"".join(path.read_bytes() for path in files)
        assert byte_leaks(on_disk, secret_values()) == []


@pytest.mark.db
def test_without_keys_values_are_stored_plain_as_before(
    desk: str, migrated_db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest(desk, capsys)
    assert case_show(capsys)[0] == 0
    # The scan above is not blind: without keys it finds every value.
    found = leaks_in_database(migrated_db_url)
    assert any(MIZUHO.name in line for line in found)
    assert any(MIZUHO.payment in line for line in found)
    assert sealed_key_ids(migrated_db_url) == {"plain"}


# -- rotation ---------------------------------------------------------------------------------


@pytest.mark.db
def test_rotation_reseals_under_the_newest_key_and_the_old_key_is_then_not_needed(
    desk: str, migrated_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key_a, key_b = (crypto.key_id(crypto.parse_keys(key)[0]).hex() for key in (KEY_A, KEY_B))
    monkeypatch.setenv("TRIAGE_ENCRYPTION_KEYS", KEY_A)
    ingest(desk, capsys)

    monkeypatch.setenv("TRIAGE_ENCRYPTION_KEYS", f"{KEY_B},{KEY_A}")
    assert case_show(capsys)[0] == 0  # B in front: A's values still open
    assert run(["keys", "rotate", "--dry-run", "--json"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["dry_run"] and sum(column["resealed"] for column in dry["columns"]) > 0
    assert sealed_key_ids(migrated_db_url) == {key_a}  # a dry run changes nothing

    assert run(["keys", "rotate", "--json"]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["key"] == key_b
    assert "inbound_messages.raw 2/2" in err  # progress, on standard error
    raw = next(column for column in report["columns"] if column["column"] == "inbound_messages.raw")
    assert raw == {
        "column": "inbound_messages.raw",
        "rows": 2,
        "current": 0,
        "resealed": 2,
        "plain": 0,
        "empty": 0,
        "by_key": {key_a: 2},
    }
    assert sealed_key_ids(migrated_db_url) == {key_b}

    assert run(["keys", "rotate", "--json"]) == 0  # again: nothing left to do
    again = json.loads(capsys.readouterr().out)
    assert all(column["resealed"] == column["plain"] == 0 for column in again["columns"])

    monkeypatch.setenv("TRIAGE_ENCRYPTION_KEYS", KEY_B)
    code, out, _err = case_show(capsys)
    assert code == 0 and MIZUHO.name in out
    assert leaks_in_database(migrated_db_url) == []


@pytest.mark.db
def test_a_wrong_or_missing_key_is_one_clear_line(
    desk: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRIAGE_ENCRYPTION_KEYS", KEY_A)
    ingest(desk, capsys)
    monkeypatch.setenv("TRIAGE_ENCRYPTION_KEYS", KEY_B)
    code, out, err = case_show(capsys)
    key_a = crypto.key_id(crypto.parse_keys(KEY_A)[0]).hex()
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"is encrypted with key {key_a}, which TRIAGE_ENCRYPTION_KEYS does not hold" in err
    assert KEY_A not in err and KEY_B not in err

    monkeypatch.delenv("TRIAGE_ENCRYPTION_KEYS")
    code, out, err = case_show(capsys)
    assert (code, out) == (2, "")
    assert err == "triage: case_values.value is encrypted, but TRIAGE_ENCRYPTION_KEYS is not set\n"


@pytest.mark.db
def test_rows_stored_plain_before_keys_are_sealed_by_rotate(
    desk: str, migrated_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest(desk, capsys)
    monkeypatch.setenv("TRIAGE_ENCRYPTION_KEYS", KEY_A)
    assert case_show(capsys)[0] == 0  # plain rows read with keys set
    assert run(["keys", "rotate"]) == 0
    out = capsys.readouterr().out
    assert "inbound_messages.raw: 2 rows, 2 re-encrypted (2 were plain)" in out
    assert leaks_in_database(migrated_db_url) == []
    code, shown, _err = case_show(capsys)
    assert code == 0 and MIZUHO.payment in shown


@pytest.mark.db
def test_search_by_phone_and_address_finds_sealed_values(
    desk: str, migrated_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRIAGE_ENCRYPTION_KEYS", KEY_A)
    ingest(desk, capsys)
    engine = make_engine(migrated_db_url, keys=Settings.from_env().encryption_keys)
    try:
        with session_factory(engine)() as session:
            assert [case.id for case in find_cases(session, MIZUHO.phone)] == [1]
            assert [case.id for case in find_cases(session, KENTA.registered)] == [2]
            assert find_cases(session, "090-0000-0000") == []
    finally:
        engine.dispose()


# -- the codec and the key setting ------------------------------------------------------------


def test_plain_values_that_look_sealed_are_escaped_and_read_back() -> None:
    keyring = crypto.Keyring(crypto.parse_keys(KEY_A))
    for value in (b"\x00TE1 not sealed", b"\x00TP1 nor this", b"plain"):
        stored = crypto.encode_bytes(value, None, "t.c")
        assert crypto.decode_bytes(stored, None, "t.c") == value
        assert crypto.decode_bytes(stored, keyring, "t.c") == value
    for text in ("~te1~AAAA", "~tp1~x", "鷲尾"):
        assert crypto.decode_text(crypto.encode_text(text, None, "t.c"), None, "t.c") == text
        assert crypto.decode_json(crypto.encode_json(text, None, "t.c"), None, "t.c") == text
        assert crypto.decode_json(crypto.encode_json(text, keyring, "t.c"), keyring, "t.c") == text
    for other in ([1, "a"], 10, {"k": "v"}):
        assert crypto.decode_json(crypto.encode_json(other, keyring, "t.c"), keyring, "t.c") == other
    assert crypto.encode_bytes(b"", keyring, "t.c") == b""  # empty stays visibly empty
    assert crypto.encode_text("", keyring, "t.c") == ""


def test_a_value_moved_to_another_column_or_altered_does_not_open() -> None:
    keyring = crypto.Keyring(crypto.parse_keys(KEY_A))
    sealed = crypto.encode_bytes(b"secret", keyring, "inbound_messages.raw")
    with pytest.raises(crypto.DecryptError, match="does not open"):
        crypto.decode_bytes(sealed, keyring, "outbound_messages.raw")
    altered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(crypto.DecryptError, match="does not open"):
        crypto.decode_bytes(altered, keyring, "inbound_messages.raw")


def test_key_setting_errors_never_quote_a_key() -> None:
    short = KEY_A[:20]
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"TRIAGE_ENCRYPTION_KEYS": f"{KEY_B},{short}"})
    assert "key 2 is 15 bytes, not 32" in str(caught.value)
    assert short not in str(caught.value)
    with pytest.raises(ConfigError, match="key 1 is not URL-safe base64"):
        Settings.from_env({"TRIAGE_ENCRYPTION_KEYS": "not base64 !"})
    with pytest.raises(ConfigError, match="listed twice"):
        Settings.from_env({"TRIAGE_ENCRYPTION_KEYS": f"{KEY_A},{KEY_A}"})
    settings = Settings.from_env({"TRIAGE_ENCRYPTION_KEYS": f"{KEY_A}, {KEY_B}"})
    assert len(settings.encryption_keys) == 2
    assert KEY_A not in repr(settings) and "encryption_keys" not in repr(settings)
    assert KEY_A not in repr(crypto.Keyring(settings.encryption_keys))
