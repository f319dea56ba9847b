"""Reading a rule file's YAML as nodes, so every value keeps the file, line and column it was
written at: the problems collected (`YamlContext`), mappings without repeated keys, strings,
booleans, patterns compiled at load time, word groups."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from triage import textmatch
from triage.errors import RulePackError, SourceLocation


@dataclass
class YamlContext:
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


def compose_file(path: Path, ctx: YamlContext) -> yaml.Node | None:
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


def term_groups(node: yaml.Node, ctx: YamlContext, what: str) -> tuple[tuple[str, ...], ...]:
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


def patterns_of(node: yaml.Node, ctx: YamlContext, what: str) -> tuple[textmatch.Pattern, ...]:
    out = []
    for _, item in ctx.strings(node, what):
        compiled = ctx.pattern(item, what, needs_value=False)
        if compiled is not None:
            out.append(compiled)
    return tuple(out)
