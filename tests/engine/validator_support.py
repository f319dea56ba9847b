"""Shared by the validator tests: a context and run/ok/bad helpers over VALIDATORS."""

from __future__ import annotations

import datetime

from triage.engine.fields import VALIDATORS, Bad, FieldContext, Ok, Result

CTX = FieldContext(
    today=datetime.date(2026, 11, 21),
    member_phone="09000007878",
    our_local_parts=frozenset({"secure_lunasea", "secure_jo1"}),
)


def run(name: str, value: str, ctx: FieldContext = CTX) -> Result:
    return VALIDATORS[name](value, ctx)


def ok(name: str, value: str, ctx: FieldContext = CTX) -> Ok:
    result = run(name, value, ctx)
    assert isinstance(result, Ok), (name, value, result)
    return result


def bad(name: str, value: str, ctx: FieldContext = CTX) -> Bad:
    result = run(name, value, ctx)
    assert isinstance(result, Bad), (name, value, result)
    assert result.reason_ja
    assert result.reason_en
    assert result.reason_ja.endswith("。")
    return result
