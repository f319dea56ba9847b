"""The 7-bit policy of our replies' stdlib path, with msg-id lists folded between ids only.

Output: RFC 2047 headers, base64 or quoted-printable body, CRLF line ends, lines of at most 78
columns where the field allows it.
"""

from __future__ import annotations

import email.policy
from email.headerregistry import BaseHeader, HeaderRegistry
from email.policy import Policy
from typing import Any, Final

from triage.outbound.compose_fast import fold_ids


class _MessageIdList(BaseHeader):
    """Header mixin for In-Reply-To and References: ids kept verbatim, folded only between ids.

    The stdlib treats these fields as unstructured text and RFC 2047-encodes any id longer than
    a line (``=?utf-8?q?=3Cid=40host=3E?=``), which breaks threading in the member's client.
    Values come from :func:`_clean_ids` only (validated ASCII msg-ids), never raw text.
    """

    max_count = 1

    @classmethod
    def parse(cls, value: str, kwds: dict[str, Any]) -> None:
        kwds["decoded"] = " ".join(value.split())
        kwds["parse_tree"] = None

    def fold(self, *, policy: Policy) -> str:
        return fold_ids(self.name, str(self).split(), policy.max_line_length or 998, policy.linesep)


class _Registry(HeaderRegistry):
    """The stdlib registry makes a new header class on every lookup; this one makes each once."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def map_to_type(self, name: str, cls: type[BaseHeader]) -> None:
        super().map_to_type(name, cls)
        self._made.clear()

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


def _registry() -> HeaderRegistry:
    registry = _Registry()
    registry.map_to_type("in-reply-to", _MessageIdList)
    registry.map_to_type("references", _MessageIdList)
    return registry


POLICY: Final = email.policy.SMTP.clone(header_factory=_registry(), utf8=False, max_line_length=78)
