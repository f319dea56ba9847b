"""The message catalogue of the staff pages: Japanese first, English available.

The language is the staff member's own setting, else the browser's ``Accept-Language`` (the
first of ``ja``/``en`` by quality), else Japanese. A key missing in English falls back to Japanese;
a key missing everywhere shows as itself, so a typo is visible, never a crash.
"""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("ja", "en")
DEFAULT_LANGUAGE: Final = "ja"

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "ja": {
        "app_title": "triage 受付窓口",
        "login_title": "ログイン",
        "login_name": "ユーザー名",
        "login_password": "パスワード",
        "login_submit": "ログイン",
        "login_failed": (
            "ログインできませんでした。ユーザー名とパスワードを確かめ、しばらくしてからもう一度お試しください。"
        ),
        "logout": "ログアウト",
        "queue": "受付一覧",
        "admin_audit": "監査ログ",
        "counts": "件数",
        "all": "すべて",
        "mailbox": "窓口",
        "status": "状態",
        "age": "経過",
        "age_any": "指定なし",
        "age_over": "{days}日以上",
        "assignee": "担当",
        "mine": "自分の担当のみ",
        "filter": "絞り込む",
        "reference": "受付番号",
        "sender": "送信者",
        "created": "受付日時",
        "target": "返信目標",
        "overdue": "期限超過",
        "days": "{days}日",
        "hours": "{hours}時間",
        "no_cases": "該当する案件はありません",
        "next_page": "次へ",
        "first_page": "最初から",
        "unassigned": "未担当",
        "status_needs_info": "不足あり",
        "status_icloud_rejected": "iCloud",
        "status_queued": "対応待ち",
        "status_resolved": "解決済み",
        "status_not_a_request": "依頼ではない",
        "case": "案件",
        "fields": "項目",
        "field": "項目",
        "value": "値",
        "invalid": "不正",
        "show": "表示",
        "masked_hint": "表示すると記録されます",
        "member_text": "本文(会員が書いた部分)",
        "quoted": "引用部分(読み取り対象外)",
        "attachments": "添付ファイル(読み取り対象外)",
        "not_read": "読み取り対象外",
        "thread": "やりとり",
        "inbound_mail": "受信",
        "reply": "返信",
        "why": "判定の理由",
        "missing": "不足",
        "notes": "メモ",
        "history": "履歴",
        "claimed_by": "担当: {name}",
        "claimed_by_other": "この案件は {name} さんが担当しています",
        "claim": "担当する",
        "release": "担当を外す",
        "resolve": "解決にする",
        "resolve_note": "対応メモ",
        "not_a_request": "依頼ではない",
        "reopen": "再開する",
        "actions": "操作",
        "conflict_title": "この案件は画面を開いた後に変更されました",
        "conflict_body": "操作は行われていません。最新の内容を確かめてからやり直してください。",
        "conflict_changes": "その間の変更",
        "back_to_case": "案件に戻る",
        "refused_role": "この操作の権限がありません",
        "refused_status": "この状態の案件にはこの操作はできません",
        "refused_claimed": "他の人が担当している案件です",
        "refused_claimed_self": "すでに担当しています",
        "refused_not_claimed": "担当者がいません",
        "done": "完了しました",
        "not_found": "ページが見つかりません",
        "forbidden": "このページを開く権限がありません",
        "bad_request": "リクエストを処理できませんでした",
        "error": "エラーが発生しました",
        "csrf_failed": "フォームの有効期限が切れました。ページを読み込み直してください。",
        "export_csv": "CSVで書き出す",
        "when": "日時",
        "who": "誰が",
        "from_where": "接続元",
        "what": "操作",
        "language": "言語",
        "no_text": "(本文なし)",
        "value_not_found": "本文中に見つかりません",
        "keys_help": "キー操作: j/k 移動, o 開く, ? ヘルプ",
        "mailbox_total": "合計",
    },
    "en": {
        "app_title": "triage support desk",
        "login_title": "Log in",
        "login_name": "User name",
        "login_password": "Password",
        "login_submit": "Log in",
        "login_failed": "Could not log in. Check the name and password and try again in a moment.",
        "logout": "Log out",
        "queue": "Queue",
        "admin_audit": "Audit log",
        "counts": "Counts",
        "all": "All",
        "mailbox": "Mailbox",
        "status": "Status",
        "age": "Age",
        "age_any": "Any",
        "age_over": "{days}+ days",
        "assignee": "Assignee",
        "mine": "Mine only",
        "filter": "Filter",
        "reference": "Reference",
        "sender": "Sender",
        "created": "Received",
        "target": "Reply target",
        "overdue": "Overdue",
        "days": "{days} d",
        "hours": "{hours} h",
        "no_cases": "No cases match",
        "next_page": "Next",
        "first_page": "First page",
        "unassigned": "Unassigned",
        "status_needs_info": "Needs info",
        "status_icloud_rejected": "iCloud",
        "status_queued": "Queued",
        "status_resolved": "Resolved",
        "status_not_a_request": "Not a request",
        "case": "Case",
        "fields": "Fields",
        "field": "Field",
        "value": "Value",
        "invalid": "Invalid",
        "show": "Show",
        "masked_hint": "Showing is recorded",
        "member_text": "The member's own text",
        "quoted": "Quoted part (not read)",
        "attachments": "Attachments (not read)",
        "not_read": "not read",
        "thread": "Thread",
        "inbound_mail": "Received",
        "reply": "Reply",
        "why": "Why this verdict",
        "missing": "Missing",
        "notes": "Notes",
        "history": "History",
        "claimed_by": "Claimed by {name}",
        "claimed_by_other": "{name} is working on this case",
        "claim": "Claim",
        "release": "Release",
        "resolve": "Resolve",
        "resolve_note": "Note",
        "not_a_request": "Not a request",
        "reopen": "Reopen",
        "actions": "Actions",
        "conflict_title": "This case changed after you opened it",
        "conflict_body": "Nothing was done. Check the latest state and try again.",
        "conflict_changes": "Changes since",
        "back_to_case": "Back to the case",
        "refused_role": "You may not do this",
        "refused_status": "This action is not possible in the case's status",
        "refused_claimed": "Someone else is working on this case",
        "refused_claimed_self": "You have claimed this case already",
        "refused_not_claimed": "Nobody has claimed this case",
        "done": "Done",
        "not_found": "Page not found",
        "forbidden": "You may not open this page",
        "bad_request": "The request could not be handled",
        "error": "Something went wrong",
        "csrf_failed": "The form has expired. Reload the page and try again.",
        "export_csv": "Export CSV",
        "when": "When",
        "who": "Who",
        "from_where": "From",
        "what": "Action",
        "language": "Language",
        "no_text": "(no text)",
        "value_not_found": "not found in the text",
        "keys_help": "Keys: j/k move, o open, ? help",
        "mailbox_total": "Total",
    },
}


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
