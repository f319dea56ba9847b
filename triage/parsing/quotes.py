"""Split the member's own text from quoted text (autoreply.md §6).

Quoted: lines starting with `>` (or full-width `＞`), and everything under an attribution line
(`… wrote:`, `…のメッセージ:`, `…のメール:`, Gmail's `2024年5月1日(水) 10:00 山田 <a@b>:`, an Outlook
`差出人:`/`From:` block with `送信日時:`/`Sent:`, `-----Original Message-----`, `----- 元のメッセージ -----`,
forwarded-message rules). After an attribution line whose quote is `>`-marked, unmarked lines
are the member's inline answers and stay theirs; otherwise everything after it is quoted.
"""

from __future__ import annotations

import re

# `|` quotes a line only when it is the line's one bar: `| 氏名 | 山田 |` is a table row, the member's.
_QUOTE_LINE = re.compile(r"^[ \t]*(?:[>＞]|[|｜](?!.*[|｜]))")

_RULES = re.compile(
    r"""^[ \t]*(?:
        -{2,}\s*(?:Original\s+Message|Forwarded\s+message|元のメッセージ|転送メッセージ
                  |転送されたメッセージ|Original)\s*-{2,}
      | _{8,}                                             # Outlook's rule before the header block
      | Begin\ forwarded\ message:
      | 転送されたメッセージ:
    )[ \t]*$""",
    re.IGNORECASE | re.VERBOSE,
)

_ATTRIBUTION_END = re.compile(
    r"""(?:
        \bwrote:
      | \bschrieb:
      | \bescribió:
      | のメッセージ[:：]
      | のメール[:：]
      | からのメール[:：]?
      | さんは書きました[:：]
      | は書きました[:：]
      | 書きました[:：]
      | <[^<>\s]+@[^<>\s]+>[ \t]*[:：]          # Gmail ja: '… 山田 太郎 <taro@example.jp>:'
    )[ \t]*$""",
    re.IGNORECASE | re.VERBOSE,
)

# A dated line that may wrap: "2024年5月1日(水) 10:00 山田 太郎 <taro@" / "On Wed, May 1, 2024 at ..."
_ATTRIBUTION_START = re.compile(
    r"^[ \t]*(?:On[ \t].{4,}|[0-9]{4}[年/\-.][0-9]{1,2}[月/\-.][0-9]{1,2}.{0,80}"
    r"|.{0,80}[0-9]{1,2}:[0-9]{2}.{0,80})$",
    re.IGNORECASE,
)

_HEADER_BLOCK_FIRST = re.compile(r"^[ \t]*\*?(?:差出人|送信者|From)\*?[ \t]*[:：]", re.IGNORECASE)
_HEADER_BLOCK_NEXT = re.compile(
    r"^[ \t]*\*?(?:送信日時|日付|送信日|Sent|Date|宛先|To|件名|Subject)\*?[ \t]*[:：]", re.IGNORECASE
)


def _is_attribution(lines: list[str], index: int) -> int:
    """How many lines form an attribution starting at `index` (0 if none)."""
    line = lines[index]
    if _RULES.match(line):
        return 1
    if _ATTRIBUTION_END.search(line) and not _QUOTE_LINE.match(line):
        return 1
    # An attribution wrapped onto two lines: a dated start, the end on the next line.
    if (
        index + 1 < len(lines)
        and _ATTRIBUTION_START.match(line)
        and _ATTRIBUTION_END.search(lines[index + 1])
        and len(line) + len(lines[index + 1]) < 240
    ):
        return 2
    if _HEADER_BLOCK_FIRST.match(line):
        window = lines[index + 1 : index + 5]
        if sum(1 for other in window if _HEADER_BLOCK_NEXT.match(other)) >= 2:
            return 1
    return 0


def split_quoted(text: str) -> tuple[str, str]:
    """(the member's own text, the quoted text); both keep their line structure."""
    lines = text.split("\n")
    own: list[str] = []
    quoted: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if _QUOTE_LINE.match(line):
            quoted.append(line)
            index += 1
            continue
        span = _is_attribution(lines, index)
        if not span:
            own.append(line)
            index += 1
            continue
        quoted.extend(lines[index : index + span])
        index += span
        following = next((later for later in lines[index:] if later.strip()), "")
        if following and _QUOTE_LINE.match(following):
            continue  # a marked quote follows: unmarked lines after it are inline answers
        quoted.extend(lines[index:])
        break
    return "\n".join(own).strip("\n"), "\n".join(quoted).strip("\n")
