"""The message catalogue of the staff pages: Japanese first, English available.

The texts are data (``messages/ja.yaml``, ``messages/en.yaml``). The language is the staff
member's own setting, else the browser's ``Accept-Language`` (the
first of ``ja``/``en`` by quality), else Japanese. A key missing in English falls back to Japanese;
a key missing everywhere shows as itself, so a typo is visible, never a crash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import yaml

from triage.errors import ConfigError

LANGUAGES: Final = ("ja", "en")
DEFAULT_LANGUAGE: Final = "ja"

MESSAGES_DIR: Final = Path(__file__).resolve().parent / "messages"


def _load(language: str) -> dict[str, str]:
    loaded = yaml.safe_load((MESSAGES_DIR / f"{language}.yaml").read_text(encoding="utf-8"))
    if not isinstance(loaded, dict):
        raise ConfigError(f"{MESSAGES_DIR / language}.yaml: not a mapping of message keys")
    return {str(key): str(value) for key, value in loaded.items()}


#: {language: {key: text}} from ``messages/<language>.yaml`` (package data).
MESSAGES: Final[dict[str, dict[str, str]]] = {language: _load(language) for language in LANGUAGES}


def translate(language: str, key: str, **params: object) -> str:
    """The message ``key`` in ``language`` with ``params`` filled in."""
    text = MESSAGES.get(language, {}).get(key) or MESSAGES[DEFAULT_LANGUAGE].get(key) or key
    return text.format(**params) if params else text


def negotiate(accept_language: str | None, preferred: str | None = None) -> str:
    """The staff member's setting, else the best of ``Accept-Language``, else Japanese."""
    if preferred in LANGUAGES:
        return str(preferred)
    best, best_q = DEFAULT_LANGUAGE, -1.0
    for item in (accept_language or "").split(","):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-", 1)[0]
        if primary not in LANGUAGES:
            continue
        q = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip() == "q":
            try:
                q = float(value)
            except ValueError:
                q = 0.0
        if q > best_q:
            best, best_q = primary, q
    return best
