"""Reply templates: every template in both languages, FAQ names, no example values, no injection."""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any

import pytest

from triage.config import Settings
from triage.engine.loader import load_rules
from triage.outbound.render import LANGUAGES, render, render_reply, reply_context
from triage.parsing.mime import parse_mail
from triage.verdict import Verdict, judge

PROJECT_ROOT = Path(__file__).resolve().parents[2]
REPLIES = str(PROJECT_ROOT / "replies")
RULES = load_rules(PROJECT_ROOT / "rules", PROJECT_ROOT / "replies")
SETTINGS = Settings()
TODAY = datetime.date(2026, 11, 21)
TEMPLATES = sorted(path.name for path in Path(REPLIES).iterdir() if path.is_dir())
REFERENCE = "7Q4K-2M"


def context(language: str, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "mailbox": "secure_jo1",
        "language": language,
        "decision": "needs_info",
        "missing": [
            {
                "field": "nickname",
                "label": "ご設定のニックネーム" if language == "ja" else "Nickname",
                "alternatives": [],
            }
        ],
        "invalid": [
            {
                "field": "au_billing_id",
                "label": "auの継続課金ID(11桁)" if language == "ja" else "au continuous billing ID",
                "reason": "電話番号では調査できません"
                if language == "ja"
                else "This looks like a phone number.",
                "alternatives": [],
            }
        ],
        "reference": REFERENCE,
        "site": "JO1 OFFICIAL SITE",
        "desk": "JO1 OFFICIAL SITE Support",
        "closing": "Thank you." if language == "en" else "よろしくお願いいたします。",
        "signature": ["JO1 OFFICIAL SITE"],
    }
    base.update(overrides)
    return base


def mail(
    body: str, *, sender: str = "taro@example.jp", to: str = "secure_lunasea@example.jp", extra: str = ""
) -> bytes:
    headers = (
        f"{extra}From: {sender}\nTo: {to}\nSubject: =?UTF-8?B?44Ot44Kw44Kk44Oz?=\n"
        "Message-ID: <m1@example.jp>\nDate: Sat, 21 Nov 2026 10:00:00 +0900\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
    )
    return (headers + body).encode("utf-8")


def verdict_of(raw: bytes, to: str = "secure_lunasea@example.jp") -> Verdict:
    return judge(parse_mail(raw), envelope_to=to, settings=SETTINGS, rules=RULES, today=TODAY)


def test_every_template_folder_is_known() -> None:
    assert TEMPLATES == ["icloud_rejected", "needs_info", "queued"]


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_template_renders_in_both_languages(template: str, language: str) -> None:
    subject, body = render(REPLIES, template, language, context(language, decision=template))
    assert subject and "\n" not in subject
    assert body.strip()
    if language == "ja":
        assert "自動送信" in subject
        assert re.search(r"[ぁ-ん]", body)
    else:
        assert subject.startswith("Auto:")
        assert not re.search(r"[ぁ-んァ-ヶ]", body.replace(context("en")["invalid"][0]["reason"], ""))
    # APPI art. 21: the purpose of use is stated
    assert ("本人確認" in body) if language == "ja" else ("confirm your identity" in body)


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_no_example_values_in_any_template(template: str, language: str) -> None:
    ctx = context(language, missing=[], invalid=[], decision=template)
    subject, body = render(REPLIES, template, language, ctx)
    text = (subject + "\n" + body).replace(REFERENCE, "")
    assert re.findall(r"[0-9０-９]{4,}", text) == []
    assert "@" not in text.replace("icloud.com", "").replace("me.com", "").replace("mac.com", "")


@pytest.mark.parametrize("template", TEMPLATES)
def test_templates_render_with_nothing_missing_or_invalid(template: str) -> None:
    for language in LANGUAGES:
        _, body = render(
            REPLIES, template, language, context(language, missing=[], invalid=[], reference=None)
        )
        assert "None" not in body
        assert "受付番号" not in body and "Reference" not in body


def section(body: str, heading: str) -> list[str]:
    """The lines under ``heading`` up to the next blank line."""
    lines = body.splitlines()
    start = lines.index(heading) + 1
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return lines[start:end]


def test_needs_info_lists_exactly_the_missing_items_by_faq_names_in_faq_order() -> None:
    raw = mail(
        "ログインできません。\n・氏名フルネーム(漢字):山田 太郎\n・氏名フルネーム(カナ):ヤマダ タロウ\n"
        "・継続課金ID:090-0000-5678\n"
    )
    verdict = verdict_of(raw)
    assert verdict.decision == "needs_info"
    ctx = reply_context(verdict, RULES)
    _, body = render(REPLIES, "needs_info", "ja", ctx)
    # secure_lunasea's FAQ: login member number and password first, address last.
    assert section(body, "■ 記載が見つからなかった項目") == [
        "・ログイン時に入力した会員番号",
        "・ログイン時に入力したパスワード8桁",
        "・ご設定にお心当たりのあるニックネーム",
        "・ご生年月日(西暦表記8桁)",
        "・お持ちのメールアドレス全て",
        "・お電話番号",
        "・ご住所",
    ]
    invalid = section(body, "■ ご確認いただきたい項目")
    assert invalid[0] == "・auの継続課金ID(11桁)"
    assert "電話番号" in "".join(invalid[1:])
    assert "090" not in body and "5678" not in body  # the member's data is never quoted


def test_needs_info_in_english_uses_english_names_and_reasons() -> None:
    raw = mail(
        "Hello, I cannot log in to my account after the renewal.\nName: 山田 太郎\n"
        "Email: taro@example,jp\nPlease help me.\n"
    )
    verdict = verdict_of(raw)
    assert verdict.language == "en"
    ctx = reply_context(verdict, RULES)
    subject, body = render(REPLIES, "needs_info", "en", ctx)
    assert subject.startswith("Auto:")
    assert "- Nickname you may have set" in body
    assert "- Every e-mail address you have:" in body.splitlines()
    assert "comma" in body
    assert "ご設定" not in body


def test_needs_info_names_are_per_mailbox() -> None:
    raw = mail("ログインできません。よろしくお願いします。", to="secure_billing@example.jp")
    ctx = reply_context(verdict_of(raw, "secure_billing@example.jp"), RULES)
    assert [item["label"] for item in ctx["missing"]] == [
        "ログインID(購入前の場合は「購入前」)",
        "登録メールアドレス",
        "電話番号",
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_icloud_rejected_asks_for_another_address_and_says_why(language: str) -> None:
    subject, body = render(
        REPLIES, "icloud_rejected", language, context(language, decision="icloud_rejected")
    )
    if language == "ja":
        assert "iCloud" in subject and "以外" in subject
        assert "届かない" in body  # why
        assert "iCloud以外のメールアドレスから" in body  # what to do
    else:
        assert "iCloud" in subject and "other than iCloud" in subject
        assert "do not reach" in body
        assert "from another address" in body


@pytest.mark.parametrize("template", ["needs_info", "icloud_rejected"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_member_text_is_never_evaluated(template: str, language: str) -> None:
    invalid = [{"field": "nickname", "label": "{{ 7*7 }}", "reason": "{% raw %}{{ 7*7 }}{{ config }}"}]
    _, body = render(REPLIES, template, language, context(language, invalid=invalid))
    assert "{{ 7*7 }}" in body
    assert "{% raw %}{{ 7*7 }}{{ config }}" in body
    assert "49" not in body


def test_invalid_value_with_template_syntax_through_the_whole_path() -> None:
    raw = mail("・氏名フルネーム(漢字):{{ 7*7 }}\n")
    verdict = verdict_of(raw)
    reply = render_reply(verdict, RULES, SETTINGS)
    assert reply is not None
    assert "49" not in reply.body


def test_render_reply_goes_to_the_envelope_sender() -> None:
    raw = mail("ログインできません。", extra="Return-Path: <bounce-taro@example.ne.jp>\n")
    verdict = verdict_of(raw)
    reply = render_reply(verdict, RULES, SETTINGS, reference=REFERENCE)
    assert reply is not None
    assert reply.to == "bounce-taro@example.ne.jp"
    assert reply.template == "needs_info"
    assert reply.from_mailbox == "LUNA SEA OFFICIAL SITE サポート窓口 <secure_lunasea@example.jp>"
    assert REFERENCE in reply.body
    head = reply.as_text().splitlines()[:2]
    assert head == ["To: bounce-taro@example.ne.jp", f"From: {reply.from_mailbox}"]


def test_render_reply_without_return_path_goes_to_from() -> None:
    reply = render_reply(verdict_of(mail("ログインできません。")), RULES, SETTINGS)
    assert reply is not None
    assert reply.to == "taro@example.jp"


def test_icloud_sender_gets_icloud_rejected() -> None:
    reply = render_reply(verdict_of(mail("ログインできません。", sender="taro@iCloud.com")), RULES, SETTINGS)
    assert reply is not None
    assert reply.template == "icloud_rejected"
    assert reply.language == "ja"


def test_queued_reply_for_a_complete_request() -> None:
    body = "\n".join(
        [
            "ログインできません。よろしくお願いいたします。",
            "・氏名フルネーム(漢字):山田 太郎",
            "・氏名フルネーム(カナ):ヤマダ タロウ",
            "・ご設定のニックネーム:たろう",
            "・ご生年月日(西暦表記8桁):19900102",
            "・お電話番号:090-0000-1234",
            "・ご契約の携帯会社:au",
            "・継続課金ID:60000004444",
            "・会員番号:1234567",
            "・パスワード:19900102",
            "・お持ちのメールアドレス全て:taro@example.jp",
            "・ご住所:埼玉県さいたま市浦和区見本町1-2-3",
        ]
    )
    reply = render_reply(verdict_of(mail(body)), RULES, SETTINGS, reference=REFERENCE)
    assert reply is not None
    assert reply.template == "queued"
    assert "1週間程" in reply.body
    assert "19900102" not in reply.body and "60000004444" not in reply.body
