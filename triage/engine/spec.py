"""What a rule pack says, once loaded and checked: plain frozen data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from triage.errors import SourceLocation
from triage.textmatch import Pattern

# The virtual field a pack requires for "the id of the member's carrier" (product.md).
CARRIER_ID = "carrier_id"
CARRIER_ID_FIELDS: Mapping[str, str] = {
    "docomo": "docomo_payment_number",
    "au": "au_billing_id",
    "softbank": "softbank_order_number",
}


@dataclass(frozen=True)
class Example:
    text: str
    value: str | int | list[str] | None  # None: the text must give no value for this field
    where: SourceLocation


@dataclass(frozen=True)
class FieldDef:
    key: str
    validator: str
    labels: tuple[str, ...]
    prose: tuple[Pattern, ...]  # unlabelled patterns with a (?P<value>...) group
    shape: Pattern | None  # what a value looks like after a label inside a sentence
    is_list: bool
    scan_anywhere: bool  # e-mail addresses are taken wherever they stand in the member's text
    sensitive: bool
    infers_carrier: str | None
    derive_from: str | None  # when absent, read this field out of another one's value (prefecture <- address)
    examples: tuple[Example, ...]
    where: SourceLocation
    # Label words: a label reaches this field when every group has one of its words in it and
    # none of `not_terms` is there (`ご登録のお電話番号`, `電話番号（携帯）`, `Mobile` -> phone).
    terms: tuple[tuple[str, ...], ...] = ()
    not_terms: tuple[str, ...] = ()
    hedges: bool = True  # an answer saying "I do not know / have it" means not given


@dataclass(frozen=True)
class CompoundDef:
    """A label whose value holds several fields: `氏名(漢字/カナ): 森 桜子/モリ サクラコ`."""

    labels: tuple[str, ...]
    fields: tuple[str, ...]
    split: Pattern
    where: SourceLocation
    terms: tuple[tuple[str, ...], ...] = ()  # label words that reach this compound (like FieldDef.terms)


@dataclass(frozen=True)
class Requirement:
    kind: Literal["field", "any_of", "when"]
    fields: tuple[str, ...]
    when_field: str | None = None
    when_value: str | None = None
    where: SourceLocation | None = None


@dataclass(frozen=True)
class MailboxPack:
    mailbox: str
    description: str
    requires: tuple[Requirement, ...]
    optional: tuple[str, ...]
    labels: Mapping[str, tuple[str, ...]]  # extra labels this mailbox's FAQ uses
    replies: Mapping[str, str]  # decision -> template name
    where: SourceLocation
    faq_order: tuple[str, ...] = ()  # the FAQ's list in its order (reply.order): unlabelled answers follow it
    # The FAQ's numbered items, each one field or several answered on one line (`faq:`); without
    # it, one item per field of faq_order. Unlabelled answers follow it.
    faq_items: tuple[tuple[str, ...], ...] = ()

    @cached_property  # asked once per mail (verdict.judge); the pack never changes once loaded
    def fields(self) -> frozenset[str]:
        """Every field this mailbox asks for: required (conditions included), optional, and the
        carrier ids behind `carrier_id`. The desk scores only these (readings.md 3)."""
        names = set(self.optional)
        for requirement in self.requires:
            names.update(requirement.fields)
            if requirement.when_field:
                names.add(requirement.when_field)
        if CARRIER_ID in names:
            names.update(CARRIER_ID_FIELDS.values())
        return frozenset(names)


@dataclass(frozen=True)
class RuleSet:
    fields: Mapping[str, FieldDef]
    compounds: tuple[CompoundDef, ...]
    carrier_id_labels: tuple[str, ...]
    packs: Mapping[str, MailboxPack]
    templates_dir: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)
    carrier_id_terms: tuple[tuple[str, ...], ...] = ()
    # Patterns (searched anywhere in an answer) that say the member does not have, know or
    # remember the value (readings.md 8), and cues that a line corrects an earlier value (7).
    not_given: tuple[Pattern, ...] = ()
    corrections: tuple[Pattern, ...] = ()
    # Answers that point to the next line (`住所は下記のとおりです`, `as follows`): the value is there.
    points_below: tuple[Pattern, ...] = ()

    @property
    def mailboxes(self) -> frozenset[str]:
        return frozenset(self.packs)
