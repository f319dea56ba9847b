"""HTML to plain text for extraction (parsing.md §4). Member HTML is never rendered anywhere.

Quoted regions (`blockquote`, Gmail's `gmail_quote`, Outlook's reply header block) come out
with every line prefixed by `> `, so the quote splitter treats them like any other quote.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLANKS = re.compile(r"[ \t\r\n\f]+")
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
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[tuple[int, str]] = []  # (quote depth, text)
        self.drop_depth = 0
        self.quote_depth = 0
        self.stack: list[tuple[str, bool]] = []  # (tag, opened a quote)

    def _is_quote(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        if tag == "blockquote":
            return True
        values = {name: (value or "") for name, value in attrs}
        classes = values.get("class", "")
        if any(name in classes for name in _QUOTE_CLASSES):
            return True
        # Outlook's reply header: <div id="divRplyFwdMsg"> or "appendonsend"
        return values.get("id", "") in {"divRplyFwdMsg", "appendonsend"}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP:
            self.drop_depth += 1
            self.stack.append((tag, False))
            return
        if tag in _BLOCK or tag in _CELL:
            self.chunks.append((self.quote_depth, "\n" if tag not in _CELL else " "))
        if tag in _VOID:
            return
        quote = self._is_quote(tag, attrs)
        if quote:
            self.quote_depth += 1
        self.stack.append((tag, quote))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK:
            self.chunks.append((self.quote_depth, "\n"))

    def handle_endtag(self, tag: str) -> None:
        # Close up to the matching open tag; tolerate unbalanced markup.
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                for closed, quote in self.stack[index:]:
                    if closed in _DROP:
                        self.drop_depth -= 1
                    if quote:
                        self.quote_depth -= 1
                del self.stack[index:]
                break
        if tag in _BLOCK:
            self.chunks.append((self.quote_depth, "\n"))

    def handle_data(self, data: str) -> None:
        if self.drop_depth == 0:
            self.chunks.append((self.quote_depth, data))


def html_to_text(html: str) -> str:
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    lines: list[str] = []
    current: list[str] = []
    quoted = False
    for depth, chunk in parser.chunks:
        if chunk == "\n":
            lines.append(_finish(current, quoted))
            current, quoted = [], False
            continue
        text = _BLANKS.sub(" ", chunk.replace("\xa0", " "))
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


def _finish(chunks: list[str], quoted: bool) -> str:
    line = _BLANKS.sub(" ", "".join(chunks)).strip()
    if not line:
        return ""
    return "> " + line if quoted else line
