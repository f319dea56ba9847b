"""`triage check --explain`: the verdict with, per field, why the mail was read so (docs/explain.md).

The per-field part is built by :mod:`triage.engine.explain`; this module adds the verdict around it
and renders the short text form a support lead reads.
"""

from __future__ import annotations

from typing import Any

from triage.engine.explain import explain_fields
from triage.engine.spec import RuleSet
from triage.verdict import Verdict

EXPLAIN_VERSION = 1
_WIDTH = 24  # the field-name column of the text form
_MAX_LIST = 6  # labels and words shown per field in the text form


def explain_json(verdict: Verdict, rules: RuleSet) -> dict[str, Any]:
    extraction = verdict.extraction
    mailbox = verdict.route.mailbox
    pack = rules.packs.get(mailbox) if mailbox is not None else None
    return {
        "explain_version": EXPLAIN_VERSION,
        "mailbox": mailbox,
        "decision": verdict.decision.value,
        "reason": verdict.reason,
        "language": verdict.language,
        "text": verdict.mail.text,
        "missing": list(verdict.missing),
        "blocking_invalid": list(verdict.blocking_invalid),
        "fields": (
            explain_fields(extraction, rules, pack, language=verdict.language)
            if extraction is not None
            else []
        ),
        "timeouts": list(extraction.timeouts) if extraction is not None else [],
    }


def _spans(spans: list[list[int]]) -> str:
    return ",".join(f"{start}-{end}" for start, end in spans) or "-"


def _value(item: dict[str, Any]) -> str:
    shown = (
        f"{item['written']}"
        if item["written"] == str(item["value"])
        else f"{item['written']} -> {item['value']}"
    )
    cue = f" 「{item['cue']}」" if item["cue"] else ""
    return f"{shown}   ({item['source']}{cue}, line {item['line']}, chars {_spans(item['spans'])})"


def _short(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_LIST])
    return shown + (f", … (+{len(items) - _MAX_LIST})" if len(items) > _MAX_LIST else "")


def _looked_for(looked: dict[str, Any]) -> list[str]:
    lines = []
    if looked["labels"]:
        lines.append(f"labels: {_short(looked['labels'])}")
    if looked["terms"]:
        lines.append("label words: " + " + ".join("|".join(group) for group in looked["terms"]))
    ways = [
        name
        for name, on in (
            ("its shape after a cue", looked["shape"]),
            (f"statement patterns ({looked['statements']})", looked["statements"]),
            ("anywhere in the text", looked["anywhere"]),
            (f"derived from {looked['derived_from']}", looked["derived_from"]),
        )
        if on
    ]
    if ways:
        lines.append("also: " + ", ".join(ways))
    return lines


def _field_lines(item: dict[str, Any]) -> list[str]:
    name = item["field"] + (" *" if item["required"] else "")
    pad = " " * (_WIDTH + 2)
    if item["chosen"]:
        lines = [f"  {name:<{_WIDTH}}" + f"\n{pad}".join(_value(chosen) for chosen in item["chosen"])]
    else:
        lines = [f"  {name:<{_WIDTH}}({item['status'].replace('_', ' ')})"]
    for bad in item["invalid"]:
        lines.append(f"{pad}invalid: {bad['written']} (line {bad['line']}) - {bad['reason']}")
    for seen in item["candidates"]:
        if seen["outcome"] == "invalid" or (seen["outcome"] == "chosen" and len(item["candidates"]) == 1):
            continue  # the lines above say it already
        where = f"({seen['source']}, line {seen['line']})"
        lines.append(f"{pad}{seen['outcome']:<13} {seen['written']}  {where} {seen['why']}")
    if item["looked_for"] is not None and not item["chosen"]:
        lines.extend(f"{pad}looked for {line}" for line in _looked_for(item["looked_for"]))
    return lines


def render_text(data: dict[str, Any]) -> str:
    """The text form: a header, then one block per field (`*` marks a required field)."""
    lines = [
        f"{data['decision']}  mailbox={data['mailbox'] or '-'}  language={data['language']}",
        f"  reason: {data['reason']}",
    ]
    for item in data["fields"]:
        lines.extend(_field_lines(item))
    lines.extend(f"  pattern timeout: {name}" for name in data["timeouts"])
    return "\n".join(lines) + "\n"
