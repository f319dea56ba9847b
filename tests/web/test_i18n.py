"""The staff pages' message catalogue: both languages complete, negotiation, placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from triage.cases.status import BUTTONS
from triage.db.models import CaseStatus
from triage.web.i18n import MESSAGES, negotiate, translate

TEMPLATES = Path(__file__).resolve().parents[2] / "triage" / "web" / "templates"


def test_both_catalogues_have_the_same_keys_and_placeholders() -> None:
    assert set(MESSAGES["ja"]) == set(MESSAGES["en"])
    for key, text in MESSAGES["ja"].items():
        assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", MESSAGES["en"][key])), key


def test_every_key_the_templates_use_exists() -> None:
    used = set()
    for path in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+)["']""", path.read_text(encoding="utf-8")))
    used = {key for key in used if not key.endswith("_")}  # t("status_" ~ value): checked below
    used |= {f"status_{status.value}" for status in CaseStatus}
    used |= set(BUTTONS)  # action buttons and bulk actions are named by their action
    used |= {
        "refused_role",
        "refused_status",
        "refused_claimed",
        "refused_claimed_self",
        "refused_not_claimed",
    }
    used |= {"refused_no_account", "ask_nothing", "merge_not_found", "merge_same", "merge_other_member"}
    used |= {"unknown_field", "empty_value", "invalid_value", "no_mail", "unknown_mailbox", "conflict_title"}
    assert used and used <= set(MESSAGES["ja"]), used - set(MESSAGES["ja"])


def test_negotiation_and_fallbacks() -> None:
    assert negotiate(None) == "ja"
    assert negotiate("en-GB,en;q=0.8") == "en"
    assert negotiate("en;q=0.4, ja;q=0.9") == "ja"
    assert negotiate("fr, de") == "ja"
    assert negotiate("en", preferred="ja") == "ja"
    assert translate("en", "days", days=3) == "3 d"
    assert translate("xx", "queue") == "受付一覧"
    assert translate("en", "no_such_key") == "no_such_key"
