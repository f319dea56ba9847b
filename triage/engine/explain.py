"""Why a mail was read so: per field, the candidates seen, the one chosen, or what was looked for.

Plain dicts with stable keys (docs/explain.schema.json), built from an :class:`Extraction` and the
rule pack; `triage check --explain` prints them (triage/explaining.py renders the text form).
Values are shown in full, as `triage check` shows them: it is a local tool run on a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from triage.engine.result import Considered, Extraction, Found, Invalid
from triage.engine.spec import CARRIER_ID, CARRIER_ID_FIELDS, FieldDef, MailboxPack, Requirement, RuleSet
from triage.engine.text import Span


def spans_json(spans: Iterable[Span]) -> list[list[int]]:
    return [[start, end] for start, end in spans]


def _concrete(name: str, extraction: Extraction) -> list[str]:
    """The real field behind a pack's name: the carrier id is the known carrier's, else none.

    While the carrier is unknown, it is `carrier` that is missing (requirements.py), not an id.
    """
    if name != CARRIER_ID:
        return [name]
    carrier = extraction.value("carrier")
    return [CARRIER_ID_FIELDS[carrier]] if isinstance(carrier, str) and carrier in CARRIER_ID_FIELDS else []


def _applies(requirement: Requirement, extraction: Extraction) -> bool:
    if requirement.kind != "when":
        return True
    return extraction.value(requirement.when_field or "") == requirement.when_value


def field_order(
    pack: MailboxPack | None, rules: RuleSet, extraction: Extraction
) -> tuple[list[str], set[str]]:
    """(every field to explain in order, the fields the pack requires).

    A field is required when a requirement that applies to this mail names it (an "A or B" names
    both). The pack's FAQ order (else its requirements, then its optional fields), then any other field the
    mail gave or the resolver looked at, in the rules' order.
    """
    names: list[str] = []
    required: set[str] = set()
    if pack is not None:
        listed = pack.faq_order or tuple(
            name for requirement in pack.requires for name in requirement.fields
        ) + tuple(pack.optional)
        for name in listed:
            names.extend(_concrete(name, extraction))
        for requirement in pack.requires:
            if not _applies(requirement, extraction):
                continue
            for name in requirement.fields:
                required.update(_concrete(name, extraction))
    seen = (
        set(extraction.found)
        | {item.field for item in extraction.invalid}
        | {item.field for item in extraction.considered}
    )
    names.extend(key for key in rules.fields if key in seen)
    names.extend(sorted(seen - set(rules.fields)))
    return list(dict.fromkeys(names)), required


def _chosen(item: Found) -> dict[str, Any]:
    return {
        "value": item.value,
        "written": item.written,
        "source": item.source,
        "cue": item.cue,
        "line": item.line,
        "spans": spans_json(item.spans),
        "suggestion": item.suggestion,
    }


def _invalid(item: Invalid, language: str) -> dict[str, Any]:
    return {
        "written": item.written,
        "reason": item.reason_en if language == "en" else item.reason_ja,
        "source": item.source,
        "line": item.line,
        "spans": spans_json(item.spans),
        "suggestion": item.suggestion,
    }


def _candidate(item: Considered) -> dict[str, Any]:
    return {
        "written": item.written,
        "source": item.source,
        "cue": item.cue,
        "line": item.line,
        "spans": spans_json(item.spans),
        "outcome": item.outcome,
        "why": item.why,
    }


def looked_for(definition: FieldDef | None, pack: MailboxPack | None) -> dict[str, Any] | None:
    """What the rules have the reader look for, for a field that gave no valid value."""
    if definition is None:
        return None
    extra = pack.labels.get(definition.key, ()) if pack is not None else ()
    return {
        "labels": list(dict.fromkeys((*extra, *definition.labels))),
        "terms": [list(group) for group in definition.terms],
        "not_terms": list(definition.not_terms),
        "shape": definition.shape is not None,
        "statements": len(definition.prose),
        "anywhere": definition.scan_anywhere,
        "derived_from": definition.derive_from,
    }


def _status(found: Sequence[Found], invalid: Sequence[Invalid]) -> str:
    if invalid:
        return "invalid"
    return "found" if found else "not_found"


def explain_fields(
    extraction: Extraction, rules: RuleSet, pack: MailboxPack | None, *, language: str
) -> list[dict[str, Any]]:
    """One entry per field, in the pack's order (docs/explain.md)."""
    names, required = field_order(pack, rules, extraction)
    out: list[dict[str, Any]] = []
    for name in names:
        definition = rules.fields.get(name)
        found = extraction.found.get(name, [])
        invalid = [item for item in extraction.invalid if item.field == name]
        out.append(
            {
                "field": name,
                "required": name in required,
                "sensitive": definition.sensitive if definition is not None else False,
                "status": _status(found, invalid),
                "chosen": [_chosen(item) for item in found],
                "invalid": [_invalid(item, language) for item in invalid],
                "candidates": [_candidate(item) for item in extraction.considered if item.field == name],
                "looked_for": None if found else looked_for(definition, pack),
            }
        )
    return out
