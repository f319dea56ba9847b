"""Every failure a new operator met (issue 10 item 6), run as a user runs it: a `triage` process
in a scratch directory. Each ends with one line on stderr saying what to do next, the documented
exit code, and no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from triage.cli.common import EXIT_DATABASE, EXIT_LISTEN, EXIT_PIPE, EXIT_USAGE

COMPLETE = (
    b"From: taro@example.jp\nTo: secure_lunasea@example.jp\nSubject: help\n"
    b"Message-ID: <e1@example.jp>\n\nlogin fails\n"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def run(cwd: Path, *args: str, stdin: bytes = b"", **env: str) -> subprocess.CompletedProcess[str]:
    base = {name: value for name, value in os.environ.items() if not name.startswith("TRIAGE_")}
    return subprocess.run(
        [sys.executable, "-m", "triage", *args],
        input=stdin.decode(),
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**base, **env},
        timeout=120,
        check=False,
    )


def one_line(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    """The single stderr line of a failed command; it holds every needle."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert result.returncode == code, (result.returncode, result.stderr)
    assert lines[0].startswith("triage"), lines
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def test_smtp_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run(tmp_path, "serve", "--smtp", f"127.0.0.1:{port}")
    # serve's own start-up log lines come first; the error is the last line.
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == EXIT_LISTEN, result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith("triage: cannot listen for SMTP on 127.0.0.1:"), last
    assert "in use" in last
    assert "--smtp HOST:PORT or TRIAGE_SMTP_LISTEN" in last


def test_web_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run(tmp_path, "serve", "--only", "web", "--web", f"127.0.0.1:{port}")
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == EXIT_LISTEN, result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith(f"triage: the staff web UI cannot listen on 127.0.0.1:{port}"), last
    assert "--web HOST:PORT or TRIAGE_WEB_LISTEN" in last


@pytest.mark.parametrize("value", ["127.0.0.1:99999", "127.0.0.1:65536"])
def test_smtp_port_out_of_range_on_the_command_line(tmp_path: Path, value: str) -> None:
    one_line(run(tmp_path, "serve", "--smtp", value), EXIT_USAGE, "out of range", "--smtp")
    assert not (tmp_path / "triage.db").exists()


def test_smtp_port_out_of_range_in_the_environment(tmp_path: Path) -> None:
    result = run(tmp_path, "serve", TRIAGE_SMTP_LISTEN="127.0.0.1:70000")
    one_line(result, EXIT_USAGE, "TRIAGE_SMTP_LISTEN", "out of range")


def test_reply_to_a_folder(tmp_path: Path) -> None:
    result = run(tmp_path, "check", "-", "--reply", str(tmp_path), stdin=COMPLETE)
    one_line(result, EXIT_USAGE, f"--reply {tmp_path}", "- for standard output")


@pytest.mark.parametrize("buffered", [True, False])
def test_a_closed_pipe_stops_quietly(tmp_path: Path, buffered: bool) -> None:
    assert run(tmp_path, "db", "upgrade").returncode == 0
    base = {name: value for name, value in os.environ.items() if not name.startswith("TRIAGE_")}
    base.pop("PYTHONUNBUFFERED", None)
    if not buffered:  # each print reaches the pipe at once
        base["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-m", "triage", "queue", "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=base,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # like `| head -0`: the reader is gone before the first line
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == EXIT_PIPE, stderr
    assert stderr == ""


@pytest.mark.parametrize(
    "command",
    [
        ["queue", "list"],
        ["inbound", "list"],
        ["outbox", "list", "--json"],
        ["case", "show", "1"],
        ["inbound", "retry", "1"],
        ["staff", "list"],
    ],
)
def test_a_database_command_without_a_database_creates_none(tmp_path: Path, command: list[str]) -> None:
    result = run(tmp_path, *command)
    one_line(result, EXIT_DATABASE, "no database at sqlite:///triage.db", "run `triage db upgrade` first")
    assert list(tmp_path.iterdir()) == []


def test_an_empty_sqlite_file_is_not_migrated(tmp_path: Path) -> None:
    (tmp_path / "triage.db").write_bytes(b"")
    result = run(tmp_path, "queue", "list")
    one_line(result, EXIT_DATABASE, "has no triage tables", "run `triage db upgrade` first")


def test_an_unreachable_postgresql_names_the_url_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://desk:s3cret-pw@127.0.0.1:{free_port()}/triage"
    for command in (["queue", "list"], ["db", "upgrade"], ["ingest", str(tmp_path)]):
        line = one_line(
            run(tmp_path, *command, TRIAGE_DATABASE_URL=url),
            EXIT_DATABASE,
            "postgresql+psycopg://desk:***@127.0.0.1:",
            "TRIAGE_DATABASE_URL",
        )
        assert "s3cret" not in line


def test_a_sqlite_file_in_a_missing_folder(tmp_path: Path) -> None:
    result = run(tmp_path, "db", "upgrade", TRIAGE_DATABASE_URL="sqlite:///no/such/folder/triage.db")
    one_line(result, EXIT_DATABASE, "sqlite:///no/such/folder/triage.db", "TRIAGE_DATABASE_URL")


def test_a_bad_setting(tmp_path: Path) -> None:
    one_line(run(tmp_path, "queue", "list", TRIAGE_LOG_FORMAT="xml"), EXIT_USAGE, "TRIAGE_LOG_FORMAT")


def test_version(tmp_path: Path) -> None:
    from triage import __version__

    result = run(tmp_path, "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"triage {__version__}"
