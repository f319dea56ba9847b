"""Load rule packs from `rules/`: every problem collected with its file, line and column.

The YAML is composed into nodes and walked by hand (yamlrules.py), so each value keeps the mark
of where it was written; repeated keys are refused; every pattern is compiled at load time.
`fields.yaml` is read by fieldsfile.py; the mailbox packs and their requirements here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml

from triage.engine.fieldsfile import FieldsFile, load_fields_file
from triage.engine.spec import (
    CARRIER_ID,
    FieldDef,
    MailboxPack,
    Requirement,
    RuleSet,
)
from triage.engine.yamlrules import YamlContext, compose_file
from triage.errors import RulePackError, SourceLocation, TriageError
from triage.outbound.desk import parse_block

FIELDS_FILE = "fields.yaml"
DECISIONS_WITH_REPLY = ("needs_info", "icloud_rejected", "queued")
_PACK_KEYS = frozenset(
    {"mailbox", "version", "description", "requires", "optional", "labels", "replies", "reply", "faq"}
)


class RuleLoadError(TriageError):
    """One or more problems in the rule packs; each carries its file and line."""

    def __init__(self, problems: list[RulePackError]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


def _known(name: str, node: yaml.Node, fields: Mapping[str, FieldDef], ctx: YamlContext) -> bool:
    if name in fields or name == CARRIER_ID:
        return True
    ctx.fail(node, f"unknown field {name!r}")
    return False


def _load_requirements(
    node: yaml.Node, fields: Mapping[str, FieldDef], ctx: YamlContext
) -> list[Requirement]:
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
    path: Path, fields: Mapping[str, FieldDef], templates: frozenset[str], ctx: YamlContext
) -> MailboxPack | None:
    root = compose_file(path, ctx)
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
    ctx = YamlContext(path="")
    fields_path = rules_dir / FIELDS_FILE
    ctx.path = str(fields_path)
    loaded = FieldsFile({}, [], [])
    if not fields_path.is_file():
        ctx.problems.append(
            RulePackError("missing field definitions", SourceLocation(str(fields_path), 1, 1))
        )
    else:
        loaded = load_fields_file(fields_path, ctx)
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
