"""Claim tokens: the names workers and senders put on the rows they claim."""

from __future__ import annotations

import secrets
import string


def claim_token() -> str:
    """Eight random letters: unique enough for a claim, and no digit run the log filter masks."""
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(8))
