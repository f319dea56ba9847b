"""Render replies from `replies/<template>/<lang>/{subject,body}.txt.j2` (jinja2, StrictUndefined).

Member text only ever enters a template as a variable, never as template source. Replies name
fields in the words of the FAQ the member read (`replies/fields.yaml`) and never show example
values. The reply does not quote the member's mail (it holds personal data).

Per mailbox, the pack's `reply:` block (desk.py) gives the site's name, the desk's display name
for `From:`, a closing and a signature; listed items follow the FAQ's order and alternatives are
one "either A or B" item (items.py). Bodies are wrapped for phones (wrap.py).
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
from triage.engine.spec import MailboxPack, RuleSet
from triage.outbound.desk import NO_DESK, Desk, desk_of
from triage.outbound.items import invalid_items, missing_items
from triage.outbound.wrap import wrap_text
from triage.verdict import Verdict

LANGUAGES = ("ja", "en")
SUBJECT_MAX = 120
#: Shown where the case reference goes when there is no case yet (`triage check --reply`).
PREVIEW_REFERENCE = {"ja": "（受付時に決まります）", "en": "(given when the mail is stored)"}


@dataclass(frozen=True)
class RenderedReply:
    template: str
    language: str
    to: str
    from_mailbox: str  # ``addr`` or ``Desk name <addr>``
    subject: str
    body: str
    decision: str | None = None  # the verdict it answers (the sender checks it is still true)

    def as_text(self) -> str:
        return f"To: {self.to}\nFrom: {self.from_mailbox}\nSubject: {self.subject}\n\n{self.body}"


#: Contexts `triage rules lint` renders every template with: every variable a template may use.
SAMPLE_CONTEXTS: tuple[dict[str, Any], ...] = (
    {
        "mailbox": "secure_lint",
        "language": "ja",
        "decision": "needs_info",
        "missing": [
            {"field": "nickname", "label": "ニックネーム", "alternatives": []},
            {"field": "plus_member_id", "label": "ID / メール", "alternatives": ["ID", "メール"]},
        ],
        "invalid": [{"field": "phone", "label": "電話番号", "reason": "桁数が違います", "alternatives": []}],
        "reference": "LINT-00",
        "site": "サイト",
        "desk": "サポート",
        "closing": "よろしくお願いいたします。",
        "signature": ["サイト", "サポート"],
    },
    {
        "mailbox": "secure_lint",
        "language": "en",
        "decision": "queued",
        "missing": [],
        "invalid": [],
        "reference": None,
        "site": "",
        "desk": "",
        "closing": "",
        "signature": [],
    },
)


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


def _pack_and_desk(rules: RuleSet, mailbox: str) -> tuple[MailboxPack | None, Desk]:
    pack = rules.packs.get(mailbox)
    if pack is None or not pack.where.path:
        return pack, NO_DESK
    return pack, desk_of(pack.where.path)


def reply_context(verdict: Verdict, rules: RuleSet, reference: str | None = None) -> dict[str, Any]:
    mailbox = verdict.route.mailbox or ""
    language = verdict.language
    replies_dir = rules.templates_dir
    pack, desk = _pack_and_desk(rules, mailbox)

    def label(name: str) -> str:
        return field_label(replies_dir, mailbox, name, language)

    extraction = verdict.extraction
    invalid = [
        (item.field, item.reason_en if language == "en" else item.reason_ja)
        for item in (extraction.invalid if extraction is not None else ())
    ]
    return {
        "mailbox": mailbox,
        "language": language,
        "decision": verdict.decision.value,
        "missing": [
            item.as_context()
            for item in missing_items(pack, desk.order, verdict.missing, label, verdict.blocking_invalid)
        ],
        "invalid": [item.as_context() for item in invalid_items(pack, desk.order, invalid, label)],
        "reference": reference,
        "site": desk.text("site", language),
        "desk": desk.text("desk", language),
        "closing": desk.text("closing", language),
        "signature": list(desk.signature.get(language, ())),
    }


def request_context(
    rules: RuleSet, mailbox: str, language: str, fields: list[str], reference: str | None
) -> dict[str, Any]:
    """What a staff member's "ask for more" reply says: the chosen fields as missing items, in the
    FAQ's order, with the mailbox's site, desk, closing and signature (as `reply_context`)."""
    pack, desk = _pack_and_desk(rules, mailbox)

    def label(name: str) -> str:
        return field_label(rules.templates_dir, mailbox, name, language)

    return {
        "mailbox": mailbox,
        "language": language,
        "decision": "needs_info",
        "missing": [item.as_context() for item in missing_items(pack, desk.order, fields, label)],
        "invalid": [],
        "reference": reference,
        "site": desk.text("site", language),
        "desk": desk.text("desk", language),
        "closing": desk.text("closing", language),
        "signature": list(desk.signature.get(language, ())),
    }


def from_header(rules: RuleSet, mailbox: str, language: str, address: str) -> str:
    """`Desk name <address>` when the mailbox's pack names its desk, else the bare address."""
    _, desk = _pack_and_desk(rules, mailbox)
    name = desk.text("desk", language)
    return f"{name} <{address}>" if name else address


def render(replies_dir: str, template: str, language: str, context: Mapping[str, Any]) -> tuple[str, str]:
    env = _environment(replies_dir)
    subject = env.get_template(f"{template}/{language}/subject.txt.j2").render(**context)
    body = env.get_template(f"{template}/{language}/body.txt.j2").render(**context)
    subject = " ".join(subject.split())[:SUBJECT_MAX]
    return subject, wrap_text(body)


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
    """The reply ``verdict`` gets; without a case (``triage check``) the reference is a marker."""
    if verdict.reply_template is None or verdict.reply_to is None:
        return None
    shown = reference if reference is not None else PREVIEW_REFERENCE.get(verdict.language, "-")
    subject, body = render(
        rules.templates_dir,
        verdict.reply_template,
        verdict.language,
        reply_context(verdict, rules, shown),
    )
    address = verdict.route.recipient or f"{verdict.route.mailbox}@{settings.our_domain}"
    mailbox = from_header(rules, verdict.route.mailbox or "", verdict.language, address)
    return RenderedReply(
        verdict.reply_template,
        verdict.language,
        verdict.reply_to,
        mailbox,
        subject,
        body,
        decision=verdict.decision.value,
    )
