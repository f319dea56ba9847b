"""HTML to text (parsing.md §4): dropped elements, line breaks, entities, quoted regions."""

from __future__ import annotations

from triage.parsing.htmltext import html_to_text
from triage.parsing.quotes import split_quoted


def lines(html: str) -> list[str]:
    """Non-blank lines (blocks are separated by at most one blank line)."""
    return [line for line in html_to_text(html).splitlines() if line]


def test_script_style_head_dropped_text_kept() -> None:
    html = (
        "<html><head><title>件名</title><style>.a{color:red}</style></head><body>"
        "<script>document.write('x')</script><p>氏名:山田&nbsp;太郎</p>"
        "<div>電話番号:090-0000-1234<br>メール:taro@example.jp</div></body></html>"
    )
    assert lines(html) == ["氏名:山田 太郎", "電話番号:090-0000-1234", "メール:taro@example.jp"]


def test_entities_unescaped_and_cells_spaced() -> None:
    html = "<table><tr><td>氏名</td><td>山田 &amp; 太郎</td></tr><tr><td>&lt;TEL&gt;</td></tr></table>"
    assert lines(html) == ["氏名 山田 & 太郎", "<TEL>"]


def test_blockquote_marked_quoted() -> None:
    html = "<div>電話番号:090-0000-1234</div><blockquote><div>氏名をお知らせください。</div></blockquote>"
    assert lines(html) == ["電話番号:090-0000-1234", "> 氏名をお知らせください。"]
    assert split_quoted(html_to_text(html)) == ("電話番号:090-0000-1234", "> 氏名をお知らせください。")


def test_gmail_quote_marked_quoted() -> None:
    html = (
        '<div dir="ltr">山田です。</div><br><div class="gmail_quote">'
        '<div dir="ltr" class="gmail_attr">'
        "2024年5月10日(金) 10:15 Desk &lt;secure_x@example.jp&gt;:<br></div>"
        "<div>会員番号を教えてください。</div></div>"
    )
    own, quoted = split_quoted(html_to_text(html))
    assert own == "山田です。"
    assert "会員番号を教えてください。" in quoted


def test_outlook_reply_header_marked_quoted() -> None:
    html = '<p>Thanks</p><div id="divRplyFwdMsg"><b>From:</b> Desk<br><b>Sent:</b> today</div>'
    own, quoted = split_quoted(html_to_text(html))
    assert own == "Thanks"
    assert "Desk" in quoted


def test_unbalanced_markup_tolerated() -> None:
    assert lines("<p>山田<b>太郎</p></div></span>電話") == ["山田太郎", "電話"]


def test_a_lone_less_than_is_text() -> None:
    assert html_to_text("<p>a < b and 3<4</p><p>x</p>") == "a < b and 3<4\n\nx"


def test_markup_left_open_at_the_end_is_text() -> None:
    assert html_to_text("<p>price</p></</<!") == "price\n</</<!"


def test_end_tags_of_unopened_names_change_nothing() -> None:
    assert html_to_text("<blockquote><div>q</div>" + "</x>" * 3 + "</blockquote><p>own</p>") == "> q\n\nown"
