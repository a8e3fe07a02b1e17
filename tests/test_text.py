"""The cleaning door: nothing a terminal would act on survives, readable text does."""

from __future__ import annotations

import pytest

from carefeed.text import clean_text, html_to_line, html_to_text, one_line_error, safe_url

ESCAPES = [
    "\x1b]0;pwned title\x07",  # OSC 0, BEL-terminated
    "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGU=\x1b\\",  # OSC 52 clipboard write, ST-terminated
    "\x1b]8;;https://evil.example\x1b\\",  # OSC 8 hyperlink
    "\x1b[2J",  # clear screen
    "\x1b[31;1m",  # SGR colour
    "\x9b31m",  # C1 CSI
    "\x9d0;x\x9c",  # C1 OSC
    "\x00\x07\x08\x0b\x0c\x7f",
]


@pytest.mark.parametrize("payload", ESCAPES)
def test_escape_sequences_and_controls_are_removed(payload: str):
    cleaned = clean_text(f"Carers {payload}week")
    assert cleaned == "Carers week"
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in cleaned)


def test_bidi_and_zero_width_removed_but_emoji_joiner_kept():
    assert clean_text("Invoice \u202egnp.exe") == "Invoice gnp.exe"
    assert clean_text("fund\u200bing \u2066x\u2069") == "funding x"
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert clean_text(family) == family


def test_markup_stays_literal_text():
    assert clean_text("[@click=app.quit]x[/]") == "[@click=app.quit]x[/]"
    assert clean_text("Adult social care [Green Paper] response") == (
        "Adult social care [Green Paper] response"
    )


def test_length_cap_and_multiline_mode():
    assert len(clean_text("x" * 5_000_000)) == 500
    body = clean_text("Para one.\r\n\r\n\r\n\r\nPara\ttwo.  \n", single_line=False)
    assert body == "Para one.\n\nPara    two."


def test_html_to_text_keeps_structure_and_drops_scripts():
    html = (
        "<h2>Eligibility</h2><p>The <b>Care Act</b> duty &amp; the "
        '<a href="/guidance">guidance</a>.</p><ul><li>assessment</li><li>review</li></ul>'
        "<blockquote>Quoted carer view</blockquote><script>alert(1)</script>"
        '<a href="javascript:alert(1)">not a link</a><img src="x" onerror="y()" alt="chart">'
    )
    text = html_to_text(html, "https://blog.example/2026/post/")
    assert text.startswith("## Eligibility\n\nThe Care Act duty & the guidance[1].")
    assert "• assessment\n• review" in text
    assert "> Quoted carer view" in text
    assert "alert" not in text and "javascript" not in text
    assert "not a link" in text and "[image: chart]" in text
    assert text.endswith("[1]: https://blog.example/guidance")


def test_html_to_line_for_titles():
    assert html_to_line("<b>Care</b> &amp; <script>x()</script>support") == "Care & support"
    assert html_to_line("Plain &lt;b&gt; title") == "Plain <b> title"


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("javascript:alert(1)", None),
        ("data:text/html,<b>x</b>", None),
        ("file:///etc/passwd", None),
        ("feed:https://a.example/x", None),
        ("https://a.example/x y", None),
        ("https://a.example/\x1b]8;;x", None),
        ("HTTPS://a.example/Path?q=1", "https://a.example/Path?q=1"),
        ("/relative/post", "https://blog.example/relative/post"),
        ("//other.example/p", "https://other.example/p"),
    ],
)
def test_safe_url(link: str, expected: str | None):
    assert safe_url(link, "https://blog.example/feed/") == expected


def test_option_like_link_never_comes_out_bare():
    assert safe_url("--renderer-cmd-prefix=/bin/sh") is None
    resolved = safe_url("--renderer-cmd-prefix=/bin/sh", "https://blog.example/feed/")
    assert resolved == "https://blog.example/feed/--renderer-cmd-prefix=/bin/sh"


def test_javascript_base_is_ignored():
    assert safe_url("/p", "javascript:alert(1)//") is None


def test_one_line_error():
    message = one_line_error("HTTP 500 [@click=app.quit] \x1b]0;pwn\x07 broken\nsecond line" * 20)
    assert "\x1b" not in message and "\n" not in message and len(message) <= 200
    assert one_line_error("") == "unknown error"


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        # Raw-text elements vanish up to their end tag, in any case, or to the end.
        ("<p>a<script>x</p><b>y</b></SCRIPT >b</p><p>c<style>never closed <p>d", "ab\n\nc"),
        # The end tag is found with re.IGNORECASE's Unicode folding, as it always was.
        (
            "<p>one<xmp><p>two</xmp></p><TITLE>t</tıtle>three<Script>s</ſcript>four",
            "one\n\nthreefour",
        ),
        ("<scripts>kept</scripts> <script-x>kept too</script-x>", "kept kept too"),
        ("<!-- <script> -->shown<![CDATA[x]]><?pi?>", "shown"),
        ("<header>Top</header>Body<section>s</section>end", "Top\n\nBody\ns\nend"),
        ("<blockquote><pre>a\n  b\t \nc</pre></blockquote>", "a\n  b\nc"),
        ("<table><tr><td>a <td>b </td></tr></table>&nbsp;<p>x&nbsp;</p>", " a  b\n\nx"),
        ("<p>Bell\x07 &#x202e;rev &#12; tab\there</p>", "Bell rev tab here"),
        # Inline tags go before the walk, so text and attributes join across them.
        ("<p>sp&am<b>p;ace</b></p>", "sp&ace"),
    ],
)
def test_html_to_text_edge_cases(html: str, expected: str):
    assert html_to_text(html) == expected


def test_html_to_text_trailing_spaces_and_links():
    html = '<ul><li></li><li>x <a href="/p">y</a> </li></ul><a title="<b>" href="/x<i>y">l</a>'
    assert html_to_text(html, "https://blog.example/") == (
        "•\n• x y[1]\n\nl[2]\n\n[1]: https://blog.example/p\n[2]: https://blog.example/xy"
    )


def test_every_character_clean_text_drops_is_unprintable():
    """html_to_text skips clean_text's scan for a body printable line by line: that is only
    safe while nothing clean_text removes or rewrites could pass str.isprintable."""
    from carefeed.text import _DROP

    dropped = [*map(chr, _DROP), "\r", "\t", *map(chr, range(0xD800, 0xE000))]
    assert not any(c.isprintable() for c in dropped)
    assert html_to_text("<p>a\u202eb\u200bc</p>") == "abc"
