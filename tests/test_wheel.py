"""A wheel that works anywhere (issue 10 item 5): built from the sources, installed into a fresh
virtual environment, run from another directory with no TRIAGE_* variable set.

Offline: the wheel is built with this environment's setuptools (``--no-build-isolation``) and
installed with ``--no-deps --no-index``; the fresh environment sees the dependencies already
installed here through a ``.pth`` line (a plain path entry: the editable install's own ``.pth``
hook in that folder is not run, so ``import triage`` finds only the wheel's copy).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import site
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What the source tree copy leaves out: none of it is needed to build the wheel.
NOT_SOURCES = (".venv", ".git", "tests", "__pycache__", "*.egg-info", "build", "dist", "triage.db*", "bench")

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Installed:
    triage: Path
    python: Path
    workdir: Path
    env: dict[str, str]

    def run(self, *args: str, stdin: bytes = b"", timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.triage), *args],
            input=stdin.decode(),
            capture_output=True,
            text=True,
            cwd=self.workdir,
            env=self.env,
            timeout=timeout,
            check=False,
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("wheel")
    source = base / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCES))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    build = ["wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(base / "out")]
    subprocess.run(
        [*pip, *build, str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheels = list((base / "out").glob("triage-*.whl"))
    assert len(wheels) == 1, wheels
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "triage-test-deps.pth").write_text(site.getsitepackages()[0] + "\n", encoding="utf-8")
    subprocess.run(
        [*pip, "--python", str(python), "install", "--quiet", "--no-deps", "--no-index", str(wheels[0])],
        check=True,
        capture_output=True,
        timeout=300,
    )
    shutil.rmtree(source)  # nothing may be read from the sources any more
    workdir = base / "elsewhere"
    workdir.mkdir()
    env = {name: value for name, value in os.environ.items() if not name.startswith("TRIAGE_")}
    env.pop("PYTHONPATH", None)
    yield Installed(venv / "bin" / "triage", python, workdir, env)


def test_the_installed_package_reads_its_own_copies(installed: Installed) -> None:
    where = subprocess.run(
        [
            str(installed.python),
            "-c",
            "import triage, triage.config as c, triage.db.migrate as m;"
            "print(triage.__file__); print(c.Settings().rules_dir); print(c.Settings().replies_dir);"
            "print(m.MIGRATIONS_DIR)",
        ],
        capture_output=True,
        text=True,
        cwd=installed.workdir,
        env=installed.env,
        check=True,
    ).stdout.split()
    package = Path(where[0]).parent
    assert package.is_relative_to(installed.python.parent.parent), where
    for found, name in zip(where[1:], ("rules", "replies", "migrations"), strict=True):
        assert Path(found) == package / "_data" / name


def test_check_and_rules_lint_from_another_directory(installed: Installed) -> None:
    mail = b"From: taro@example.jp\nTo: secure_lunasea@example.jp\nSubject: help\n\nlogin fails\n"
    result = installed.run("check", "--json", "-", stdin=mail)
    assert result.returncode == 0, result.stderr
    assert '"mailbox": "secure_lunasea"' in result.stdout
    lint = installed.run("rules", "lint")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert lint.stdout.splitlines()[-1].startswith("ok: ")


def test_the_rules_dir_is_overridable(installed: Installed) -> None:
    env = {**installed.env, "TRIAGE_RULES_DIR": str(installed.workdir / "no-such-rules")}
    result = subprocess.run(
        [str(installed.triage), "rules", "lint"],
        capture_output=True,
        text=True,
        cwd=installed.workdir,
        env=env,
        check=False,
    )
    assert result.returncode != 0
    assert "no-such-rules" in result.stdout + result.stderr


def test_db_upgrade_then_serve_then_stop(installed: Installed) -> None:
    upgrade = installed.run("db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    assert (installed.workdir / "triage.db").is_file()
    assert "Traceback" not in upgrade.stderr
    doctor = installed.run("doctor", "--json", "--min-free-mb", "1")
    checks = {check["check"]: check["status"] for check in json.loads(doctor.stdout)["checks"]}
    assert checks["database"] == checks["migrations"] == checks["rules"] == "ok", doctor.stdout
    process = subprocess.Popen(
        [str(installed.triage), "serve", "--smtp", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=installed.workdir,
        env=installed.env,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 30
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C stops" in line:
                break
        assert any("SMTP ingress on 127.0.0.1:" in line for line in lines), lines
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = "".join(lines) + rest
    assert process.returncode == 0, output
    assert "stopped" in output
    assert "Traceback" not in output
