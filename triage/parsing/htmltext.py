"""HTML to plain text for extraction (parsing.md §4). Member HTML is never rendered anywhere.

Quoted regions (`blockquote`, Gmail's `gmail_quote`, Outlook's reply header block) come out
with every line prefixed by `> `, so the quote splitter treats them like any other quote.

Linear in the markup and free of patterns of our own: an end tag is looked for on the stack of
open tags only when one of that name is open (a flood of stray end tags under thousands of open
ones would otherwise rescan the whole stack each time), and runs of blanks fold without a regex.

The stdlib's HTMLParser (Python 3.11) rescans to the end of the document for every markup start
that has no `>` after it (`</</</…` took 84 s a megabyte): before parsing, every `<` that can
start no markup, and every `<` after the document's last `>`, is written as `&lt;`, which the
parser reads as the character it is. As a seatbelt the conversion also stops at a deadline (the
mail's reading budget, at most HTML_SECONDS); the markup is then stripped crudely, and the
reader's notes say so.
"""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser
from typing import Final

from triage import textmatch

HTML_SECONDS: Final = 1.0
# A `<` that starts no tag, end tag, comment, declaration or processing instruction.
_LONE_LT: Final = textmatch.compile(r"<(?![A-Za-z/!?])", name="htmltext.lone-lt")


class _OutOfTime(Exception):
    """The conversion passed its deadline."""


_TO_SPACE = str.maketrans({"\t": " ", "\r": " ", "\n": " ", "\f": " "})
_DROP = frozenset({"script", "style", "head", "title", "template", "noscript"})
_BLOCK = frozenset(
    {
        "br",
        "p",
        "div",
        "tr",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "section",
        "article",
        "header",
        "footer",
        "pre",
        "hr",
        "blockquote",
    }
)
_CELL = frozenset({"td", "th"})
_QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix", "protonmail_quote")
_VOID = frozenset(
    {"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "embed", "source", "wbr"}
)


class _TextParser(HTMLParser):
    def __init__(self, deadline: float) -> None:
        super().__init__(convert_charrefs=True)
        self.deadline = deadline
        self.chunks: list[tuple[int, str]] = []  # (quote depth, text)
        self.drop_depth = 0
        self.quote_depth = 0
        self.stack: list[tuple[str, bool]] = []  # (tag, opened a quote)
        self.open_count: Counter[str] = Counter()  # tags on the stack, by name

    def _is_quote(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        if tag == "blockquote":
            return True
        values = {name: (value or "") for name, value in attrs}
        classes = values.get("class", "")
        if any(name in classes for name in _QUOTE_CLASSES):
            return True
        # Outlook's reply header: <div id="divRplyFwdMsg"> or "appendonsend"
        return values.get("id", "") in {"divRplyFwdMsg", "appendonsend"}

    def _check_time(self) -> None:
        if textmatch.now() > self.deadline:
            raise _OutOfTime

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check_time()
        if tag in _DROP:
            self.drop_depth += 1
            self._push(tag, False)
            return
        if tag in _BLOCK or tag in _CELL:
            self.chunks.append((self.quote_depth, "\n" if tag not in _CELL else " "))
        if tag in _VOID:
            return
        quote = self._is_quote(tag, attrs)
        if quote:
            self.quote_depth += 1
        self._push(tag, quote)

    def _push(self, tag: str, quote: bool) -> None:
        self.stack.append((tag, quote))
        self.open_count[tag] += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check_time()
        if tag in _BLOCK:
            self.chunks.append((self.quote_depth, "\n"))

    def handle_endtag(self, tag: str) -> None:
        self._check_time()
        # Close up to the matching open tag; tolerate unbalanced markup. Every tag popped here was
        # pushed once, so the scan costs nothing over the whole document.
        if self.open_count[tag] > 0:
            while self.stack:
                closed, quote = self.stack.pop()
                self.open_count[closed] -= 1
                if closed in _DROP:
                    self.drop_depth -= 1
                if quote:
                    self.quote_depth -= 1
                if closed == tag:
                    break
        if tag in _BLOCK:
            self.chunks.append((self.quote_depth, "\n"))

    def handle_data(self, data: str) -> None:
        self._check_time()
        if self.drop_depth == 0:
            self.chunks.append((self.quote_depth, data))


def _defuse(html: str) -> str:
    """The same document with no markup start the stdlib parser would rescan the rest for."""
    last = html.rfind(">")
    head, tail = html[: last + 1], html[last + 1 :]
    if "<" in tail:
        tail = tail.replace("<", "&lt;")
    return _LONE_LT.sub("&lt;", head) + tail


def _deadline() -> float:
    budget = textmatch.current_budget()
    own = textmatch.now() + HTML_SECONDS
    return own if budget is None else min(own, budget.deadline)


def _crude_text(html: str) -> str:
    """Text outside `<…>`, without a parser: the fallback when the conversion ran out of time."""
    pieces = [html.split("<", 1)[0]]
    for piece in html.split("<")[1:]:
        pieces.append(piece.split(">", 1)[1] if ">" in piece else "")
    lines = (_fold_blanks(line.replace("\xa0", " ")).strip() for line in "".join(pieces).split("\n"))
    return "\n".join(line for line in lines if line)


def html_to_text(html: str) -> str:
    """The text of an HTML body, quotes marked with `> `. Never raises; bounded in time."""
    parser = _TextParser(_deadline())
    try:
        parser.feed(_defuse(html))
        parser.close()
    except (_OutOfTime, textmatch.MatchTimeout):
        textmatch.note_timeout("html: markup stripped without a parser")
        return _crude_text(html)
    return _layout(parser.chunks)


def _layout(chunks: list[tuple[int, str]]) -> str:
    lines: list[str] = []
    current: list[str] = []
    quoted = False
    for depth, chunk in chunks:
        if chunk == "\n":
            lines.append(_finish(current, quoted))
            current, quoted = [], False
            continue
        text = _fold_blanks(chunk.replace("\xa0", " "))
        if text.strip() and depth > 0:
            quoted = True
        current.append(text)
    lines.append(_finish(current, quoted))
    out: list[str] = []
    for line in lines:
        if not line:
            if out and out[-1]:
                out.append("")
            continue
        out.append(line)
    return "\n".join(out).strip("\n")


def _fold_blanks(text: str) -> str:
    """Every run of HTML white space (space, tab, CR, LF, FF) as one space."""
    spaced = text.translate(_TO_SPACE)
    if "  " not in spaced:
        return spaced
    words = " ".join(word for word in spaced.split(" ") if word)
    lead = " " if spaced.startswith(" ") else ""
    tail = " " if spaced.endswith(" ") and words else ""
    return lead + words + tail


def _finish(chunks: list[str], quoted: bool) -> str:
    line = _fold_blanks("".join(chunks)).strip()
    if not line:
        return ""
    return "> " + line if quoted else line
