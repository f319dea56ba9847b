"""Render replies from `replies/<template>/<lang>/{subject,body}.txt.j2` (jinja2, StrictUndefined).

Member text only ever enters a template as a variable, never as template source. Replies name
fields in the words of the FAQ the member read (`replies/fields.yaml`) and never show example
values. The reply does not quote the member's mail (it holds personal data).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

from triage.config import Settings
from triage.engine.spec import RuleSet
from triage.verdict import Verdict

LANGUAGES = ("ja", "en")
SUBJECT_MAX = 120


@dataclass(frozen=True)
class RenderedReply:
    template: str
    language: str
    to: str
    from_mailbox: str
    subject: str
    body: str

    def as_text(self) -> str:
        return f"To: {self.to}\nFrom: {self.from_mailbox}\nSubject: {self.subject}\n\n{self.body}"


@functools.lru_cache(maxsize=8)
def _environment(replies_dir: str) -> jinja2.Environment:
    # Plain-text mail, never HTML: autoescape would put &amp; into a member's reply.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(replies_dir),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@functools.lru_cache(maxsize=8)
def field_names(replies_dir: str) -> Mapping[str, Mapping[str, Mapping[str, str]]]:
    """{section: {field: {lang: name}}}; section is "default" or a mailbox."""
    path = Path(replies_dir) / "fields.yaml"
    loaded = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return loaded if isinstance(loaded, dict) else {}


def field_label(replies_dir: str, mailbox: str, field: str, language: str) -> str:
    names = field_names(replies_dir)
    for section in (mailbox, "default"):
        entry = names.get(section, {}).get(field)
        if entry and language in entry:
            return str(entry[language])
    return field


def reply_context(verdict: Verdict, rules: RuleSet, reference: str | None = None) -> dict[str, Any]:
    mailbox = verdict.route.mailbox or ""
    language = verdict.language
    replies_dir = rules.templates_dir
    extraction = verdict.extraction
    invalid = []
    if extraction is not None:
        for item in extraction.invalid:
            reason = item.reason_en if language == "en" else item.reason_ja
            invalid.append(
                {
                    "field": item.field,
                    "label": field_label(replies_dir, mailbox, item.field, language),
                    "reason": reason,
                }
            )
    return {
        "mailbox": mailbox,
        "language": language,
        "decision": verdict.decision.value,
        "missing": [
            {"field": name, "label": field_label(replies_dir, mailbox, name, language)}
            for name in verdict.missing
        ],
        "invalid": invalid,
        "reference": reference,
    }


def render(replies_dir: str, template: str, language: str, context: Mapping[str, Any]) -> tuple[str, str]:
    env = _environment(replies_dir)
    subject = env.get_template(f"{template}/{language}/subject.txt.j2").render(**context)
    body = env.get_template(f"{template}/{language}/body.txt.j2").render(**context)
    subject = " ".join(subject.split())[:SUBJECT_MAX]
    return subject, body


def reply_subject(verdict: Verdict, rules: RuleSet) -> str | None:
    if verdict.reply_template is None:
        return None
    subject, _ = render(
        rules.templates_dir, verdict.reply_template, verdict.language, reply_context(verdict, rules)
    )
    return subject


def render_reply(
    verdict: Verdict, rules: RuleSet, settings: Settings, reference: str | None = None
) -> RenderedReply | None:
    if verdict.reply_template is None or verdict.reply_to is None:
        return None
    subject, body = render(
        rules.templates_dir,
        verdict.reply_template,
        verdict.language,
        reply_context(verdict, rules, reference),
    )
    mailbox = verdict.route.recipient or f"{verdict.route.mailbox}@{settings.our_domain}"
    return RenderedReply(verdict.reply_template, verdict.language, verdict.reply_to, mailbox, subject, body)
