"""Load rule packs from `rules/`: every problem collected with its file, line and column.

The YAML is composed into nodes and walked by hand, so each value keeps the mark of where it
was written; repeated keys are refused; every pattern is compiled here, at load time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
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
    MailboxPack,
    Requirement,
    RuleSet,
)
from triage.errors import RulePackError, SourceLocation, TriageError
from triage.outbound.desk import parse_block

FIELDS_FILE = "fields.yaml"
DECISIONS_WITH_REPLY = ("needs_info", "icloud_rejected", "queued")
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
_PACK_KEYS = frozenset(
    {"mailbox", "version", "description", "requires", "optional", "labels", "replies", "reply", "faq"}
)


class RuleLoadError(TriageError):
    """One or more problems in the rule packs; each carries its file and line."""

    def __init__(self, problems: list[RulePackError]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


@dataclass
class _Ctx:
    path: str
    problems: list[RulePackError] = field(default_factory=list)

    def where(self, node: yaml.Node) -> SourceLocation:
        return SourceLocation(self.path, node.start_mark.line + 1, node.start_mark.column + 1)

    def fail(self, node: yaml.Node, message: str) -> None:
        self.problems.append(RulePackError(message, self.where(node)))

    def mapping(self, node: yaml.Node, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"{what} must be a mapping")
            return {}
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            if key in out:
                first = out[key][0].start_mark.line + 1
                self.fail(key_node, f"duplicate key {key!r} in {what} (first at line {first})")
                continue
            out[key] = (key_node, value_node)
        return out

    def string(self, node: yaml.Node, what: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
            self.fail(node, f"{what} must be a string")
            return None
        return str(node.value)

    def boolean(self, node: yaml.Node, what: str) -> bool:
        if isinstance(node, yaml.ScalarNode) and node.value.lower() in ("true", "false", "yes", "no"):
            return node.value.lower() in ("true", "yes")
        self.fail(node, f"{what} must be true or false")
        return False

    def strings(self, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node]]:
        if isinstance(node, yaml.ScalarNode):
            value = self.string(node, what)
            return [(value, node)] if value is not None else []
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, f"{what} must be a list of strings")
            return []
        out = []
        for item in node.value:
            value = self.string(item, what)
            if value is not None:
                out.append((value, item))
        return out

    def pattern(self, node: yaml.Node, what: str, *, needs_value: bool) -> textmatch.Pattern | None:
        source = self.string(node, what)
        if source is None:
            return None
        try:
            compiled = textmatch.compile(source, textmatch.VERSION1 | textmatch.MULTILINE, name=what)
        except textmatch.error as exc:
            self.fail(node, f"{what} does not compile: {exc}")
            return None
        if needs_value and "value" not in compiled.groupindex:
            self.fail(node, f"{what} needs a (?P<value>...) group")
            return None
        return compiled


def _compose(path: Path, ctx: _Ctx) -> yaml.Node | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        ctx.problems.append(RulePackError(f"cannot read: {exc}", SourceLocation(str(path), 1, 1)))
        return None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        ctx.problems.append(
            RulePackError(f"YAML: {exc.problem or exc}", SourceLocation(str(path), line, column))
        )
        return None
    except yaml.YAMLError as exc:
        ctx.problems.append(RulePackError(f"YAML: {exc}", SourceLocation(str(path), 1, 1)))
        return None
    if node is None:
        ctx.problems.append(RulePackError("empty file", SourceLocation(str(path), 1, 1)))
    return node


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


def _load_examples(node: yaml.Node, ctx: _Ctx) -> list[Example]:
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


def _load_field(key: str, node: yaml.Node, ctx: _Ctx) -> FieldDef | None:
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
    terms = _term_groups(entries["terms"][1], ctx, key) if "terms" in entries else ()
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


def _term_groups(node: yaml.Node, ctx: _Ctx, what: str) -> tuple[tuple[str, ...], ...]:
    """`terms: [[電話, phone], [番号, number]]`: every group must be met; a plain list is one group."""
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        ctx.fail(node, f"terms of {what!r} must be a non-empty list (of lists) of words")
        return ()
    if all(isinstance(item, yaml.ScalarNode) for item in node.value):
        return (tuple(word for word, _ in ctx.strings(node, "terms")),)
    groups = []
    for item in node.value:
        words = tuple(word for word, _ in ctx.strings(item, "terms"))
        if words:
            groups.append(words)
    return tuple(groups)


def _patterns(node: yaml.Node, ctx: _Ctx, what: str) -> tuple[textmatch.Pattern, ...]:
    out = []
    for _, item in ctx.strings(node, what):
        compiled = ctx.pattern(item, what, needs_value=False)
        if compiled is not None:
            out.append(compiled)
    return tuple(out)


@dataclass
class _FieldsFile:
    fields: dict[str, FieldDef]
    compounds: list[CompoundDef]
    carrier_labels: list[str]
    carrier_terms: tuple[tuple[str, ...], ...] = ()
    not_given: tuple[textmatch.Pattern, ...] = ()
    corrections: tuple[textmatch.Pattern, ...] = ()
    points_below: tuple[textmatch.Pattern, ...] = ()


def _load_fields_file(path: Path, ctx: _Ctx) -> _FieldsFile:
    root = _compose(path, ctx)
    if root is None:
        return _FieldsFile({}, [], [])
    top = ctx.mapping(root, "fields.yaml")
    fields: dict[str, FieldDef] = {}
    if "fields" not in top:
        ctx.fail(root, "fields.yaml needs a 'fields' mapping")
        return _FieldsFile({}, [], [])
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
            terms = _term_groups(entries["terms"][1], ctx, "a compound") if "terms" in entries else ()
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
    return _FieldsFile(
        fields,
        compounds,
        carrier_labels,
        _term_groups(top["carrier_id_terms"][1], ctx, "carrier_id_terms")
        if "carrier_id_terms" in top
        else (),
        _patterns(top["not_given"][1], ctx, "not_given") if "not_given" in top else (),
        _patterns(top["corrections"][1], ctx, "corrections") if "corrections" in top else (),
        _patterns(top["points_below"][1], ctx, "points_below") if "points_below" in top else (),
    )


def _known(name: str, node: yaml.Node, fields: Mapping[str, FieldDef], ctx: _Ctx) -> bool:
    if name in fields or name == CARRIER_ID:
        return True
    ctx.fail(node, f"unknown field {name!r}")
    return False


def _load_requirements(node: yaml.Node, fields: Mapping[str, FieldDef], ctx: _Ctx) -> list[Requirement]:
    if not isinstance(node, yaml.SequenceNode):
        ctx.fail(node, "requires must be a list")
        return []
    out: list[Requirement] = []
    for item in node.value:
        where = ctx.where(item)
        if isinstance(item, yaml.ScalarNode):
            if _known(str(item.value), item, fields, ctx):
                out.append(Requirement("field", (str(item.value),), where=where))
            continue
        if isinstance(item, yaml.SequenceNode):  # a plain list of required fields
            for name, sub in ctx.strings(item, "a field list"):
                if _known(name, sub, fields, ctx):
                    out.append(Requirement("field", (name,), where=ctx.where(sub)))
            continue
        entries = ctx.mapping(item, "a requirement")
        if "any_of" in entries:
            names = [(name, sub) for name, sub in ctx.strings(entries["any_of"][1], "any_of")]
            if len(names) < 2:
                ctx.fail(item, "any_of needs at least two fields")
            if all(_known(name, sub, fields, ctx) for name, sub in names):
                out.append(Requirement("any_of", tuple(name for name, _ in names), where=where))
        elif "when" in entries and "require" in entries:
            condition = ctx.mapping(entries["when"][1], "when")
            if len(condition) != 1:
                ctx.fail(entries["when"][1], "when takes exactly one field: value")
                continue
            ((when_field, (when_key_node, when_value_node)),) = condition.items()
            when_value = ctx.string(when_value_node, "when value")
            names = ctx.strings(entries["require"][1], "require")
            if _known(when_field, when_key_node, fields, ctx) and all(
                _known(name, sub, fields, ctx) for name, sub in names
            ):
                out.append(
                    Requirement("when", tuple(name for name, _ in names), when_field, when_value, where=where)
                )
        else:
            ctx.fail(
                item,
                "a requirement is a field name, a list of names, "
                "{any_of: [...]} or {when: ..., require: [...]}",
            )
    return out


def _load_pack(
    path: Path, fields: Mapping[str, FieldDef], templates: frozenset[str], ctx: _Ctx
) -> MailboxPack | None:
    root = _compose(path, ctx)
    if root is None:
        return None
    entries = ctx.mapping(root, path.name)
    for name, (key_node, _) in entries.items():
        if name not in _PACK_KEYS:
            ctx.fail(key_node, f"unknown key {name!r}")
    mailbox = ctx.string(entries["mailbox"][1], "mailbox") if "mailbox" in entries else None
    if mailbox is None:
        ctx.fail(root, "a pack needs 'mailbox'")
        return None
    if mailbox.lower() != path.stem.lower() or not mailbox.lower().startswith("secure_"):
        ctx.fail(
            entries["mailbox"][1], f"mailbox {mailbox!r} must start with secure_ and match the file name"
        )
    requires = _load_requirements(entries["requires"][1], fields, ctx) if "requires" in entries else []
    if "requires" not in entries:
        ctx.fail(root, "a pack needs 'requires'")
    optional = []
    if "optional" in entries:
        for name, sub in ctx.strings(entries["optional"][1], "optional"):
            if _known(name, sub, fields, ctx):
                optional.append(name)
    labels: dict[str, tuple[str, ...]] = {}
    if "labels" in entries:
        for name, (key_node, value_node) in ctx.mapping(entries["labels"][1], "labels").items():
            if _known(name, key_node, fields, ctx):
                labels[name] = tuple(label for label, _ in ctx.strings(value_node, "labels"))
    replies: dict[str, str] = {}
    if "replies" in entries:
        for decision, (key_node, value_node) in ctx.mapping(entries["replies"][1], "replies").items():
            if decision not in DECISIONS_WITH_REPLY:
                ctx.fail(
                    key_node, f"no reply is sent for {decision!r} (only {', '.join(DECISIONS_WITH_REPLY)})"
                )
                continue
            template = ctx.string(value_node, "template name")
            if template is not None and templates and template not in templates:
                ctx.fail(value_node, f"missing template {template!r} (no replies/{template}/)")
            if template is not None:
                replies[decision] = template
    faq_order: tuple[str, ...] = ()
    if "reply" in entries:  # how this mailbox's replies speak: read by triage.outbound.desk
        desk, problems = parse_block(entries["reply"][1], ctx.path, frozenset({*fields, CARRIER_ID}))
        ctx.problems += problems
        faq_order = tuple(desk.order)  # the FAQ's order: unlabelled answers follow it too
    faq_items: list[tuple[str, ...]] = []
    if "faq" in entries:  # the FAQ's items in order; an item answered on one line lists its fields
        node = entries["faq"][1]
        if not isinstance(node, yaml.SequenceNode):
            ctx.fail(node, "faq must be a list of fields or of lists of fields")
        else:
            for item in node.value:
                names = ctx.strings(item, "faq item")
                if names and all(_known(name, sub, fields, ctx) for name, sub in names):
                    faq_items.append(tuple(name for name, _ in names))
    description = ctx.string(entries["description"][1], "description") if "description" in entries else ""
    return MailboxPack(
        mailbox=mailbox.lower(),
        description=description or "",
        requires=tuple(requires),
        optional=tuple(optional),
        labels=labels,
        replies=replies,
        where=ctx.where(root),
        faq_order=faq_order,
        faq_items=tuple(faq_items) or tuple((name,) for name in faq_order),
    )


def template_names(replies_dir: Path) -> frozenset[str]:
    if not replies_dir.is_dir():
        return frozenset()
    return frozenset(
        child.name for child in replies_dir.iterdir() if child.is_dir() and not child.name.startswith(".")
    )


def collect(rules_dir: Path, replies_dir: Path) -> tuple[RuleSet, list[RulePackError]]:
    """Load everything, returning the rules that loaded and every problem found."""
    ctx = _Ctx(path="")
    fields_path = rules_dir / FIELDS_FILE
    ctx.path = str(fields_path)
    loaded = _FieldsFile({}, [], [])
    if not fields_path.is_file():
        ctx.problems.append(
            RulePackError("missing field definitions", SourceLocation(str(fields_path), 1, 1))
        )
    else:
        loaded = _load_fields_file(fields_path, ctx)
    fields = loaded.fields
    templates = template_names(replies_dir)
    packs: dict[str, MailboxPack] = {}
    for path in sorted(_pack_files(rules_dir)):
        ctx.path = str(path)
        pack = _load_pack(path, fields, templates, ctx)
        if pack is None:
            continue
        if pack.mailbox in packs:
            ctx.fail(yaml.ScalarNode("tag:yaml.org,2002:str", ""), f"mailbox {pack.mailbox!r} defined twice")
        packs[pack.mailbox] = pack
    if not packs:
        ctx.problems.append(
            RulePackError("no mailbox packs (secure_*.yaml)", SourceLocation(str(rules_dir), 1, 1))
        )
    rules = RuleSet(
        fields=fields,
        compounds=tuple(loaded.compounds),
        carrier_id_labels=tuple(loaded.carrier_labels),
        packs=packs,
        templates_dir=str(replies_dir),
        carrier_id_terms=loaded.carrier_terms,
        not_given=loaded.not_given,
        corrections=loaded.corrections,
        points_below=loaded.points_below,
    )
    return rules, ctx.problems


def _pack_files(rules_dir: Path) -> Iterable[Path]:
    return (path for path in rules_dir.glob("*.yaml") if path.name != FIELDS_FILE)


def load_rules(rules_dir: Path, replies_dir: Path) -> RuleSet:
    """The rules the service runs with; any problem refuses to load (RuleLoadError lists them all)."""
    rules, problems = collect(rules_dir, replies_dir)
    if problems:
        raise RuleLoadError(problems)
    return rules
