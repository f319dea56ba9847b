"""format=flowed text (RFC 3676) back to the lines the member wrote.

A client that sends `format=flowed` wraps long lines itself and marks each soft break with a
space at the end of the line; the reader joins such a line with the next one. With `delsp=yes`
that space was added by the client and is deleted when the lines are joined (§4.2), so a phone
number or an e-mail address the client broke (`090-3318- ` / `7702`) reads whole again. A line
starting with a space was space-stuffed (§4.4) and loses that one space. Only the member's own
lines are unwrapped: quoted lines (`>`) are left exactly as written, for the quote splitter, and
a quoted line never joins an unquoted one (§4.5, different quote depth). The signature separator
`-- ` is never a soft break (§4.3); an empty line or `-- ` after a soft break is kept.

Plain string operations only: no pattern runs over the member's text here.
"""

from __future__ import annotations

__all__ = ["is_flowed", "unflow"]


def is_flowed(content_type: str) -> tuple[bool, bool]:
    """(format=flowed, delsp=yes) from a raw Content-Type value; cheap and forgiving."""
    low = content_type.lower()
    if "flowed" not in low:
        return False, False
    params = {}
    for item in low.split(";")[1:]:
        key, _, value = item.partition("=")
        params[key.strip()] = value.strip().strip('"').strip()
    return params.get("format") == "flowed", params.get("delsp") == "yes"


def unflow(text: str, *, delsp: bool) -> str:
    """Join soft-broken lines of flowed text (LF, CRLF or CR line ends); other lines unchanged."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    pending: str | None = None  # an unquoted line that ended with a soft break
    for written in lines:
        if written.startswith(">"):
            if pending is not None:
                out.append(pending)
                pending = None
            out.append(written)
            continue
        line = written[1:] if written.startswith(" ") else written  # space-stuffed
        if pending is not None and (not line or line == "-- "):
            # A soft break before an empty line or the signature separator: the paragraph ends
            # there and that line is kept, so the member's paragraphs stay apart as they saw them.
            out.extend((pending, line))
            pending = None
            continue
        joined = line if pending is None else pending + line
        if line.endswith(" ") and line != "-- ":
            pending = joined[:-1] if delsp else joined
            continue
        pending = None
        out.append(joined)
    if pending is not None:
        out.append(pending)
    return "\n".join(out)
