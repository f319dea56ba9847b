"""Split the member's own text from quoted text (autoreply.md §6).

Quoted: lines starting with `>` (or full-width `＞`), and everything under an attribution line
(`… wrote:`, `…のメッセージ:`, `…のメール:`, Gmail's `2024年5月1日(水) 10:00 山田 <a@b>:`, an Outlook
`差出人:`/`From:` block with `送信日時:`/`Sent:`, `-----Original Message-----`, `----- 元のメッセージ -----`,
forwarded-message rules). After an attribution line whose quote is `>`-marked, unmarked lines
are the member's inline answers and stay theirs; otherwise everything after it is quoted.

Linear in the text: every pattern is anchored or bounded, and each line is looked at a fixed
number of times. A pattern runs only on a line that has what it needs (an attribution ends in a
colon or `メール`, a rule starts with `--`, `__`, `Begin` or `転送`): most lines cost no pattern at
all, which matters because each timed call has a fixed cost of microseconds. Should the mail's
reading budget run out all the same, the lines not yet looked at count as the member's own text
(an answer may be in them; a quote misread as the member's costs less than the member's words
dropped), and the reader's notes say so.
"""

from __future__ import annotations

from triage import textmatch

_RULES = textmatch.compile(
    r"""^[ \t]*(?:
        -{2,}\s*(?:Original\s+Message|Forwarded\s+message|元のメッセージ|転送メッセージ
                  |転送されたメッセージ|Original)\s*-{2,}
      | _{8,}                                             # Outlook's rule before the header block
      | Begin\ forwarded\ message:
      | 転送されたメッセージ:
    )[ \t]*$""",
    textmatch.IGNORECASE | textmatch.VERBOSE,
    name="quotes.rule",
)

_ATTRIBUTION_END = textmatch.compile(
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
    textmatch.IGNORECASE | textmatch.VERBOSE,
    name="quotes.attribution-end",
)

# A dated line that may wrap: "2024年5月1日(水) 10:00 山田 太郎 <taro@" / "On Wed, May 1, 2024 at ..."
_ATTRIBUTION_START = textmatch.compile(
    r"^[ \t]*(?:On[ \t].{4,}|[0-9]{4}[年/\-.][0-9]{1,2}[月/\-.][0-9]{1,2}.{0,80}"
    r"|.{0,80}[0-9]{1,2}:[0-9]{2}.{0,80})$",
    textmatch.IGNORECASE,
    name="quotes.attribution-start",
)

_HEADER_BLOCK_FIRST = textmatch.compile(
    r"^[ \t]*\*?(?:差出人|送信者|From)\*?[ \t]*[:：]", textmatch.IGNORECASE, name="quotes.header-block"
)
_HEADER_BLOCK_NEXT = textmatch.compile(
    r"^[ \t]*\*?(?:送信日時|日付|送信日|Sent|Date|宛先|To|件名|Subject)\*?[ \t]*[:：]",
    textmatch.IGNORECASE,
    name="quotes.header-block-next",
)
# An attribution longer than this is not one (its end pattern is searched only in shorter lines).
_ATTRIBUTION_MAX = 400


def _is_quote_line(line: str) -> bool:
    """`>`/`＞` lines, and a line opening with a bar that is its only bar (`| 氏名 | 山田 |` is a
    table row, the member's own)."""
    start = line.lstrip(" \t")
    if start.startswith((">", "＞")):
        return True
    return start.startswith(("|", "｜")) and "|" not in start[1:] and "｜" not in start[1:]


def _may_be_rule(line: str) -> bool:
    start = line.lstrip(" \t")
    return start.startswith(("--", "__", "転送")) or start[:5].lower() == "begin"


def _may_end_attribution(line: str) -> bool:
    return line.rstrip(" \t").endswith((":", "：", "メール"))


def _may_open_header_block(line: str) -> bool:
    """What `_HEADER_BLOCK_FIRST` needs first, past the indent and a `*`: 差出人, 送信者 or From."""
    start = line.lstrip(" \t")
    if start.startswith("*"):
        start = start[1:]
    return start[:1] in ("差", "送", "F", "f")


def _has_colon(line: str) -> bool:
    return ":" in line or "：" in line


def _is_attribution(lines: list[str], index: int) -> int:
    """How many lines form an attribution starting at `index` (0 if none)."""
    line = lines[index]
    if len(line) > _ATTRIBUTION_MAX:
        return 0
    if _may_be_rule(line) and _RULES.match(line):
        return 1
    if _may_end_attribution(line) and _ATTRIBUTION_END.search(line) and not _is_quote_line(line):
        return 1
    # An attribution wrapped onto two lines: a dated start, the end on the next line.
    if (
        index + 1 < len(lines)
        and len(line) + len(lines[index + 1]) < 240
        and _may_end_attribution(lines[index + 1])
        and _ATTRIBUTION_START.match(line)
        and _ATTRIBUTION_END.search(lines[index + 1])
    ):
        return 2
    if _has_colon(line) and _may_open_header_block(line) and _HEADER_BLOCK_FIRST.match(line):
        window = lines[index + 1 : index + 5]
        if sum(1 for other in window if _has_colon(other) and _HEADER_BLOCK_NEXT.match(other)) >= 2:
            return 1
    return 0


def _next_text_line(lines: list[str], index: int) -> str:
    """The first line at or after `index` with something on it ("" if none)."""
    while index < len(lines):
        if lines[index].strip():
            return lines[index]
        index += 1
    return ""


# A member answering between the quoted questions (`> ・氏名(漢字)` / `福田 健太` / `> ・氏名(カナ)` /
# …): at least this many `>` runs each directly followed by the member's own lines.
_INLINE_ANSWERS = 3


def _answered_runs(lines: list[str]) -> set[int]:
    """Indexes of `>` lines in runs that the member answers right under (when enough runs are)."""
    runs: list[list[int]] = []
    answered: list[bool] = []
    index = 0
    while index < len(lines):
        if not lines[index].lstrip(" \t").startswith((">", "＞")):
            index += 1
            continue
        run: list[int] = []
        while index < len(lines) and lines[index].lstrip(" \t").startswith((">", "＞")):
            run.append(index)
            index += 1
        after = _next_text_line(lines, index)
        runs.append(run)
        answered.append(bool(after) and not after.lstrip(" \t").startswith((">", "＞")))
    if sum(answered) < _INLINE_ANSWERS:
        return set()
    return {line for run, answer in zip(runs, answered, strict=True) if answer for line in run}


def split_quoted(text: str) -> tuple[str, str]:
    """(the member's own text, the quoted text); both keep their line structure.

    When the member answers between quoted questions (three or more `>` runs, each followed by
    their own lines), those runs stay in the member's text: they are the labels of the answers
    under them (readings: the FAQ's labels quoted, the answers between). A run no answer follows
    (the rest of the quoted mail) is still quoted.
    """
    lines = text.split("\n")
    kept = _answered_runs(lines)
    own: list[str] = []
    quoted: list[str] = []
    index = 0
    try:
        while index < len(lines):
            line = lines[index]
            if index in kept:
                own.append(line)
                index += 1
                continue
            if _is_quote_line(line):
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
            following = _next_text_line(lines, index)
            if following and _is_quote_line(following):
                continue  # a marked quote follows: unmarked lines after it are inline answers
            quoted.extend(lines[index:])
            index = len(lines)
    except textmatch.MatchTimeout:
        textmatch.note_timeout("quotes: the rest kept as the member's text")
        own.extend(lines[index:])
    return "\n".join(own).strip("\n"), "\n".join(quoted).strip("\n")
