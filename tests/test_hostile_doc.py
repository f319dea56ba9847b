"""docs/hostile-input.md stays true: a row for every item of security.md §1 (1-32), and every test
it names exists."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "hostile-input.md"


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
    }


def _references() -> list[tuple[str, str, str]]:
    """(row number, file, test) for every `file::test` or `::test` (same file as before) in a row."""
    found = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) < 5 or not (cells[1].isdigit() or cells[1] == "—"):
            continue
        current = ""
        for chunk in cells[4].split("`"):
            if "::test_" not in chunk:
                continue
            file, _, test = chunk.partition("::")
            current = file or current
            found.append((cells[1], current, test))
    return found


def test_every_item_of_security_md_has_a_row() -> None:
    rows = {number for number, _, _ in _references()}
    assert {str(item) for item in range(1, 33)} <= rows


def test_every_named_test_exists() -> None:
    missing = []
    for number, file, test in _references():
        path = ROOT / file
        if not path.exists():
            missing.append(f"item {number}: no file {file}")
            continue
        if test not in _tests_in(path):
            missing.append(f"item {number}: no {file}::{test}")
    assert missing == []
