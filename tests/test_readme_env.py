"""The README documents every TRIAGE_* variable triage/config.py reads, and every exit code of the
CLI (issue 10 items 6 and 8). Both lists come from the code: the variable names are the string
constants of triage/config.py, the exit codes the EXIT_* constants of triage/cli/common.py."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from triage.cli import common

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CONFIG = ROOT / "triage" / "config.py"
# Plain `re`: these read our own README and source, not member text (and a textmatch pattern
# compiled here would join the patterns tests/test_bounded_patterns.py makes give up).
VARIABLE = re.compile(r"TRIAGE_[A-Z0-9_]+")
DOCUMENTED = re.compile(r"`(TRIAGE_[A-Z0-9_]+)`")


def variables_read_by_config() -> dict[str, int]:
    """Every TRIAGE_* string constant in triage/config.py, with its line."""
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(CONFIG.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and VARIABLE.fullmatch(node.value):
            found.setdefault(node.value, node.lineno)
    return found


def readme_table_rows() -> list[str]:
    return [line for line in README.read_text(encoding="utf-8").splitlines() if line.startswith("|")]


def variables_in_readme_tables() -> set[str]:
    return {name for row in readme_table_rows() for name in DOCUMENTED.findall(row)}


def test_the_scan_finds_the_settings() -> None:
    read = variables_read_by_config()
    assert {"TRIAGE_DATABASE_URL", "TRIAGE_RULES_DIR", "TRIAGE_LOG_FORMAT"} <= set(read)
    assert len(read) >= 30


def test_every_variable_is_documented_in_a_readme_table() -> None:
    documented = variables_in_readme_tables()
    missing = [
        f"{name} (triage/config.py line {line}) is not in any README table: add a row "
        f"'| `{name}` | default | meaning |' to the table under '## Configuration'"
        for name, line in sorted(variables_read_by_config().items())
        if name not in documented
    ]
    assert not missing, "\n".join(missing)


def test_the_readme_documents_no_variable_that_is_not_read() -> None:
    read = variables_read_by_config()
    stale = sorted(name for name in variables_in_readme_tables() if name not in read)
    assert not stale, f"in a README table but not read by triage/config.py (remove or fix): {stale}"


def test_every_exit_code_is_in_the_readme_table() -> None:
    codes = {name: value for name, value in vars(common).items() if name.startswith("EXIT_")}
    assert {"EXIT_OK", "EXIT_USAGE", "EXIT_DATABASE", "EXIT_PIPE"} <= set(codes)
    rows = {row.split("|")[1].strip() for row in readme_table_rows() if row.count("|") >= 3}
    missing = sorted(f"{name} = {value}" for name, value in codes.items() if str(value) not in rows)
    assert not missing, f"exit codes not in the README's 'Exit codes' table: {missing}"
