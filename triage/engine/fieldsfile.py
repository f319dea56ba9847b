"""`rules/fields.yaml`: every field's validator, labels, label words, shapes, statements and
examples, and the file-wide lists (compounds, carrier-id labels, hedges, corrections, cues that
point below); each problem with its file and line (yamlrules.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from triage import textmatch
from triage.engine.fields import VALIDATORS
from triage.engine.spec import (
    CARRIER_ID,
    CARRIER_ID_FIELDS,
    CompoundDef,
    Example,
    FieldDef,
)
from triage.engine.yamlrules import YamlContext, compose_file, patterns_of, term_groups

_FIELD_KEYS = frozenset(
    {
        "validator",
        "labels",
        "prose",
        "shape",
        "list",
        "scan_anywhere",
        "sensitive",
        "infers_carrier",
        "derive_from",
        "examples",
        "terms",
        "not_terms",
        "hedges",
    }
)


def _example_value(node: yaml.Node) -> str | int | list[str] | None:
    if isinstance(node, yaml.SequenceNode):
        return [str(item.value) for item in node.value if isinstance(item, yaml.ScalarNode)]
    if isinstance(node, yaml.ScalarNode):
        if node.tag == "tag:yaml.org,2002:null" or node.value in ("", "~", "null"):
            return None
        if node.tag == "tag:yaml.org,2002:int":
            return int(node.value)
        return str(node.value)
    return None


def _load_examples(node: yaml.Node, ctx: YamlContext) -> list[Example]:
    if not isinstance(node, yaml.SequenceNode):
        ctx.fail(node, "examples must be a list of {text, value}")
        return []
    out = []
    for item in node.value:
        entries = ctx.mapping(item, "an example")
        if "text" not in entries or "value" not in entries:
            ctx.fail(item, "an example needs text and value (value: null for text that must not match)")
            continue
        text = ctx.string(entries["text"][1], "example text")
        if text is None:
            continue
        out.append(Example(text=text, value=_example_value(entries["value"][1]), where=ctx.where(item)))
    return out


def _load_field(key: str, node: yaml.Node, ctx: YamlContext) -> FieldDef | None:
    entries = ctx.mapping(node, f"field {key!r}")
    for name, (key_node, _) in entries.items():
        if name not in _FIELD_KEYS:
            ctx.fail(key_node, f"unknown key {name!r} in field {key!r}")
    if "validator" not in entries:
        ctx.fail(node, f"field {key!r} needs a validator")
        return None
    validator = ctx.string(entries["validator"][1], "validator")
    if validator is not None and validator not in VALIDATORS:
        ctx.fail(
            entries["validator"][1],
            f"unknown validator {validator!r} (known: {', '.join(sorted(VALIDATORS))})",
        )
    labels = (
        [label for label, _ in ctx.strings(entries["labels"][1], "labels")] if "labels" in entries else []
    )
    prose = []
    if "prose" in entries:
        for _, item in ctx.strings(entries["prose"][1], "prose"):
            compiled = ctx.pattern(item, f"prose pattern of {key!r}", needs_value=True)
            if compiled is not None:
                prose.append(compiled)
    shape = (
        ctx.pattern(entries["shape"][1], f"shape of {key!r}", needs_value=False)
        if "shape" in entries
        else None
    )
    carrier = (
        ctx.string(entries["infers_carrier"][1], "infers_carrier") if "infers_carrier" in entries else None
    )
    examples = _load_examples(entries["examples"][1], ctx) if "examples" in entries else []
    derive = ctx.string(entries["derive_from"][1], "derive_from") if "derive_from" in entries else None
    terms = term_groups(entries["terms"][1], ctx, key) if "terms" in entries else ()
    not_terms = (
        tuple(word for word, _ in ctx.strings(entries["not_terms"][1], "not_terms"))
        if "not_terms" in entries
        else ()
    )
    return FieldDef(
        key=key,
        validator=validator or "",
        labels=tuple(labels),
        prose=tuple(prose),
        shape=shape,
        is_list=ctx.boolean(entries["list"][1], "list") if "list" in entries else False,
        scan_anywhere=ctx.boolean(entries["scan_anywhere"][1], "scan_anywhere")
        if "scan_anywhere" in entries
        else False,
        sensitive=ctx.boolean(entries["sensitive"][1], "sensitive") if "sensitive" in entries else False,
        infers_carrier=carrier,
        derive_from=derive,
        examples=tuple(examples),
        where=ctx.where(node),
        terms=terms,
        not_terms=not_terms,
        hedges=ctx.boolean(entries["hedges"][1], "hedges") if "hedges" in entries else True,
    )


@dataclass
class FieldsFile:
    fields: dict[str, FieldDef]
    compounds: list[CompoundDef]
    carrier_labels: list[str]
    carrier_terms: tuple[tuple[str, ...], ...] = ()
    not_given: tuple[textmatch.Pattern, ...] = ()
    corrections: tuple[textmatch.Pattern, ...] = ()
    points_below: tuple[textmatch.Pattern, ...] = ()


def load_fields_file(path: Path, ctx: YamlContext) -> FieldsFile:
    root = compose_file(path, ctx)
    if root is None:
        return FieldsFile({}, [], [])
    top = ctx.mapping(root, "fields.yaml")
    fields: dict[str, FieldDef] = {}
    if "fields" not in top:
        ctx.fail(root, "fields.yaml needs a 'fields' mapping")
        return FieldsFile({}, [], [])
    for key, (_, node) in ctx.mapping(top["fields"][1], "fields").items():
        loaded = _load_field(key, node, ctx)
        if loaded is not None:
            fields[key] = loaded
    compounds: list[CompoundDef] = []
    if "compounds" in top:
        node = top["compounds"][1]
        items = node.value if isinstance(node, yaml.SequenceNode) else []
        if not isinstance(node, yaml.SequenceNode):
            ctx.fail(node, "compounds must be a list")
        for item in items:
            entries = ctx.mapping(item, "a compound")
            labels = (
                [label for label, _ in ctx.strings(entries["labels"][1], "labels")]
                if "labels" in entries
                else []
            )
            parts = ctx.strings(entries["fields"][1], "fields") if "fields" in entries else []
            for name, part_node in parts:
                if name not in fields and name != CARRIER_ID:
                    ctx.fail(part_node, f"unknown field {name!r}")
            split = (
                ctx.pattern(entries["split"][1], "split", needs_value=False) if "split" in entries else None
            )
            if not labels or len(parts) < 2 or split is None:
                ctx.fail(item, "a compound needs labels, at least two fields and a split pattern")
                continue
            terms = term_groups(entries["terms"][1], ctx, "a compound") if "terms" in entries else ()
            compounds.append(
                CompoundDef(tuple(labels), tuple(name for name, _ in parts), split, ctx.where(item), terms)
            )
    carrier_labels = (
        [label for label, _ in ctx.strings(top["carrier_id_labels"][1], "carrier_id_labels")]
        if "carrier_id_labels" in top
        else []
    )
    for key, definition in fields.items():
        if definition.derive_from is not None and definition.derive_from not in fields:
            ctx.fail(top["fields"][1], f"field {key!r} derives from unknown field {definition.derive_from!r}")
        if definition.infers_carrier is not None and definition.infers_carrier not in CARRIER_ID_FIELDS:
            ctx.fail(top["fields"][1], f"field {key!r} infers unknown carrier {definition.infers_carrier!r}")
    known = (
        "fields",
        "compounds",
        "carrier_id_labels",
        "carrier_id_terms",
        "not_given",
        "corrections",
        "points_below",
        "version",
    )
    for key, (key_node, _) in top.items():
        if key not in known:
            ctx.fail(key_node, f"unknown key {key!r}")
    return FieldsFile(
        fields,
        compounds,
        carrier_labels,
        term_groups(top["carrier_id_terms"][1], ctx, "carrier_id_terms") if "carrier_id_terms" in top else (),
        patterns_of(top["not_given"][1], ctx, "not_given") if "not_given" in top else (),
        patterns_of(top["corrections"][1], ctx, "corrections") if "corrections" in top else (),
        patterns_of(top["points_below"][1], ctx, "points_below") if "points_below" in top else (),
    )
