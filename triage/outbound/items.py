"""The items a reply lists: in the order of the FAQ the member filled in, alternatives together.

- Order: the pack's ``reply.order`` (the FAQ's order, data); a field it does not name follows in
  the order of ``requires`` and ``optional``; a carrier's own id field stands where
  ``carrier_id`` stands.
- "A or B" (``any_of``): the missing alternatives of one requirement are one item, "either A or
  B", in the place of the first of them; the member is told that one is enough.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from triage.engine.spec import CARRIER_ID, CARRIER_ID_FIELDS, MailboxPack

_CARRIER_FIELDS = frozenset(CARRIER_ID_FIELDS.values())


@dataclass(frozen=True)
class Item:
    """One line of a reply's list: a field, or several alternatives of which one is enough."""

    fields: tuple[str, ...]
    labels: tuple[str, ...]
    reason: str | None = None

    @property
    def field(self) -> str:
        return self.fields[0]

    @property
    def label(self) -> str:
        return " / ".join(self.labels)

    def as_context(self) -> dict[str, object]:
        out: dict[str, object] = {
            "field": self.field,
            "label": self.label,
            "alternatives": list(self.labels) if len(self.labels) > 1 else [],
        }
        if self.reason is not None:
            out["reason"] = self.reason
        return out


def faq_order(pack: MailboxPack | None, order: Sequence[str]) -> Callable[[str], tuple[int, str]]:
    """A sort key for field names: the FAQ's order, then requires/optional, then by name."""
    ranked: list[str] = list(order)
    if pack is not None:
        for requirement in pack.requires:
            if requirement.when_field is not None:
                ranked.append(requirement.when_field)
            ranked.extend(requirement.fields)
        ranked.extend(pack.optional)
    position: dict[str, int] = {}
    for index, name in enumerate(ranked):
        position.setdefault(name, index)

    def key(name: str) -> tuple[int, str]:
        if name in position:
            return position[name], name
        if name in _CARRIER_FIELDS and CARRIER_ID in position:
            return position[CARRIER_ID], name
        return len(position), name

    return key


def _groups(
    pack: MailboxPack | None, missing: Iterable[str], blocking: Iterable[str]
) -> list[tuple[str, ...]]:
    """The missing names; an unmet ``any_of`` is one group of its missing and invalid alternatives.

    An alternative with an invalid value stays in the group ("send A, or B corrected"): the
    member learns that either one is enough, and the invalid list says what is wrong with B.
    """
    left = list(dict.fromkeys(missing))
    invalid = set(blocking)
    groups: list[tuple[str, ...]] = []
    for requirement in pack.requires if pack is not None else ():
        if requirement.kind != "any_of":
            continue
        names: list[str] = []
        for name in requirement.fields:
            candidates = _CARRIER_FIELDS if name == CARRIER_ID else {name}
            names.extend(field for field in [*left, *sorted(invalid)] if field in candidates)
        names = list(dict.fromkeys(names))
        if len(names) > 1 and any(name in left for name in names):
            groups.append(tuple(names))
            left = [name for name in left if name not in names]
    groups.extend((name,) for name in left)
    return groups


def missing_items(
    pack: MailboxPack | None,
    order: Sequence[str],
    missing: Iterable[str],
    label: Callable[[str], str],
    blocking: Iterable[str] = (),
) -> list[Item]:
    """Items for what is missing; ``blocking`` (invalid names) only joins an unmet "A or B"."""
    key = faq_order(pack, order)
    items = []
    for group in _groups(pack, missing, blocking):
        names = tuple(sorted(group, key=key))
        items.append(Item(names, tuple(label(name) for name in names)))
    return sorted(items, key=lambda item: key(item.field))


def invalid_items(
    pack: MailboxPack | None,
    order: Sequence[str],
    invalid: Iterable[tuple[str, str]],
    label: Callable[[str], str],
) -> list[Item]:
    """(field, reason) pairs as items in the FAQ's order (stable for one field's several values)."""
    key = faq_order(pack, order)
    items = [Item((name,), (label(name),), reason) for name, reason in invalid]
    return sorted(items, key=lambda item: key(item.field))
