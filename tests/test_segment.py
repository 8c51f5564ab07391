"""Segmentation: one line per block, DOM context per line, nothing of a broken page lost."""

from __future__ import annotations

import json
import math
from pathlib import Path

import lxml.html
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linesift import config
from linesift import segment as segment_module
from linesift.dataset import read_page_file
from linesift.segment import (
    CONTEXT_BIT,
    KEYWORD_NAMES,
    SOURCE_CODE,
    PageLines,
    _json_texts,
    parse_html,
    segment,
    segment_html,
    segment_text,
)

FIXTURES = Path(__file__).parent / "fixtures"
KW = {name: 1 << i for i, name in enumerate(KEYWORD_NAMES)}


def _row(lines: PageLines, text: str) -> dict:
    """The columns of the one line whose text is ``text``."""
    rows = [i for i, t in enumerate(lines.text) if t == text]
    assert len(rows) == 1, (text, lines.text)
    return {name: values[rows[0]] for name, values in lines.columns().items()}


def _body(html: str) -> PageLines:
    return segment_html(f"<html><head><title>T</title></head><body>{html}</body></html>")


# ---------------------------------------------------------------- hidden elements


@pytest.mark.parametrize(
    "attrs",
    ['hidden=""', 'aria-hidden="true"', 'style="color:red; DISPLAY : none"'],
)
def test_hidden_elements_are_kept_and_flagged(attrs: str) -> None:
    lines = _body(f"<p>Visible line.</p><div {attrs}><p>Hidden line.</p></div>")
    assert lines.text == ["T", "Visible line.", "Hidden line."]
    assert _row(lines, "Hidden line.")["hidden"] == 1
    assert _row(lines, "Visible line.")["hidden"] == 0


def test_visibility_hidden_flags_and_aria_hidden_false_does_not() -> None:
    lines = _body('<p style="visibility: hidden">Invisible.</p><p aria-hidden="false">Shown.</p>')
    assert _row(lines, "Invisible.")["hidden"] == 1
    assert _row(lines, "Shown.")["hidden"] == 0


# ---------------------------------------------------------------- links and nesting


def test_link_chars_count_the_text_inside_links() -> None:
    lines = _body(
        '<p>Read <a href="#">this link</a> now.</p>'
        '<p><a href="/"><b>Bold</b> link</a></p>'
        "<p>No link here.</p>"
    )
    assert _row(lines, "Read this link now.")["link_chars"] == len("this link")
    # nested inline tags inside the link count, the whole line is link text
    assert _row(lines, "Bold link")["link_chars"] == len("Boldlink")
    assert _row(lines, "No link here.")["link_chars"] == 0


def test_inline_tags_stay_in_the_line_block_tags_and_br_split() -> None:
    lines = _body(
        "<p>One <b>bold</b>, <em>em</em> and <span>span</span> line.<br>After br</p>"
        "<div>Before block<p>Inside p</p>tail after p</div>"
    )
    assert lines.text == [
        "T",
        "One bold, em and span line.",
        "After br",
        "Before block",
        "Inside p",
        "tail after p",
    ]
    # text after a block element belongs to the enclosing block again
    tail = _row(lines, "tail after p")
    before = _row(lines, "Before block")
    assert tail["tag"] == before["tag"] == "div"
    assert tail["dom_index"] == before["dom_index"]
    inner = _row(lines, "Inside p")
    assert inner["tag"] == "p"
    assert inner["path"] == "html>body>div>p"
    assert inner["depth"] == tail["depth"] + 1
    assert inner["container"] == tail["dom_index"]


def test_whitespace_is_normalized_and_empty_blocks_give_no_line() -> None:
    lines = _body("<p>  many \n\t spaces\u00a0here  </p><div>   </div><p></p>")
    assert lines.text == ["T", "many spaces here"]


def test_normalize_space_treats_every_unicode_space_like_the_regex() -> None:
    import re
    import sys

    from linesift.segment import normalize_space

    text = "".join(f" a{chr(c)}b\n" for c in range(sys.maxunicode + 1) if chr(c).isspace())
    text += "x\u200bx \x1c y\u3000z\u2028"  # a zero-width space is not whitespace
    assert normalize_space(text) == re.sub(r"\s+", " ", text).strip()
    assert normalize_space("  many \n\t spaces\u00a0here  ") == "many spaces here"


# ---------------------------------------------------------------- skipped and walked elements


def test_noscript_content_is_parsed_and_marked() -> None:
    lines = _body("<noscript><p>Forum thread served in noscript.</p></noscript>")
    row = _row(lines, "Forum thread served in noscript.")
    assert row["source"] == SOURCE_CODE["noscript"]
    assert row["context"] & CONTEXT_BIT["noscript"]
    assert row["context"] & CONTEXT_BIT["p"]


def test_script_style_template_svg_are_skipped() -> None:
    lines = _body(
        "<p>Kept.</p>"
        "<script>var s = 'script text';</script>"
        "<style>p { color: red }</style>"
        "<template><p>template text</p></template>"
        "<svg><text>svg text</text><title>svg title</title></svg>"
        "<select><option>option text</option></select>"
        "<p>Also kept.</p>"
    )
    assert lines.text == ["T", "Kept.", "Also kept."]


def test_tail_text_after_a_skipped_element_is_kept() -> None:
    lines = _body("<p>Before <script>x()</script>after the script.</p>")
    assert "Before after the script." in lines.text


# ---------------------------------------------------------------- comments and PIs


def test_text_after_a_comment_or_pi_is_kept_without_a_space() -> None:
    # a browser shows "ab": the text nodes around a comment are adjacent. libxml2 (2.14) reads
    # a processing instruction and a CDATA section in HTML as (bogus) comments, as browsers do
    html = (
        "<html><body><p>a<!--c-->b</p><p>next <?pi x?> after</p>"
        "<div>x<![CDATA[y]]>z</div></body></html>"
    )
    lines = segment_html(html)
    assert lines.text == ["ab", "next after", "xz"]
    assert lines.tag == ["p", "p", "div"]
    # a whitespace tail separates words, as a browser's space does
    assert _body("<p>a<!-- c --> <b>b</b></p>").text == ["T", "a b"]


def test_comment_and_pi_tails_inside_a_link_count_as_link_chars() -> None:
    lines = _body('<p>See <a href="/">the<!-- c --> link<?pi x?>text</a> end.</p>')
    assert lines.text == ["T", "See the linktext end."]
    assert _row(lines, "See the linktext end.")["link_chars"] == len("thelinktext")


def test_comment_tail_between_blocks_is_its_own_line() -> None:
    lines = _body("<div>one</div><!-- c -->tail text<div>two</div><!-- d -->")
    assert lines.text == ["T", "one", "tail text", "two"]
    assert _row(lines, "tail text")["tag"] == "body"


def test_comment_tail_at_a_line_start() -> None:
    lines = _body(
        "<div><!-- c -->\n  Starts the line. <p>p</p></div><div><!-- c -->  \n  </div>"
        "<p><!-- a --><!-- b -->two comments<!-- c --></p>"
    )
    assert lines.text == ["T", "Starts the line.", "p", "two comments"]
    assert _row(lines, "Starts the line.")["tag"] == "div"


def test_comments_take_no_element_index() -> None:
    plain = _body("<p>x</p><div>y<p>z</p></div>")
    commented = _body("<!--a--><p>x</p><!--b--><div>y<!--c--><p>z</p></div>")
    assert commented.text == plain.text
    assert commented.dom_index == plain.dom_index
    assert commented.container == plain.container


def test_comments_inside_skipped_elements_stay_skipped() -> None:
    lines = _body(
        "<p>Kept.</p>"
        "<svg><!-- c -->svg tail<text>t</text></svg>"
        "<select><option>o</option><!-- c -->select tail</select>"
        "<template><!-- c -->template tail</template>"
        "<script>/* <!-- c --> */ script</script><style><!-- p {} --> style</style>"
        "<p>Also kept.</p>"
    )
    assert lines.text == ["T", "Kept.", "Also kept."]


def test_a_comments_own_text_is_never_page_text() -> None:
    lines = _body("<p>a<!-- <p>not text</p> -->b</p><!-- only a comment -->")
    assert lines.text == ["T", "ab"]


# ---------------------------------------------------------------- surrogates


def test_lone_surrogates_become_replacement_characters() -> None:
    # a str with a lone surrogate cannot be encoded as UTF-8: it used to reach libxml2 as a
    # str, which dropped everything after the surrogate
    assert segment_html("<p>a\ud800b</p><p>c</p>").text == ["a\ufffdb", "c"]
    assert segment_html("<p>x\udfff</p><p>y\ud800\ud800</p><p>z</p>").text == [
        "x\ufffd",
        "y\ufffd\ufffd",
        "z",
    ]
    # a high + low pair is the character it encodes
    assert segment_html("<p>\ud83d\ude00 smile</p><p>end</p>").text == ["\U0001f600 smile", "end"]
    lines = segment_html("<div class='nav\udfff'><p>t\ud83d</p></div><p>after</p>")
    assert lines.text == ["t\ufffd", "after"]


# ---------------------------------------------------------------- context and keywords


def test_nav_menu_line_has_nav_context_and_nav_keyword() -> None:
    lines = _body(
        '<nav class="menu"><ul><li><a href="/">Home</a></li></ul></nav>'
        '<article class="post-content"><h2>Heading</h2><p>Body text.</p></article>'
        '<footer id="site-footer"><p>Footer text.</p></footer>'
    )
    home = _row(lines, "Home")
    assert home["context"] & CONTEXT_BIT["nav"]
    assert home["context"] & CONTEXT_BIT["li"]
    assert not home["context"] & CONTEXT_BIT["article"]
    assert home["keywords"] & KW["nav"]
    assert home["keywords"] == KW["nav"]  # "menu" is in no other family
    assert home["tag"] == "li"
    assert home["tokens"] == "menu"
    assert home["link_chars"] == 4

    heading = _row(lines, "Heading")
    assert heading["context"] & CONTEXT_BIT["h"]
    assert heading["context"] & CONTEXT_BIT["article"]
    assert not heading["context"] & CONTEXT_BIT["nav"]
    assert heading["keywords"] & KW["content"]
    assert not heading["keywords"] & KW["nav"]

    body = _row(lines, "Body text.")
    assert body["context"] == CONTEXT_BIT["article"] | CONTEXT_BIT["p"]

    footer = _row(lines, "Footer text.")
    assert footer["context"] & CONTEXT_BIT["footer"]
    assert footer["keywords"] & KW["footer"]


def test_keywords_match_whole_words_only() -> None:
    # "topic" must not fire "top" (header); "navigation" is not "nav"; "sidebar-ad" fires both
    lines = _body(
        '<div class="topic"><p>Topic line.</p></div>'
        '<div class="navigation"><p>Navigation line.</p></div>'
        '<div class="sidebar-ad"><p>Ad line.</p></div>'
    )
    assert not _row(lines, "Topic line.")["keywords"] & KW["header"]
    assert _row(lines, "Topic line.")["keywords"] & KW["forum"]
    assert not _row(lines, "Navigation line.")["keywords"] & KW["nav"]
    ad = _row(lines, "Ad line.")["keywords"]
    assert ad & KW["sidebar"] and ad & KW["ad"]


def test_title_line_comes_first_with_title_context() -> None:
    lines = segment_html("<html><head><title>Page Title</title></head><body><p>x</p></body></html>")
    assert lines.text[0] == "Page Title"
    assert lines.tag[0] == "title"
    assert lines.context[0] == CONTEXT_BIT["title"]


# ---------------------------------------------------------------- structured data


def test_jsonld_article_body_becomes_structured_lines() -> None:
    body = "The article body lives only in JSON-LD on this page.\n\nA second paragraph of it."
    data = {"@type": "NewsArticle", "headline": "Short", "articleBody": body}
    lines = segment_html(
        '<html><head><script type="application/ld+json">'
        + json.dumps(data)
        + "</script></head><body><p>Visible.</p></body></html>"
    )
    assert lines.text == [
        "Visible.",
        "The article body lives only in JSON-LD on this page.",
        "A second paragraph of it.",
    ]
    assert lines.source == [SOURCE_CODE["dom"], SOURCE_CODE["jsonld"], SOURCE_CODE["jsonld"]]
    assert math.isnan(lines.depth[1]) and math.isnan(lines.link_chars[1])
    # structured=False leaves them out; invalid JSON is ignored
    assert segment_html(
        '<script type="application/ld+json">{"articleBody": "x"</script><p>Visible.</p>'
    ).text == ["Visible."]


def test_next_data_long_strings_become_state_lines() -> None:
    prose = " ".join(["word"] * 60)
    data = {"props": {"pageProps": {"post": {"html": f"<p>{prose}</p>", "slug": "a-b"}}}}
    lines = segment_html(
        '<html><body><div id="__next"></div><script id="__NEXT_DATA__" '
        f'type="application/json">{json.dumps(data)}</script></body></html>'
    )
    assert lines.text == [prose]
    assert lines.source == [SOURCE_CODE["state"]]


JSON_TEXTS = [
    pytest.param(_json_texts, id="python"),
    pytest.param(
        getattr(segment_module._cwalk, "json_texts", None),
        id="compiled",
        marks=pytest.mark.skipif(not segment_module.COMPILED_WALK, reason="not built"),
    ),
]


@pytest.mark.parametrize("json_texts", JSON_TEXTS)
def test_json_texts_in_document_order_to_forty_levels(json_texts) -> None:
    body = "An article body of more than forty characters, level "
    # nested: the string at level k sits in a dict k levels below the top one
    node: dict = {"articleBody": body + "41", "headline": "too short to count"}
    for level in range(40, -1, -1):
        node = {"articleBody": body + str(level), "child": node, "text": "short"}
    got = json_texts(node, False)
    assert got == [body + str(level) for level in range(41)]  # level 41 is past the limit
    prose = " ".join(["word"] * 50)
    state = [{"a": prose, "b": [[{"c": prose + " 2"}]], "d": 7}, prose + " in a list", {"e": "x"}]
    assert json_texts(state, True) == [prose, prose + " 2"]
    assert json_texts(state, False) == []
    assert json_texts("a bare string", True) == []
    assert json_texts({"description": "x" * 39, "reviewBody": "y" * 40}, False) == ["y" * 40]
    # 20 spaces in 200 characters: a long string in page state; 19 are not enough
    assert json_texts({"k": ("w" * 9 + " ") * 20}, True) == [("w" * 9 + " ") * 20]
    assert json_texts({"k": ("w" * 9 + " ") * 19 + "w" * 10}, True) == []


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from(["", "x" * 40, " a" * 100]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["articleBody", "text", "description", "reviewBody", "name", "b"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=30,
)


@pytest.mark.skipif(not segment_module.COMPILED_WALK, reason="the compiled module is not built")
@settings(max_examples=300, deadline=None)
@given(_JSON_VALUES, st.booleans())
def test_compiled_json_texts_equal_the_python_visit(data, any_long_string: bool) -> None:
    assert segment_module._cwalk.json_texts(data, any_long_string) == _json_texts(
        data, any_long_string
    )


# ---------------------------------------------------------------- plain text


def test_plain_text_one_line_per_non_empty_line_with_dom_columns_nan() -> None:
    lines = segment_text("First line\n\n  second   line \r\n\t\nthird\u2028fourth\n")
    assert lines.text == ["First line", "second line", "third", "fourth"]
    assert not lines.is_html
    for name in ("depth", "dom_index", "container", "link_chars", "hidden"):
        values = lines.columns()[name]
        assert len(values) == 4 and all(math.isnan(v) for v in values), name
    assert lines.source == [SOURCE_CODE["text"]] * 4
    assert lines.context == [0] * 4 and lines.keywords == [0] * 4
    assert lines.tag == [""] * 4


def test_real_plain_text_page() -> None:
    src = FIXTURES / "news-page.txt"
    text = src.read_text("utf-8")
    lines = segment(text, "text")
    expected = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    assert lines.text == expected
    assert "How Russia Is Reacting to the Downfall of Syria’s Assad" in lines.text
    assert 20 <= len(lines) <= 50


def test_segment_rejects_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown page format 'pdf'"):
        segment("x", "pdf")


# ---------------------------------------------------------------- broken pages must not vanish

_ARTICLE = (
    "<div><p>First paragraph of the article body.</p><p>Second paragraph of the body.</p></div>"
)
_ARTICLE_LINES = ["First paragraph of the article body.", "Second paragraph of the body."]


def _head_text(html: str) -> str:
    head = lxml.html.document_fromstring(html).find("head")
    assert head is not None
    return head.text_content()


@pytest.mark.parametrize(
    "html",
    [
        # <noscript> left open in the head: libxml2 files the whole body under it
        f"<html><head><noscript><body>{_ARTICLE}</body></html>",
        # <object> in the head region: the body becomes its child (skipped element)
        f"<html><head><object><body>{_ARTICLE}</body></html>",
    ],
    ids=["noscript-in-head", "object-in-head"],
)
def test_body_filed_under_head_is_still_segmented(html: str) -> None:
    root = lxml.html.document_fromstring(html)
    assert root.find("head").find(".//p") is not None  # the body really is under <head>
    assert root.find("body") is None
    assert segment_html(html).text == _ARTICLE_LINES


@pytest.mark.parametrize(
    ("html", "before"),
    [
        (f"<html><head><title>Page title<body>{_ARTICLE}</body></html>", ["Page title"]),
        (f"<html><head><script>var x = 1;</head><body>{_ARTICLE}</body></html>\n", []),
        (f"<html><head><style>p {{}}</head><body>{_ARTICLE}</body></html>", []),
        (f"<html><body><p>Intro.</p><textarea>{_ARTICLE}</body></html>", ["Intro."]),
        (f"<html><body><p>Intro.</p><iframe src=x>{_ARTICLE}</body></html>", ["Intro."]),
    ],
    ids=["title", "script", "style", "textarea", "iframe"],
)
def test_unclosed_raw_text_element_does_not_swallow_the_page(html: str, before: list) -> None:
    root = lxml.html.document_fromstring(html)
    # libxml2 reads the rest of the page as the raw text of the unclosed element
    assert "First paragraph" not in " ".join(p.text_content() for p in root.iter("p"))
    if "<head>" in html:
        assert "First paragraph of the article body." in _head_text(html)
    lines = segment_html(html)
    assert lines.text == before + _ARTICLE_LINES
    assert all(t == "p" for t in lines.tag[len(before) :])


def test_closed_script_at_page_end_with_markup_strings_is_not_recovered() -> None:
    html = (
        "<html><body><p>Article.</p><script>el.innerHTML = '<div><p>' + t + '</p></div>';"
        "</script></body></html>"
    )
    assert segment_html(html).text == ["Article."]


def test_stray_content_before_html_and_body_in_head_keep_everything() -> None:
    html = (
        "<title>T</title><p>Stray para.</p><html><head><meta charset=utf-8>"
        "<body><p>Body in head.</p></head><body><p>Real body.</p></body></html>"
    )
    assert segment_html(html).text == ["T", "Stray para.", "Body in head.", "Real body."]


def test_deep_nesting_past_256_levels_keeps_dom_and_text() -> None:
    n = 600  # libxml2's default limit is 256 levels: the page would be empty without huge_tree
    html = f"<html><body>{'<div>' * n}<p>Deep text.</p>{'</div>' * n}<p>After.</p></body></html>"
    lines = segment_html(html)
    assert lines.text == ["Deep text.", "After."]
    assert lines.depth[0] == n + 3  # html > body > n divs > p


def test_nesting_past_the_parser_limit_falls_back_to_flat_text() -> None:
    n = 5000
    html = (
        f"<html><body><p>Before &amp; above.</p>{'<div>' * n}<p>Deep text.</p>"
        f"<script>hidden()</script>{'</div>' * n}<p>After.</p></body></html>"
    )
    lines = segment_html(html)
    assert lines.text == ["Before & above.", "Deep text.", "After."]
    assert all(math.isnan(d) for d in lines.depth)
    assert lines.source == [SOURCE_CODE["dom"]] * 3


def test_xml_declaration_with_encoding_is_accepted() -> None:
    html = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n<!DOCTYPE html>'
        '<html xmlns="http://www.w3.org/1999/xhtml"><body><p>XHTML text.</p></body></html>'
    )
    with pytest.raises(ValueError, match="encoding declaration"):
        lxml.html.document_fromstring(html)
    assert parse_html(html) is not None
    assert segment_html(html).text == ["XHTML text."]


@pytest.mark.parametrize("html", ["", "   \n", "<!-- only a comment -->", "<html></html>"])
def test_empty_documents_give_no_lines(html: str) -> None:
    lines = segment_html(html)
    assert len(lines) == 0
    assert all(len(v) == 0 for v in lines.columns().values())


# ---------------------------------------------------------------- a real page


def test_real_wcxb_page() -> None:
    file_id = "2865"  # redis.io documentation page
    html = read_page_file(config.WCXB_DIR / "html" / f"{file_id}.html.gz")
    truth = json.loads((config.WCXB_DIR / "ground-truth" / f"{file_id}.json").read_text("utf-8"))
    gold = truth["ground_truth"]["main_content"]
    lines = segment_html(html)
    assert 150 <= len(lines) <= 400
    sentence = "Redis is a data structure server."
    assert sentence in gold
    hits = [t for t in lines.text if t.startswith(sentence)]
    assert len(hits) == 1
    row = _row(lines, hits[0])
    assert row["tag"] == "p" and row["source"] == SOURCE_CODE["dom"] and row["hidden"] == 0
    # every column has one value per line
    assert {len(v) for v in lines.columns().values()} == {len(lines)}
    # the gold's list items are lines of their own
    for item in ("Sorted set", "Vector set", "Probabilistic data types"):
        assert item in lines.text


def test_keyword_bits_per_class_name_equal_one_pass_over_the_attribute_text() -> None:
    from linesift.segment import _KEYWORD_BIT, _KEYWORD_RE, _keyword_bits

    def one_pass(text: str) -> int:
        bits = 0
        for m in _KEYWORD_RE.finditer(text):
            bits |= _KEYWORD_BIT[m.lastgroup]
        return bits

    for text in (
        "site-header nav-menu main-nav",
        "post-content entry  article-body\tbyline",
        "banner-ad sr-only load-more x1 navigation",
        "topbar sidebar-widget rich-text comments-area",
        "",
    ):
        assert _keyword_bits(text) == one_pass(text), text
    assert _keyword_bits("menu footer") == _KEYWORD_BIT["nav"] | _KEYWORD_BIT["footer"]


def test_end_html_tags_dropped_unless_one_ends_the_page():
    """Every ``</html>`` is dropped when text follows one (libxml2 would stop there); a
    single one that ends the page stays (nothing to lose, no copy of the page), with the
    same lines either way."""
    body = "<html><body><p>First paragraph.</p></body>"
    assert segment_module._clean(body + "</html>\n") == body + "</html>\n"
    assert segment_module._clean(body + "</HTML >") == body + "</HTML >"
    assert segment_module._clean(body + "</html><p>After.</p></html>") == body + "<p>After.</p>"
    assert segment_html(body + "</html>\n").text == segment_html(body).text == ["First paragraph."]
    assert segment_html(body + "</html><p>After.</p></html>").text == [
        "First paragraph.",
        "After.",
    ]
