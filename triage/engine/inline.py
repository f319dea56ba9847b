"""Labels inside sentences (`継続課金IDは40000001234です`, `パスワードに 19911201 を入れました`,
`my member number is …`): on the lines, or the rest of lines, no label at a line's start claimed;
the field's shape says how far the value goes."""

from __future__ import annotations

from triage import textmatch
from triage.engine.readerbase import ReaderBase
from triage.engine.result import Candidate

# Particles between a label inside a sentence and its value (`パスワードに 1234…`, `IDが…`).
# A comma only before a number (`my member number, 9021776, and …`): `no login ID, but …` gives no value.
_INLINE_GAP = textmatch.compile(
    r"(?:(?:は|が|に|を|も)[ ]?|[ ]?(?::|=|is|was|are|were|of)[ ]?|,[ ]?(?=[0-9])|[ ])?"
)
_EN_BREAKS = frozenset({"and", "or", "but", "then", "also", "plus"})
_OF_PHRASE = textmatch.compile(r"[^0-9、。,.]{1,8}の[ ]?")
_SHORT_TERM_FOLLOWERS = frozenset(("は", ":", "=", " ", "(", "（", "→", "が", "も", ""))
# `My nickname on the site is emi_s`: a few words between an English label and its verb.
# `my continuous billing ID (継続課金ID) is …`: the label's own gloss in brackets may stand among the words.
_EN_GAP = textmatch.compile(
    r"[ ]?(?:[A-Za-z']+[ ]|[(（][^()（）]{1,20}[)）][ ]){0,7}?(?:is|was|are|were|:|=)[ ]",
    textmatch.IGNORECASE,
)
_HINTS_AFTER = textmatch.compile(r"(?:[ ]?[(（\[【][^()（）\[\]【】]{0,20}[)）\]】])+")


class InlineLabels(ReaderBase):
    """The inline pass of the reader."""

    def _inline_pass(self) -> None:
        """Labels inside sentences, on lines (or the rest of lines) no label claimed."""
        for index, line in enumerate(self.text):
            start = self.inline_from.get(index, len(line) if index in self.consumed else 0)
            if start >= len(line):
                continue
            try:
                self._inline_exact(index, line, start)
                self._inline_terms(index, line, start)
            except textmatch.MatchTimeout:
                continue

    def _inline_exact(self, index: int, line: str, start: int) -> None:
        for match in self.labels.inline_labels(line, start):
            target = self.labels.exact(match.group("label"))
            if not target or target.startswith("compound:"):
                continue
            cue = line[match.start("label") : match.end("label")]  # as written, not lower-cased
            self._inline_value(index, line, target, match.end(), cue, gap=not match.group("sep"))

    def _inline_terms(self, index: int, line: str, start: int) -> None:
        """A label word inside a sentence: the words before it (up to a pause) make the label."""
        for match in self.labels.words(line, start):
            after = line[match.end() : match.end() + 1]
            if match.end() - match.start() < 3 and after not in _SHORT_TERM_FOLLOWERS:
                continue  # `かな` inside `届かない` is no label
            context = self._context(line, match)
            hints = _HINTS_AFTER.match(line, match.end())
            end = hints.end() if hints else match.end()
            if line[end : end + 1] in (")", "）") and "(" in context:  # `呼び名(ニックネーム)は「せつこ」`
                end += 1
            begin = match.end() - len(context)
            target = self.labels.classify(line[begin:end]) or self.labels.classify(context)
            if not target or target.startswith("compound:"):
                continue
            self._inline_value(index, line, target, end, line[begin:end])

    @staticmethod
    def _context(line: str, match: textmatch.Match[str]) -> str:
        """The label around a label word: back to the last pause (Japanese), or up to four words (English)."""
        word_itself = line[match.start() : match.end()]
        if word_itself[:1].isascii():
            words: list[str] = []
            for word in reversed(line[: match.start()].rstrip().split(" ")[-4:]):
                if not word.isascii() or not word.isalpha() or word.lower() in _EN_BREAKS:
                    break
                words.insert(0, word)
            return " ".join([*words, word_itself])
        begin = max(line.rfind(mark, 0, match.start()) for mark in "、。,. 「")
        return line[begin + 1 : match.end()]

    def _inline_value(  # noqa: PLR0917
        self, index: int, line: str, target: str, at: int, cue: str, gap: bool = True
    ) -> None:
        if gap:  # `ニックネームはももち`: after the label's own は, `も` is the value's
            found = _EN_GAP.match(line, at) if cue[-1:].isascii() else None
            if found is None:
                found = _INLINE_GAP.match(line, at)
            at = found.end() if found else at
        value = self._corrected_value(target, line[at:]) if index in self.corrections else None
        if value is None:
            value = self._shape_value(target, line[at:])
        if value is None:
            phrase = _OF_PHRASE.match(line, at)  # `パスワードは生年月日の19950309`
            if phrase is not None:
                value = self._shape_value(target, line[phrase.end() :])
        more: str = ""
        more_spans: tuple[tuple[int, int], ...] = ()
        if value is None:
            value, more, more_spans = self._across_lines(target, index, at)
        else:
            more, more_spans = self._continuation(target, value, index, at)
        if value is not None:
            span = self.lines[index].locate(value, at)
            self.candidates.append(
                Candidate(
                    target,
                    value,
                    index + 1,
                    "inline",
                    (span,) if span else (),
                    cue,
                    index in self.corrections,
                    more,
                    more_spans,
                )
            )
