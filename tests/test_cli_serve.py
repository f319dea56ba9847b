"""`triage serve` start-up output (issue 10 item 8): what listens where and which database
(password masked), in the one log format chosen, with no Alembic INFO lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

PASSWORD = "pw-s3cret"  # PostgreSQL on loopback trusts the test user: the password is never asked


@pytest.mark.db
def test_serve_says_what_listens_where_in_json(db_url: str, tmp_path: Path) -> None:
    url = make_url(db_url)
    if url.get_backend_name() == "postgresql":
        url = url.set(password=PASSWORD)
    env = {name: value for name, value in os.environ.items() if not name.startswith("TRIAGE_")}
    env["TRIAGE_DATABASE_URL"] = url.render_as_string(hide_password=False)
    process = subprocess.Popen(
        [sys.executable, "-m", "triage", "serve", "--smtp", "127.0.0.1:0", "--log-format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    lines: list[str] = []
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("Ctrl-C stops" in line for line in lines):
            line = process.stderr.readline()
            if not line:
                break
            lines.append(line)
        process.send_signal(signal.SIGTERM)
        out, rest = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    lines += rest.splitlines()
    assert process.returncode == 0, lines
    assert out == ""
    records = [json.loads(line) for line in lines if line.strip()]  # every line is one JSON object
    messages = [record["message"] for record in records]
    assert not any(record["logger"].startswith("alembic") for record in records), messages
    (database,) = [message for message in messages if message.endswith(" is at the latest migration")]
    host = f"@{url.host}:{url.port}/{url.database}" if url.host else f"{url.database}"
    assert database.startswith(f"database {url.drivername}://") and host in database, database
    if url.password:
        assert f"{url.username}:***" in database  # masked (the log's filter may mask it further)
    assert any(message.startswith("SMTP ingress on 127.0.0.1:") for message in messages), messages
    assert "stopped" in messages
    assert PASSWORD not in "".join(lines)
