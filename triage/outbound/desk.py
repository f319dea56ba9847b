"""How one mailbox's replies speak: the `reply:` block of its rule pack.

```yaml
reply:
  site: {ja: JO1 OFFICIAL SITE, en: JO1 OFFICIAL SITE}       # named in subject and body
  desk: {ja: JO1 OFFICIAL SITE サポート, en: JO1 OFFICIAL SITE Support}   # display name in From:
  closing: {ja: 今後ともよろしくお願いいたします。, en: Thank you for being a member.}
  signature: {ja: [JO1 OFFICIAL SITE, サポート窓口], en: [JO1 OFFICIAL SITE, Support desk]}
  order: [name_kanji, name_kana, nickname, ...]               # the FAQ's order of the items
```

Every text is given in every reply language; ``order`` names fields of ``rules/fields.yaml``
(or ``carrier_id``) once each. The block is optional: without it a reply names no site, has no
display name, closing or signature, and lists items in the order of ``requires``. Problems come
back with file and line (the loader reports them with the pack's own); :func:`desk_of` reads
the block of a loaded pack again from its file.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import yaml

from triage.errors import RulePackError, SourceLocation

LANGUAGES: Final = ("ja", "en")
BLOCK_KEY: Final = "reply"
_TEXT_KEYS: Final = ("site", "desk", "closing")
_KEYS: Final = frozenset({*_TEXT_KEYS, "signature", "order"})


@dataclass(frozen=True)
class Desk:
    site: Mapping[str, str] = field(default_factory=dict)
    desk: Mapping[str, str] = field(default_factory=dict)
    closing: Mapping[str, str] = field(default_factory=dict)
    signature: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    order: tuple[str, ...] = ()

    def text(self, key: str, language: str) -> str:
        value: Mapping[str, str] = getattr(self, key)
        return value.get(language, "")


NO_DESK: Final = Desk()


def _where(path: str, node: yaml.Node) -> SourceLocation:
    return SourceLocation(path, node.start_mark.line + 1, node.start_mark.column + 1)


def _scalar(node: yaml.Node) -> str | None:
    if isinstance(node, yaml.ScalarNode) and node.tag != "tag:yaml.org,2002:null":
        return str(node.value).strip()
    return None


def _mapping(node: yaml.Node, what: str, path: str, problems: list[RulePackError]) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        problems.append(RulePackError(f"{what} must be a mapping", _where(path, node)))
        return {}
    out: dict[str, yaml.Node] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
        if key in out:
            problems.append(RulePackError(f"duplicate key {key!r} in {what}", _where(path, key_node)))
            continue
        out[key] = value_node
    return out


def _per_language(
    node: yaml.Node, what: str, path: str, problems: list[RulePackError], *, lines: bool
) -> dict[str, tuple[str, ...]]:
    entries = _mapping(node, what, path, problems)
    out: dict[str, tuple[str, ...]] = {}
    for language, value in entries.items():
        if language not in LANGUAGES:
            problems.append(
                RulePackError(f"{what}: unknown language {language!r} (known: ja, en)", _where(path, value))
            )
            continue
        items = value.value if lines and isinstance(value, yaml.SequenceNode) else [value]
        texts = [_scalar(item) for item in items]
        if not texts or any(not text for text in texts):
            kind = "a non-empty string or a list of lines" if lines else "a non-empty string"
            problems.append(RulePackError(f"{what}.{language} must be {kind}", _where(path, value)))
            continue
        out[language] = tuple(text for text in texts if text)
    for language in LANGUAGES:
        if entries and language not in entries:
            problems.append(RulePackError(f"{what} has no {language} text", _where(path, node)))
    return out


def parse_block(node: yaml.Node, path: str, known_fields: frozenset[str]) -> tuple[Desk, list[RulePackError]]:
    """The desk a `reply:` node describes, and every problem in it (file:line each)."""
    problems: list[RulePackError] = []
    entries = _mapping(node, f"{BLOCK_KEY}", path, problems)
    for key, value in entries.items():
        if key not in _KEYS:
            problems.append(
                RulePackError(
                    f"unknown key {key!r} in {BLOCK_KEY} (known: {', '.join(sorted(_KEYS))})",
                    _where(path, value),
                )
            )
    texts: dict[str, dict[str, str]] = {}
    for key in _TEXT_KEYS:
        parsed = (
            _per_language(entries[key], f"{BLOCK_KEY}.{key}", path, problems, lines=False)
            if key in entries
            else {}
        )
        texts[key] = {language: value[0] for language, value in parsed.items()}
    signature = (
        _per_language(entries["signature"], f"{BLOCK_KEY}.signature", path, problems, lines=True)
        if "signature" in entries
        else {}
    )
    order: list[str] = []
    if "order" in entries:
        node_order = entries["order"]
        if not isinstance(node_order, yaml.SequenceNode):
            problems.append(
                RulePackError(f"{BLOCK_KEY}.order must be a list of fields", _where(path, node_order))
            )
        else:
            for item in node_order.value:
                name = _scalar(item)
                if not name or (known_fields and name not in known_fields):
                    problems.append(
                        RulePackError(f"{BLOCK_KEY}.order: unknown field {name!r}", _where(path, item))
                    )
                elif name in order:
                    problems.append(RulePackError(f"{BLOCK_KEY}.order: {name!r} twice", _where(path, item)))
                else:
                    order.append(name)
    desk = Desk(
        site=texts["site"],
        desk=texts["desk"],
        closing=texts["closing"],
        signature=signature,
        order=tuple(order),
    )
    return desk, problems


@functools.lru_cache(maxsize=64)
def desk_of(pack_path: str) -> Desk:
    """The desk of the pack in ``pack_path`` (already checked by the loader); NO_DESK without one."""
    root = yaml.compose(Path(pack_path).read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        return NO_DESK
    for key_node, value_node in root.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == BLOCK_KEY:
            desk, _ = parse_block(value_node, pack_path, frozenset())
            return desk
    return NO_DESK
