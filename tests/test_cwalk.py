"""The compiled walk (``linesift._cwalk``) gives exactly the lines of the Python ``_walk``."""

from __future__ import annotations

import math
import os
from pathlib import Path

import lxml.etree as etree
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linesift import segment
from linesift.dataset import load_readability, load_wcxb, read_page_file
from linesift.segment import PageLines, segment_html

pytestmark = pytest.mark.skipif(
    segment._cwalk is None,
    reason="linesift._cwalk is not built (pip install -e . builds it: needs Cython and a C "
    "compiler)",
)

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"


def _same(a: object, b: object) -> bool:
    return a == b or (
        isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
    )


def _assert_same_lines(a: PageLines, b: PageLines) -> None:
    assert a.is_html == b.is_html
    for name, x in a.columns().items():
        y = b.columns()[name]
        assert len(x) == len(y), name
        bad = [(i, u, v) for i, (u, v) in enumerate(zip(x, y, strict=True)) if not _same(u, v)]
        assert not bad, (name, bad[:3])
        # same types too: the feature frame's dtypes follow them
        assert [type(u) for u in x] == [type(v) for v in y], name


def _segment_both(html: str, monkeypatch: pytest.MonkeyPatch) -> PageLines:
    """``segment_html`` with the Python walk over the tree, with the compiled one, and
    driven by the parser's events (``sax_walk``, where it does not give up): the same
    lines."""
    with monkeypatch.context() as m:
        m.setattr(segment, "SAX_WALK", False)
        m.setattr(segment, "_walk_impl", segment._walk)
        expected = segment_html(html)
        m.setattr(segment, "_walk_impl", segment._walk_compiled)
        got = segment_html(html)
    _assert_same_lines(expected, got)
    if segment.SAX_WALK:
        _assert_same_lines(expected, segment_html(html))
    return got


def _sax_result(html: str) -> object:
    """``sax_walk``'s result for a page as ``segment_html`` calls it (None: it gave up)."""
    clean = segment._clean(html)
    return segment._cwalk.sax_walk(segment._utf8(clean), 0, True, 0, segment._end_key(clean))


def _walk_both(html: str, *, compiled: bool = True) -> None:
    """Both walks on one parsed tree: same lines, element index, swallowed rests and
    structured-data scripts; and the compiled walk ran (did not hand the tree back to the
    Python walk) when ``compiled``."""
    clean = segment._clean(html)
    root, _ = segment._parse(clean, cleaned=True)
    if root is None:
        return
    end = segment._end_key(clean)
    results = []
    for walk in (segment._walk, segment._walk_compiled):
        lines, swallowed, scripts = PageLines(), [], []
        index = walk(root, lines, 0, swallowed, first_index=7, page_end=end, scripts=scripts)
        results.append((lines, swallowed, index, scripts))
    _assert_same_lines(results[0][0], results[1][0])
    assert results[0][1:] == results[1][1:]
    raw = segment._cwalk.walk(root, 0, True, 7, end)
    assert (raw is not None) == compiled


@pytest.fixture(scope="module")
def real_pages() -> list[str]:
    pages = [p.source for i, p in enumerate(load_wcxb()) if i % 25 == 0][:60]
    return pages + [p.source for p in load_readability(limit=20)]


def test_compiled_walk_in_use() -> None:
    if os.environ.get("LINESIFT_PURE_PYTHON"):
        assert not segment.COMPILED_WALK
        assert segment._walk_impl is segment._walk
    else:
        assert segment.COMPILED_WALK
        assert segment._walk_impl is segment._walk_compiled


def test_sax_walk_in_use() -> None:
    """The event-driven walk runs unless the compiled walk is off or LINESIFT_TREE_WALK is
    set: it found libxml2's functions in lxml's module."""
    expected = segment.COMPILED_WALK and not os.environ.get("LINESIFT_TREE_WALK")
    assert expected == segment.SAX_WALK
    if expected:
        assert segment._cwalk.sax_walk(b"<p>x</p>", 0, True, 0, "") is not None


def test_a_stale_build_is_refused_with_a_warning() -> None:
    """An extension built from an older _cwalk.pyx (editable install not rebuilt) must not
    be bound: it would misread init's arguments and fail on every page."""

    class StaleBuild:
        API_VERSION = segment.CWALK_API_VERSION - 1

        def init(self, *args: object) -> None:
            raise AssertionError("a stale build must not be initialised")

    with pytest.warns(UserWarning, match="stale build"):
        assert segment._bind_compiled_walk(StaleBuild()) is None
    assert segment._cwalk is None or segment._cwalk.API_VERSION == segment.CWALK_API_VERSION


def test_real_pages(real_pages: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(real_pages) == 80
    for html in real_pages:
        _segment_both(html, monkeypatch)
        _walk_both(html)
    # the event-driven walk gives none of them up (on all 1,627 pages: one)
    assert all(_sax_result(html) is not None for html in real_pages)


# Pages the event-driven walk must give up to the tree (what it cannot see without one),
# and pages it must not give up although they look alike.
SAX_GIVES_UP = {
    "skipped_holding_body": True,  # <body> inside a skipped element: walked on the tree
    "unclosed_title": True,  # raw text that ends like the page: perhaps swallowed
    "unclosed_script": True,
    "unclosed_textarea": True,
    "past_limit": True,  # deeper than MAX_SAX_DEPTH: the tree path knows libxml2's limit
    "closed_script_at_end": False,  # its text does not end like the page
    "deep_nesting": False,
    "tail_after_html": False,
    "comment_outside_html": False,
    "structured_scripts": False,
    "entities": False,
}


@pytest.mark.skipif(not segment.SAX_WALK, reason="the event-driven walk is off")
@pytest.mark.parametrize("name", sorted(SAX_GIVES_UP))
def test_sax_walk_gives_up_only_where_it_must(name: str) -> None:
    assert (_sax_result(EDGE_CASES[name]) is None) == SAX_GIVES_UP[name]


@pytest.mark.skipif(not segment.SAX_WALK, reason="the event-driven walk is off")
def test_sax_walk_empty_pages() -> None:
    """No element (only a comment, whitespace after cleaning): no tree, no lines."""
    assert segment._cwalk.sax_walk(b"<!-- nothing -->", 0, True, 0, "") is False
    assert segment._cwalk.sax_walk(b"", 0, True, 0, "") is False
    assert len(segment_html("<!-- nothing -->")) == 0


@pytest.mark.skipif(not segment.SAX_WALK, reason="the event-driven walk is off")
def test_sax_walk_text_split_in_many_events(monkeypatch: pytest.MonkeyPatch) -> None:
    """libxml2 hands one text node over in pieces (at every character reference, every CR,
    every stray ``<``): a run is judged whole, for the line start and the link chars."""
    html = (
        "<html><body><p><a href=x> &amp; &#32; x\r\n&lt; y &amp; </a>&amp; tail</p>"
        "<div>&#32;&#x20;\r\n</div><div>\r <a> &amp;</a> &#160;end</div>"
        "<p>" + "long text, " * 500 + "</p></body></html>"
    )
    lines = _segment_both(html, monkeypatch)
    assert lines.text[0] == "& x < y & & tail"
    assert lines.link_chars[0] == len("&   x\n< y &")  # the run stripped, not collapsed
    assert lines.text[1:3] == ["& end", ("long text, " * 500).strip()]
    assert lines.link_chars[1] == 1
    assert _sax_result(html) is not None


def test_hostile_fixtures(monkeypatch: pytest.MonkeyPatch) -> None:
    files = sorted(HOSTILE.glob("*.htm*"))
    assert files
    for path in files:
        try:
            html = read_page_file(path)
        except ValueError:  # not a page (PDF, PNG, ...)
            continue
        _segment_both(html, monkeypatch)


EDGE_CASES = {
    "comment_tail": "<p>before<!-- c -->after comment</p><div>x<!--a--><!--b-->y</div>",
    "pi_tail": "<p>a<?php echo 1; ?>after pi</p>",
    "comment_between_blocks": "<div>one</div><!-- c -->tail<div>two</div>tail2",
    "comment_first_child": "<div><!-- c -->text<p>p</p></div>",
    "cdata": "<p>a<![CDATA[inside]]>b</p>",
    "comment_pi_cdata_blocks": (
        "<html><body><p>a<!--c-->b</p><p>next <?pi x?> after</p><div>x<![CDATA[y]]>z</div>"
        "</body></html>"
    ),
    "comment_in_link": (
        '<p>See <a href="/">the<!-- c --> link<?pi x?>text</a> end.</p>'
        "<a><!-- c --> <!-- d -->  </a><li><a>x<!--c--></a><!--d-->y</li>"
    ),
    "comment_line_start": (
        "<div><!-- c -->\n  Starts the line. <p>p</p></div><div><!-- c -->  \n  </div>"
        "<p><!-- a --><!-- b -->two<!-- c --></p><br><!-- c -->after br"
    ),
    "comment_whitespace_tail": "<p>a<!-- c --> <b>b</b><!-- d -->\n</p><!-- e -->\t<p>c</p>",
    "comments_in_skipped": (
        "<p>Kept.</p><svg><!-- c -->svg tail<text>t</text></svg>"
        "<select><option>o</option><!-- c -->select tail</select>"
        "<template><!-- c -->template tail</template><object><!--c-->obj</object>"
        "<script>/* <!-- c --> */ s</script><style><!-- p {} --> style</style><p>Also.</p>"
    ),
    "comment_in_skipped_holding_body": (
        "<html><head><object><!--a-->x<body><p>in<!--b-->side</p></body><!--c-->y</object>"
        "</head></html>"
    ),
    "comment_outside_html": "<!-- a -->before<html><!-- b -->in<body>x</body></html><!--c-->z",
    "br_runs": "<p>a<br>b<br><br><br>c<br/>d</p><br><br>",
    "nested_links": "<p>x <a href=1>one <a href=2>two</a> three</a> y <a>z</a></p>",
    "link_whitespace": "<p><a>  spaced  link  </a> tail</p><li><a> </a></li>",
    "link_block": "<a href=1><div>block in link</div> rest</a> after",
    "hidden_attrs": (
        '<div hidden>h1</div><div aria-hidden="true">h2</div><div aria-hidden="TRUE">h3</div>'
        '<div style="display: none">h4</div><div style="VISIBILITY:hidden">h5</div>'
        '<div style="">h6</div><div hidden="false"><p>h7</p></div><span hidden>h8</span>'
    ),
    "attrs": (
        '<div class="Main CONTENT" id="Post-1" role="main"><p class="byline">by</p></div>'
        '<nav class="menu nav"><ul class=""><li id="">x</li></ul></nav>'
        '<section class="a" class="b" id="c" id="d">dup</section>'
        '<div data-x="1" title="t">no keyword attrs</div><div class>empty class</div>'
        '<div class="İstanbul ǅ ß">unicode lower</div>'
    ),
    "long_tokens": "".join(f'<div class="{"x" * 60} c{i}">' for i in range(6)) + "deep",
    "skipped_holding_body": (
        "<html><head><object><body><p>Body inside object</p></body></object></head></html>"
    ),
    "skipped": (
        "<p>a<script>var x = '<p>no</p>';</script>b<style>p{}</style>c<svg><text>s</text>"
        "</svg>d<select><option>o</option></select>e<textarea>t</textarea>f</p>"
    ),
    "noscript": "<noscript><div>in noscript</div><p>p<b>b</b></p></noscript><p>out</p>",
    "unclosed_title": (
        "<html><head><title>Page title<body><div><p>Swallowed paragraph one.</p>"
        "<p>Two</p></div></body></html>"
    ),
    "unclosed_script": (
        "<html><head><script>var a = 1;<body><p>Swallowed by a script.</p></body></html>"
    ),
    "unclosed_textarea": "<p>x</p><textarea>draft<div><p>rest of page</p></div>",
    "closed_script_at_end": "<p>text</p><script>var a = '</div>';</script>",
    "entities": "<p>a &amp; b &lt;c&gt; &nbsp;&nbsp;d &copy; &#x1F600; &bogus; &#0; &#xD800;</p>",
    "non_ascii": (
        "<p>日本語のテキスト。</p><p>مرحبا بالعالم</p><p>emoji 🙂🎉 text</p><h1>Ünïcödé</h1>"
    ),
    "unicode_spaces": "<p>\u00a0\u2003</p><p>\u3000a\u2028b\u00a0</p><a>\u00a0x\u00a0</a>",
    "control_chars": "<p>a\x0bb\x0cc\x1cd\x1fe\x85f</p>",
    "empty": "",
    "whitespace": " \n\t ",
    "only_comment": "<!-- nothing -->",
    "text_only": "just text",
    "tail_after_html": "<html><body><p>in</p></body></html>after html",
    "inline_soup": "<b>bold <i>italic</b> still</i> <u>u</u><span>s<em>e</em></span>",
    "tables": "<table><tr><td>a</td><td>b<td>c</table><dl><dt>t<dd>d</dl>",
    "headings": "<h1>one</h1><h2>two<code>c</code></h2><pre>  pre  text  </pre>",
    "namespaced_tag": "<svg:rect>svg rect</svg:rect><x:p>xp</x:p><o:p>office</o:p>",
    "upper_case": "<DIV CLASS='Nav'><P>upper</P></DIV>",
    "deep_nesting": "<div>" * 500 + "deep text" + "</div>" * 500 + "<p>after</p>",
    "past_limit": "<div>" * 3000 + "too deep" + "</div>" * 3000,
    "json_ld": (
        '<script type="application/ld+json">{"articleBody": "An article body long enough '
        'to be a structured line in JSON-LD."}</script><p>Visible.</p>'
    ),
    "structured_scripts": (
        '<html><head><script type="Application/LD+JSON">{"description": "In the head, with '
        'the type in upper case."}</script><script id="__NEXT_DATA__">{"props": {"a": "'
        + "Page state prose "
        * 15
        + '"}}</script></head><body><svg><script type="application/ld+json">{"text": "A '
        'script inside a skipped svg element, still found."}</script></svg><template><div>'
        '<script type="application/ld+json">{"articleBody": "Nested two levels deep in a '
        'template element."}</script></div></template><script type="text/javascript">{}'
        '</script><script type="application/ld+json" id="__NEXT_DATA__" type="x">{"text": '
        '"Both markers: JSON-LD wins, as the first type attribute says."}</script>'
        '<script>{"text": "No type and no id: not structured data at all."}</script>'
        "<p>Visible.</p></body></html>"
    ),
    "xml_decl": "<?xml version='1.0' encoding='utf-8'?><html><body><p>x</p></body></html>",
    "frameset": "<frameset><frame src=x><noframes><p>no frames</p></noframes></frameset>",
    "many_tags": "".join(f"<t{i}>w{i}</t{i}>" for i in range(400)),
}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_edge_cases(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    html = EDGE_CASES[name]
    _segment_both(html, monkeypatch)
    _walk_both(html)


def test_structured_scripts_in_document_order() -> None:
    """The compiled walk collects JSON-LD and page-state scripts (also those inside skipped
    elements) in the order ``root.iter("script")`` finds them."""
    root, _ = segment._parse(EDGE_CASES["structured_scripts"])
    scripts: list = []
    segment._walk_compiled(root, PageLines(), 0, [], scripts=scripts)
    assert scripts == segment._structured_scripts(root)
    assert [kind for kind, _ in scripts] == [0, 1, 0, 0, 0]
    assert "skipped svg" in scripts[2][1] and "template" in scripts[3][1]
    lines = segment_html(EDGE_CASES["structured_scripts"])
    assert lines.text[0] == "Visible."
    assert lines.text[1:] == [
        "In the head, with the type in upper case.",
        ("Page state prose " * 15).strip(),
        "A script inside a skipped svg element, still found.",
        "Nested two levels deep in a template element.",
        "Both markers: JSON-LD wins, as the first type attribute says.",
    ]
    assert [segment.SOURCES[s] for s in lines.source] == ["dom"] + ["jsonld", "state"] + [
        "jsonld"
    ] * 3


def test_surrogates(monkeypatch: pytest.MonkeyPatch) -> None:
    # a str that cannot be encoded goes to libxml2 as UTF-8 with U+FFFD for lone surrogates
    for html in (
        "<p>a\ud800b</p><p>c</p>",
        "<div class='x\udfff'>t\ud83d</div>",
        "<p>\ud83d\ude00 x<!-- \ud800 -->y</p>",
    ):
        lines = _segment_both(html, monkeypatch)
        assert len(lines.text) == html.count("<p>") + html.count("<div")
        _walk_both(html)


# what the page's </html> tags, whitespace and characters of every width can be
PAGE_PIECES = [
    "</html>", "</HTML >", "</hTmL\u00a0\n>", "</html\u2028>", "</html\u3000 >", "</html",
    "</htm>", "<</html>>", "</html\u200b>", "<p>x</p>", " ", "\n", "\u3000", "\u00a0", "x",
    "é", "ÿ", "\u0100", "漢", "\uffff", "😀", "\U0010ffff", "\ud800", "\udfff",
    "\ud83d\ude00", "\ud83d", "<", "/", "<?xml version='1.0'?>", "<?xml?>",
    "<div class='ascii'>seventeen+ chars</div>", "0123456789abcdef",
]  # fmt: skip


@pytest.mark.skipif(not segment.COMPILED_WALK, reason="the compiled module is not built")
@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(PAGE_PIECES), max_size=16))
def test_encode_page_is_utf8_and_the_clean_test(pieces: list[str]) -> None:
    """One pass gives ``_utf8``'s bytes and whether ``_clean`` cuts the page; and
    ``_cleaned`` is ``_clean`` and its bytes."""
    _check_encode_page("".join(pieces))


@pytest.mark.skipif(not segment.COMPILED_WALK, reason="the compiled module is not built")
@pytest.mark.parametrize("wide", ["", "\u00e9", "\u6f22", "\U0001f600", "\ud83d", "\u00a0"])
def test_encode_page_around_its_blocks(wide: str) -> None:
    """encode_page copies runs of 16 ASCII code points at once: a </html> (or a "<" that is
    not one) and a wider character at every offset across a few blocks, in str of every
    width."""
    for k in range(40):
        for tail in ("</html><p>after</p>", "</HTML \n><b>x", "</html>  ", "<</html>x", "<p>"):
            for wide_at in {0, 15, 16, 17, 31, 32, k}:
                head = "a<" * (k // 2) + "a" * (k % 2)
                if wide:
                    head = head[:wide_at] + wide + head[wide_at:]
                _check_encode_page(head + tail + "b" * (k % 17) + wide + "c" * 20)


def _check_encode_page(html: str) -> None:
    source, start, end = segment._cwalk.encode_page(html)
    assert source == segment._utf8(html)
    first = segment._END_HTML_RE.search(html)
    if first is None or html[first.end() :].isspace() or first.end() == len(html):
        assert start == end == -1
    else:
        assert (start, end) == first.span()
    assert segment._cleaned(html) == (segment._clean(html), segment._utf8(segment._clean(html)))


def test_cleaned_strips_one_xml_declaration() -> None:
    """As ``_clean``: a second declaration stays, on a page cut at its </html> or not."""
    for html in ("<?xml a?><?xml b?><p>x</p></html>y", "<?xml a?><?xml b?><p>x</p>"):
        expected = html[len("<?xml a?>") :].replace("</html>", "")
        assert segment._cleaned(html)[0] == segment._clean(html) == expected


def test_encode_page_on_real_pages(real_pages: list[str]) -> None:
    cut = 0
    for html in real_pages:
        clean = segment._clean(html)
        assert segment._cleaned(html) == (clean, segment._utf8(clean))
        cut += clean != html
    assert cut  # some of these pages have elements after a </html>


def test_swallowed_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _segment_both(EDGE_CASES["unclosed_title"], monkeypatch)
    assert "Swallowed paragraph one." in lines.text


@pytest.mark.parametrize("tail", ["\xa0", "\u3000", "\x85 \u2003\n", " more\u2029"])
def test_swallowed_raw_text_ending_in_unicode_space(
    tail: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unclosed raw-text element whose text ends in a whitespace character of 2 or 3 UTF-8
    bytes still ends like the page: the event walk gives it up to the tree (found by
    test_tag_soup: it read only 1-byte spaces from the end, and lost the swallowed line)."""
    html = "<p>intro</p><textarea></head>]]>" + tail
    lines = _segment_both(html, monkeypatch)
    assert lines.text[-1] == ("]]> more" if "more" in tail else "]]>")
    if segment.SAX_WALK:
        assert _sax_result(html) is None


def test_skipped_element_holding_body_keeps_its_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """libxml2 nests the page in an <svg> of the head; the walk enters it (it holds <body>)
    and keeps its own text, as the Python walk does (found by test_tag_soup)."""
    lines = _segment_both("<head><svg>]]><body><p>para</p>", monkeypatch)
    assert lines.text == ["]]>", "para"]


def test_fallback_to_python_walk() -> None:
    """Trees libxml2's HTML parser never builds go to the Python walk, with the same lines."""
    xhtml = etree.fromstring(
        b'<html xmlns="http://www.w3.org/1999/xhtml"><body><p class="c">x</p>t</body></html>'
    )
    entity = etree.fromstring(
        b'<!DOCTYPE html [<!ENTITY e "ent">]><html><body><p>a&e;b</p></body></html>',
        etree.XMLParser(resolve_entities=False),
    )
    for root in (xhtml, entity):
        assert segment._cwalk.walk(root, 0, True, 0, "") is None
        a, b = PageLines(), PageLines()
        assert segment._walk(root, a, 0, []) == segment._walk_compiled(root, b, 0, [])
        _assert_same_lines(a, b)
        assert a.text


def test_adjacent_text_nodes() -> None:
    """Runs of several text/CDATA nodes (an XML tree that keeps CDATA sections: the HTML
    parser merges text) are one ``text``/``tail`` string for both walks."""
    xml = (
        b"<html><body><p>a<![CDATA[ b ]]>c<a>  <![CDATA[  ]]>  </a><![CDATA[x]]>  y</p>"
        b"<div><a> <![CDATA[ link ]]> text </a></div><li><![CDATA[]]></li>"
        b"<p><![CDATA[ \xc2\xa0 ]]><b>bold</b>tail<![CDATA[ more ]]></p></body></html>"
    )
    root = etree.fromstring(xml, etree.XMLParser(strip_cdata=False))
    assert segment._cwalk.walk(root, 0, True, 0, "") is not None
    a, b = PageLines(), PageLines()
    assert segment._walk(root, a, 0, []) == segment._walk_compiled(root, b, 0, [])
    _assert_same_lines(a, b)
    assert "a b c" in a.text[0]


def test_xml_comments_and_pis() -> None:
    """Comment and processing-instruction nodes (the HTML parser makes comments of PIs; an
    XML tree keeps them): both walks keep their tails, not their text."""
    xml = (
        b"<html><body><?top pi?>start<p>a<!-- c -->b<?pi x?>c<a>l<?p?>ink<!--d--> </a></p>"
        b"<div><!-- c -->  <?pi?>  </div><!--e-->tail<?pi?> more<p>x</p><!-- f --></body>"
        b"<!-- g -->after body</html>"
    )
    root = etree.fromstring(xml)
    assert root.xpath("count(//processing-instruction())") == 5
    assert segment._cwalk.walk(root, 0, True, 0, "") is not None
    a, b = PageLines(), PageLines()
    assert segment._walk(root, a, 0, []) == segment._walk_compiled(root, b, 0, [])
    _assert_same_lines(a, b)
    assert a.text == ["start", "abclink", "tail more", "x", "after body"]
    assert a.link_chars[1] == len("link")


SOUP = [
    "<html>", "</html>", "<head>", "</head>", "<body>", "</body>", "<title>", "</title>",
    "<div>", "</div>", "<p>", "</p>", "<a href='/x'>", "</a>", "<br>", "<b>", "</b>",
    "<script>", "</script>", "<style>", "</style>", "<noscript>", "</noscript>", "<table>",
    "<td>", "<li>", "<nav class='menu'>", "</nav>", "<span hidden>", "</span>", "<svg>",
    "</svg>", "<textarea>", "<object>", "<select>", "<option>", "<xmp>", "<!--", "-->",
    "<?pi x?>", "<![CDATA[", "]]>", "<", ">", "</", "&amp;", "&bogus;", "&#0;", " ", "\n",
    "\u00a0", "text", "Word ", "日本語", "🙂", "<div style='display:none'>",
    "<p aria-hidden=true class='content main'>",
]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(SOUP), max_size=80))
def test_tag_soup(tokens: list[str]) -> None:
    html = "".join(tokens)
    _walk_both(html)
    with pytest.MonkeyPatch.context() as m:
        _segment_both(html, m)


# block start tags that differ in one frame attribute each (first of a name wins, a value
# may be empty or absent, names are case-insensitive): the event walk reuses a block's
# frame for a later block of the same parent frame, tag and frame attributes
FRAME_TAGS = [
    "<div class='card'>", "<div class='card' id='x'>", "<div id='x' class='card'>",
    "<div class='card' class='menu'>", "<div class='menu' class='card'>", "<div CLASS='card'>",
    "<div class='card' hidden>", "<div hidden class='card'>", "<div class='card' hidden=''>",
    "<div class='card' style='display:none'>", "<div class='card' style='color:red'>",
    "<div class='card' aria-hidden='true'>", "<div class='card' aria-hidden='false'>",
    "<div class='card' role='navigation'>", "<div class=''>", "<div class>", "<div>",
    "<div title='card'>", "<section class='card'>", "<li class='card'>", "<ul class='nav'>",
    "<noscript>", "<div class='comment-author' id='c1'>", "<div data-x='1' class='card'>",
]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(FRAME_TAGS), st.booleans()), max_size=30))
def test_repeated_blocks(blocks: list[tuple[str, bool]]) -> None:
    """Blocks with text, each closed after its text (siblings: one parent frame) or left
    open (the next ones nest in it)."""
    parts = []
    for i, (tag, close) in enumerate(blocks):
        name = tag[1:].split(" ")[0].split(">")[0].lower()
        parts.append(f"{tag}text {i}" + (f"</{name}>" if close else ""))
    html = f"<html><body>{''.join(parts * 2)}</body></html>"
    with pytest.MonkeyPatch.context() as m:
        _segment_both(html, m)


def test_repeated_blocks_keep_their_own_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same card under a hidden and a visible parent, with and without its own
    attributes: each line's frame is its own blocks' (tokens, keywords, hidden, index)."""
    card = "<div class='card'><p>Item</p></div>"
    html = (
        f"<html><body><div class='list'>{card * 3}</div>"
        f"<div class='list' hidden>{card * 2}</div><div class='list'>{card}"
        f"<div class='card' style='display:none'><p>Item</p></div>{card}</div></body></html>"
    )
    lines = _segment_both(html, monkeypatch)
    assert lines.text == ["Item"] * 8
    assert lines.hidden == [0, 0, 0, 1, 1, 0, 1, 0]
    assert set(lines.tokens) == {"card list"}
    assert len(set(lines.dom_index)) == 8  # every <p> its own element


# every character ``str.isspace`` holds true, a few that look like it and are not
# (zero-width space, BOM, Mongolian vowel separator), by character and as an entity
WHITESPACE = [chr(c) for c in range(0x3001) if chr(c).isspace()] + ["\u200b", "\ufeff", "\u180e"]
TEXT_PIECES = [
    *WHITESPACE, *(f"&#x{ord(c):x};" for c in WHITESPACE), "a", "bc", "é", "漢字", "😀",
    "<b>", "</b>", "<a href=x>", "</a>", "<br>", "<p>", "</p>", "<div>", "</div>", "<!--c-->",
]  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TEXT_PIECES), max_size=40))
def test_whitespace_and_link_chars(pieces: list[str]) -> None:
    """Lines are made from the text's UTF-8 bytes in the compiled walk: whitespace runs
    collapse and link chars count as ``str.split``/``strip`` would."""
    _walk_both(f"<html><body><div>{''.join(pieces)}</div></body></html>")


# ---------------------------------------------------------------- class/id/role keywords


def _keyword_bits_by_regex(text: str) -> int:
    """The definition: the families of ``_KEYWORD_RE``'s matches in each name of ``text``."""
    bits = 0
    for name in text.split():
        for m in segment._KEYWORD_RE.finditer(name):
            bits |= segment._KEYWORD_BIT[m.lastgroup]
    return bits


def test_compiled_keywords_on_real_pages(real_pages: list[str]) -> None:
    """The compiled ``attr_keywords`` equals ``segment._attr_keywords`` (the regexes) on the
    class/id/role of every element of the real pages, not only of block elements."""
    triples = set()
    for html in real_pages:
        root = segment.parse_html(html)
        for el in root.iter(etree.Element):
            triples.add((el.get("class"), el.get("id"), el.get("role")))
    assert len(triples) > 5000
    reference = segment._attr_keywords.__wrapped__  # uncached
    hits = 0
    for triple in triples:
        expected = reference(*triple)
        assert segment._cwalk.attr_keywords(*triple) == expected, triple
        assert expected[1] == _keyword_bits_by_regex(expected[0]), triple
        hits += expected[1] != 0
    assert hits > 1000  # the pages do exercise the families


KEYWORD_PIECES = [
    *(alternative for alternative, _, _ in segment._keyword_alternatives()),
    *"abcdemnstxz-_0129 \t\n",
    "\u00a0", "\u2003", "é", "ß", "İ", "日本", "٣", "\u0307", "ǅ", "__", "--", "x-", "s", "d",
]  # fmt: skip


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(KEYWORD_PIECES), max_size=12))
def test_compiled_keyword_bits_equal_the_regex(pieces: list[str]) -> None:
    """Keyword literals glued to letters, word characters, separators and other scripts."""
    text = "".join(pieces)
    assert segment._cwalk.keyword_bits(text) == _keyword_bits_by_regex(text), text
    assert segment._cwalk.keyword_bits(text) == segment._keyword_bits(text), text


@given(st.text(max_size=40))
@settings(max_examples=1000, deadline=None)
def test_compiled_keyword_bits_on_any_text(text: str) -> None:
    assert segment._cwalk.keyword_bits(text) == _keyword_bits_by_regex(text), text


def test_keyword_alternatives_order() -> None:
    """The regex's order at one start: an optional character taken first, families in
    order, and a literal followed by a letter passed over for a later one."""
    kw = segment._KEYWORD_BIT
    for text, bits in (
        ("comments", kw["comment"]),
        ("commentsx", 0),
        ("richtext rich-text rich--text", kw["content"]),
        ("discussion2_x-nav", kw["comment"] | kw["nav"]),
        # "banner" (header) comes before "banner-ad" (ad), then "ad" starts a match again
        ("banner-ad", kw["header"] | kw["ad"]),
        ("description", kw["title"]),  # in title and product: title comes first
        ("sr-only", kw["hidden"]),
        ("navx nav", kw["nav"]),
    ):
        assert _keyword_bits_by_regex(text) == bits, text
        assert segment._cwalk.keyword_bits(text) == bits, text


@pytest.mark.skipif(not segment.SAX_WALK, reason="the event-driven walk is off")
def test_sax_walk_in_threads(real_pages: list[str]) -> None:
    """Parses in several threads interleave (the callbacks run Python code, where the GIL
    can pass to another thread mid-parse): each keeps its own state in its parser context."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    pages = real_pages[:40]
    expected = [segment_html(html).columns() for html in pages]
    calls = 0

    def hidden_style_yielding(style: str) -> bool:
        nonlocal calls
        calls += 1
        time.sleep(0)  # lets another thread run: its parse starts or goes on
        return segment._is_hidden_style(style)

    # the walk's style check (called from inside the parse, at block elements with a
    # style attribute) hands the GIL over
    helpers = (segment._tag_info, segment._keyword_alternatives())
    segment._cwalk.init(
        *helpers,
        hidden_style_yielding,
        segment._split_swallowed,
        segment._BLOCK,
        segment._SKIP,
        segment._BR,
        segment._LINK,
        segment.CONTEXT_BIT["noscript"],
        segment.SOURCE_CODE["noscript"],
        segment.MAX_TOKENS_CHARS,
        segment._TEXT_KEYS,
    )
    try:
        with ThreadPoolExecutor(4) as pool:
            got = list(pool.map(lambda html: segment_html(html).columns(), pages * 2))
    finally:
        assert segment._bind_compiled_walk(segment._cwalk) is segment._cwalk
    assert calls > 1000
    for a, b in zip(expected * 2, got, strict=True):
        for name in a:
            assert all(map(_same, a[name], b[name])), name
