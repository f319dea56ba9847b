"""configure_logging: one stderr handler, time/level/logger format, and the masking net."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from triage.db.migrate import upgrade
from triage.errors import ConfigError
from triage.logsetup import MaskingFilter, configure_logging


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_record_is_written_with_time_level_and_logger(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    logging.getLogger("triage.example").info("inbound %d processed", 42)
    err = capsys.readouterr().err
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO triage\.example: inbound 42 processed\n", err
    )


def test_the_filter_masks_an_address_and_a_phone_number(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(logging.INFO)
    logging.getLogger("triage.example").warning(
        "reply to %s failed; member phone %s", "taro@example.jp", "090-1234-5678"
    )
    err = capsys.readouterr().err
    assert "taro@example.jp" not in err and "1234" not in err and "5678" not in err
    assert "reply to ta***@example.jp failed; member phone ***-****-****" in err


def test_the_filter_masks_exception_text_and_tracebacks(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(logging.INFO)
    try:
        raise ValueError("bad value 09012345678 from hanako@example.jp")
    except ValueError:
        logging.getLogger("triage.example").exception("processing failed")
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert "09012345678" not in err and "hanako@example.jp" not in err
    assert "ValueError: bad value *********** from ha***@example.jp" in err


def test_records_below_the_level_are_dropped(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("warning")
    logging.getLogger("triage.example").info("quiet")
    logging.getLogger("triage.example").warning("loud")
    err = capsys.readouterr().err
    assert "quiet" not in err and "loud" in err


def test_calling_again_replaces_the_handler(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(logging.INFO)
    configure_logging(logging.INFO)
    logging.getLogger("triage.example").info("once")
    assert capsys.readouterr().err.count("once") == 1


def test_the_handler_follows_sys_stderr_when_it_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    configure_logging(logging.INFO)
    later = io.StringIO()
    monkeypatch.setattr(sys, "stderr", later)
    logging.getLogger("triage.example").info("after")
    assert "after" in later.getvalue()


def test_unknown_level_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown log level"):
        configure_logging("LOUD")


def test_filter_on_a_record_with_a_bad_format_lets_logging_report_it() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d items", ("many",), None)
    assert MaskingFilter().filter(record) is True
    assert record.args == ("many",)


def test_json_format_is_one_masked_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(logging.INFO, "json")
    logging.getLogger("triage.example").info("reply to %s queued", "taro@example.jp")
    try:
        raise ValueError("bad value 09012345678\nsecond line")
    except ValueError:
        logging.getLogger("triage.example").exception("processing failed")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2  # the traceback stays inside its record's line
    first, second = (json.loads(line) for line in lines)
    assert set(first) == {"time", "level", "logger", "message"}
    assert (first["level"], first["logger"]) == ("INFO", "triage.example")
    assert first["message"] == "reply to ta***@example.jp queued"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", first["time"])
    assert second["message"] == "processing failed"
    assert "Traceback" in second["exception"] and "09012345678" not in second["exception"]


def test_unknown_format_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown log format 'xml'"):
        configure_logging(logging.INFO, "xml")


def test_alembic_info_lines_are_held_back_its_warnings_are_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(logging.INFO)
    upgrade(f"sqlite:///{tmp_path / 'triage.db'}")
    assert capsys.readouterr().err == ""  # no "Context impl", no "Running upgrade"
    logging.getLogger("alembic.runtime.migration").warning("something to see")
    assert "something to see" in capsys.readouterr().err
