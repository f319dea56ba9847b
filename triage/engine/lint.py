"""`triage rules lint`: load the packs as the worker does, run every example, render every template."""

from __future__ import annotations

import dataclasses
import datetime as dt
import traceback
from pathlib import Path

import jinja2
import yaml

from triage.engine.extract import extract
from triage.engine.fields import VALIDATORS
from triage.engine.loader import collect
from triage.engine.spec import CARRIER_ID, RuleSet
from triage.errors import RulePackError, SourceLocation
from triage.outbound.render import LANGUAGES, SAMPLE_CONTEXTS, render


def _check_examples(rules: RuleSet, today: dt.date) -> list[RulePackError]:
    problems = []
    # A field with an unknown validator is already reported by the loader; extraction can't run it.
    runnable = {key: item for key, item in rules.fields.items() if item.validator in VALIDATORS}
    rules = dataclasses.replace(rules, fields=runnable)
    for key, definition in rules.fields.items():
        for example in definition.examples:
            got = extract(example.text, rules, today=today).value(key)
            if example.value is None and got is not None:
                problems.append(
                    RulePackError(f"example for {key!r} must give nothing, gave {got!r}", example.where)
                )
            elif example.value is not None and got != example.value:
                problems.append(
                    RulePackError(
                        f"example for {key!r} must give {example.value!r}, gave {got!r}", example.where
                    )
                )
    return problems


def _check_templates(replies_dir: Path) -> tuple[list[RulePackError], int]:
    problems = []
    count = 0
    for template_dir in sorted(path for path in replies_dir.iterdir() if path.is_dir()):
        for language in LANGUAGES:
            for part in ("subject.txt.j2", "body.txt.j2"):
                file = template_dir / language / part
                if not file.is_file():
                    problems.append(RulePackError("missing template file", SourceLocation(str(file), 1, 1)))
            for context in SAMPLE_CONTEXTS:
                try:
                    render(str(replies_dir), template_dir.name, language, context)
                    count += 1
                except jinja2.TemplateSyntaxError as exc:
                    where = SourceLocation(exc.filename or str(template_dir), exc.lineno or 1, 1)
                    problems.append(RulePackError(f"template syntax: {exc.message}", where))
                    break
                except jinja2.TemplateNotFound:
                    break  # reported above as a missing file
                except jinja2.UndefinedError as exc:
                    where = _template_line(exc, SourceLocation(str(template_dir / language), 1, 1))
                    problems.append(RulePackError(f"template uses an unknown variable: {exc.message}", where))
                    break
    return problems, count


def _template_line(exc: BaseException, fallback: SourceLocation) -> SourceLocation:
    """The template file and line a render error was raised at (jinja2 rewrites the traceback)."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith(".j2"):
            return SourceLocation(frame.filename, frame.lineno or 1, 1)
    return fallback


def _name_lines(text: str) -> dict[tuple[str, ...], int]:
    """1-based lines of each section key and each field entry of replies/fields.yaml."""
    lines: dict[tuple[str, ...], int] = {}
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        return lines
    for section_key, section in root.value:
        lines[(str(section_key.value),)] = section_key.start_mark.line + 1
        if isinstance(section, yaml.MappingNode):
            for field_key, _ in section.value:
                lines[(str(section_key.value), str(field_key.value))] = field_key.start_mark.line + 1
    return lines


def _check_field_names(rules: RuleSet, replies_dir: Path) -> list[RulePackError]:
    path = replies_dir / "fields.yaml"
    where = SourceLocation(str(path), 1, 1)
    if not path.is_file():
        return [RulePackError("missing: replies name each field here", where)]
    try:
        text = path.read_text(encoding="utf-8")
        names = yaml.safe_load(text) or {}
        lines = _name_lines(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        marked = SourceLocation(str(path), mark.line + 1, mark.column + 1) if mark else where
        return [RulePackError(f"YAML: {exc.problem or exc}", marked)]
    except yaml.YAMLError as exc:
        return [RulePackError(f"YAML: {exc}", where)]

    def at(*key: str) -> SourceLocation:
        line = lines.get(key) or lines.get(key[:1]) or 1
        return SourceLocation(str(path), line, 1)

    default = names.get("default", {}) if isinstance(names, dict) else {}
    problems = []
    for key in [*rules.fields, CARRIER_ID]:
        entry = default.get(key) if isinstance(default, dict) else None
        for language in LANGUAGES:
            if not isinstance(entry, dict) or not entry.get(language):
                problems.append(
                    RulePackError(f"field {key!r} has no {language} name for replies", at("default", key))
                )
    for section in names if isinstance(names, dict) else {}:
        if section != "default" and section not in rules.packs:
            problems.append(RulePackError(f"section {section!r} names no mailbox pack", at(section)))
    return problems


def lint(rules_dir: Path, replies_dir: Path, *, today: dt.date) -> tuple[list[RulePackError], str]:
    rules, problems = collect(rules_dir, replies_dir)
    problems = list(problems)
    examples = sum(len(definition.examples) for definition in rules.fields.values())
    if rules.fields:
        problems += _check_examples(rules, today)
        problems += _check_field_names(rules, replies_dir)
    rendered = 0
    if replies_dir.is_dir():
        template_problems, rendered = _check_templates(replies_dir)
        problems += template_problems
    else:
        problems.append(RulePackError("missing replies folder", SourceLocation(str(replies_dir), 1, 1)))
    summary = (
        f"{len(rules.packs)} mailbox packs, {len(rules.fields)} fields, {examples} examples, "
        f"{rendered} template renders, {len(problems)} problems"
    )
    return problems, summary
