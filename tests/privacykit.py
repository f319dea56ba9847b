"""A member's personal values, mails that carry them, and a scanner that finds any of them in text.

Not a test module: the privacy tests (encryption at rest, the leak scan of a full run, purge)
import it by name. Every value is made up; each is written several ways (as the member wrote it,
normalised, JSON-escaped, as UTF-8 escapes, quoted-printable) so that a leak in any of those
forms is found.
"""

from __future__ import annotations

import base64
import json
import quopri
from collections.abc import Iterable
from dataclasses import dataclass

JO1 = "secure_jo1@fc-support.example.jp"
BILLING = "secure_billing@cc.example.jp"


@dataclass(frozen=True)
class Member:
    """One member: the sender address and the values the mail gives."""

    sender: str
    name: str
    kana: str
    birth: str  # as written
    birth_forms: tuple[str, ...]  # every form a normaliser or formatter could print
    phone: str
    phone_forms: tuple[str, ...]
    payment: str  # a docomo payment number
    member_id: str  # the Plus member ID
    registered: str  # the registered address given in the body

    def body(self, *, birth: bool = True) -> str:
        lines = [
            "お世話になっております。会費を払ったのにログインできません。",
            f"お名前：{self.name}",
            f"フリガナ：{self.kana}",
            "ニックネーム：mizu_fan",
            *([f"生年月日：{self.birth}"] if birth else []),
            "都道府県：奈良県",
            f"電話番号：{self.phone}",
            "コース：月額",
            "支払い方法：キャリア決済",
            "キャリア：ドコモ",
            f"ドコモ決済番号：{self.payment}",
            f"Plus member ID：{self.member_id}",
            f"登録メールアドレス：{self.registered}",
            "パスワードの文字数：10",
        ]
        return "\n".join(lines) + "\n"

    def personal(self) -> list[str]:
        """The values that must never be seen outside the case page (local parts, not domains)."""
        return [
            self.name,
            self.name.replace(" ", ""),
            self.kana,
            self.kana.replace(" ", ""),
            *self.birth_forms,
            *self.phone_forms,
            self.payment,
            self.payment[:8],  # a mask may show the last 4, never more
            self.member_id,
            self.sender.split("@")[0],
            self.registered.split("@")[0],
        ]


MIZUHO = Member(
    sender="mizuho.private55@example.jp",
    name="鷲尾 瑞穂",
    kana="ワシオ ミズホ",
    birth="1994年7月23日",
    birth_forms=("1994年7月23日", "19940723", "1994-07-23", "1994/07/23", "1994/7/23"),
    phone="080-4417-2986",
    phone_forms=("080-4417-2986", "08044172986", "4417-2986", "-4417-"),
    payment="738200419865",
    member_id="E61838207",
    registered="mizuho.w-fan@docomo.ne.jp",
)
KENTA = Member(
    sender="kenta.oshiro19@example.net",
    name="大城 健太",
    kana="オオシロ ケンタ",
    birth="1988年11月2日",
    birth_forms=("1988年11月2日", "19881102", "1988-11-02", "1988/11/02", "1988/11/2"),
    phone="090-7351-8624",
    phone_forms=("090-7351-8624", "09073518624", "7351-8624", "-7351-"),
    payment="551903372846",
    member_id="E27364015",
    registered="kenta-live@docomo.ne.jp",
)
SORA = Member(
    sender="sora.tanabe31@example.org",
    name="田辺 空",
    kana="タナベ ソラ",
    birth="2001年3月14日",
    birth_forms=("2001年3月14日", "20010314", "2001-03-14", "2001/03/14", "2001/3/14"),
    phone="070-6629-4108",
    phone_forms=("070-6629-4108", "07066294108", "6629-4108", "-6629-"),
    payment="419276550318",
    member_id="E50917342",
    registered="sora-mobile@docomo.ne.jp",
)


def mail(member: Member, message_id: str, *, to: str = JO1, birth: bool = True) -> bytes:
    """A UTF-8 8bit mail from ``member`` (without a birth date when ``birth`` is false); the From
    carries the member's name as its display name and the Subject their family name."""
    family = member.name.split()[0]
    head = (
        f"From: {_display(member.name)} <{member.sender}>\nTo: {to}\n"
        f"Subject: ログインできません（{family}）\nMessage-ID: <{message_id}>\n"
        "Date: Sat, 21 Nov 2026 10:00:00 +0900\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n"
    )
    return (head + "\n" + member.body(birth=birth)).replace("\n", "\r\n").encode("utf-8")


def out_of_office(member: Member, message_id: str) -> bytes:
    """An auto-reply (ignored) whose signature carries the member's name and phone."""
    head = (
        f"From: {_display(member.name)} <{member.sender}>\nTo: {JO1}\n"
        f"Subject: 不在のお知らせ\nMessage-ID: <{message_id}>\n"
        "Auto-Submitted: auto-replied\nDate: Sat, 21 Nov 2026 10:00:00 +0900\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n"
    )
    body = f"ただいま不在にしております。\n{member.name}\n{member.phone}\n"
    return (head + "\n" + body).replace("\n", "\r\n").encode("utf-8")


def _display(name: str) -> str:
    """``name`` as an RFC 2047 encoded word (base64), as mail clients write a Japanese name."""
    return "=?UTF-8?B?" + base64.b64encode(name.encode("utf-8")).decode("ascii") + "?="


def forms(value: str) -> set[str]:
    """``value`` as text, JSON-escaped, as Python's UTF-8 escapes, base64 and quoted-printable."""
    found = {value, json.dumps(value)[1:-1], repr(value.encode("utf-8"))[2:-1]}
    found.add(base64.b64encode(value.encode("utf-8")).decode("ascii").rstrip("="))
    found.add(quopri.encodestring(value.encode("utf-8")).decode("ascii").rstrip("=\n"))
    return {form for form in found if form}


def leaks(text: str, values: Iterable[str]) -> list[str]:
    """Each value (in any of its forms) that occurs in ``text``, with a little context."""
    found = []
    for value in values:
        for form in forms(value):
            at = text.find(form)
            if at >= 0:
                found.append(f"{value!r} as {form!r}: ...{text[max(0, at - 60) : at + len(form) + 20]!r}...")
                break
    return found


def byte_leaks(data: bytes, values: Iterable[str]) -> list[str]:
    """Each value whose UTF-8 bytes (or any of its forms) occur in ``data``."""
    return [value for value in values if any(form.encode("utf-8") in data for form in forms(value))]
