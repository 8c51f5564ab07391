"""Pages to lines.

HTML is walked once (lxml ``iterwalk``) with inherited context: every block element starts a
new line, ``<br>`` ends one, inline elements stay inside their line. The compiled walk
(``_cwalk.pyx``) does the same in C, by default straight from libxml2's parse events without
building the tree (``sax_walk``: the same lines; pages it cannot judge without a tree are
parsed into one and walked). Each line carries its
DOM context as plain columns (no per-line objects). Plain-text pages become one line per
non-empty line with the DOM columns missing.

Rules that matter for recall (see tests/test_segment.py):
- script/style/template/svg/... are skipped, but ``<noscript>`` is walked: some forum
  software serves the whole thread there.
- Hidden elements (``hidden``, ``aria-hidden``, ``display:none``) are kept, flagged hidden.
- The whole document is walked, not only ``<body>``: libxml2 files the body of some malformed
  pages under ``<head>`` (and walks a skipped element that holds ``<body>``).
- Broken pages must not vanish: ``</html>`` tags are dropped (libxml2 stops at the first);
  the rest of a page swallowed by an unclosed ``<title>``/``<script>``/``<textarea>``/... is
  parsed again; past libxml2's nesting limit the page's text is kept without its DOM.
- JSON-LD ``articleBody``/``description``/``text`` and ``__NEXT_DATA__`` strings become
  candidate lines with ``source`` saying where they came from: some product, listing and
  collection pages carry their main text only there.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import lxml.etree as etree

# Elements whose content is never page text.
SKIP_TAGS = frozenset(
    [
        "script",
        "style",
        "template",
        "svg",
        "math",
        "link",
        "meta",
        "base",
        "object",
        "embed",
        "iframe",
        "canvas",
        "video",
        "audio",
        "source",
        "track",
        "map",
        "noembed",
        "param",
        "select",
        "datalist",
        "textarea",
        "input",
    ]
)
# Elements that start and end a line.
BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "caption",
        "center",
        "dd",
        "details",
        "dialog",
        "dir",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "frameset",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "html",
        "legend",
        "li",
        "main",
        "menu",
        "nav",
        "ol",
        "option",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "title",
        "tr",
        "ul",
        "noscript",
        "button",
        "label",
    ]
)

# Context flags, inherited from block ancestors (bit positions are part of the feature
# schema). No flag for <a>: an inline element opens no context; link_chars carries links.
CONTEXT_TAGS = (
    "nav",
    "header",
    "footer",
    "aside",
    "li",
    "table",
    "form",
    "h",  # any heading h1-h6
    "p",
    "article",
    "main",
    "blockquote",
    "pre",
    "figure",
    "button",
    "label",
    "dl",
    "title",
    "noscript",
)
CONTEXT_BIT = {name: 1 << i for i, name in enumerate(CONTEXT_TAGS)}
_TAG_FLAG = {t: CONTEXT_BIT[t] for t in CONTEXT_TAGS if t != "h"}
_TAG_FLAG.update({f"h{i}": CONTEXT_BIT["h"] for i in range(1, 7)})
_TAG_FLAG["code"] = CONTEXT_BIT["pre"]

# Class/id/role keyword families; one regex over each element's attributes.
KEYWORDS: dict[str, str] = {
    "nav": r"nav|menu|navbar|topbar|breadcrumb|crumbs?|toc|skip",
    "header": r"header|masthead|banner|top",
    "footer": r"footer|foot|copyright|legal|bottom",
    "sidebar": r"sidebar|side|aside|rail|widget|secondary",
    "share": r"share|sharing|social|follow|facebook|twitter|whatsapp|pinterest|linkedin",
    "comment": r"comments?|reply|replies|respond|discuss\w*|disqus",
    "related": r"related|recommend\w*|more|popular|trending|teaser|recirc\w*|suggest\w*|also",
    "cookie": r"cookies?|consent|gdpr|privacy|notice|alert",
    "ad": r"ads?|advert\w*|sponsor\w*|promo\w*|banner-ad|adslot|dfp|outbrain|taboola",
    "subscribe": r"subscribe|newsletter|signup|sign-up|login|register|paywall|modal|popup",
    "meta": r"meta|byline|author|date|time|posted|published|tags?|categor\w*|label",
    "content": r"content|main|body|text|entry|article|post|story|prose|markdown|rich-?text",
    "title": r"title|headline|heading|hero|lead|intro|summary|excerpt|description",
    "product": r"product|price|sku|cart|buy|spec\w*|detail\w*|description",
    "forum": r"thread|topic|message|forum|question|answer|cooked|postbody",
    "list": r"list|grid|card|item|tile|feed|results?|archive|listing",
    "page": r"pagination|pager|paging|next|prev|previous|load-more",
    "hidden": r"hidden|hide|d-none|sr-only|visually-hidden|collapsed?|offscreen",
    "caption": r"caption|credit|figure|photo|image|img|gallery|thumb\w*",
}
KEYWORD_NAMES = tuple(KEYWORDS)
_KEYWORD_RE = re.compile(
    "|".join(f"(?P<{name}>(?<![a-z])(?:{pat})(?![a-z]))" for name, pat in KEYWORDS.items())
)
_LETTER_RUN_RE = re.compile("[a-z]+")
_KEYWORD_BIT = {name: 1 << i for i, name in enumerate(KEYWORD_NAMES)}

_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
# libxml2 stops at the first </html> and drops the rest; browsers parse what follows into the
# body (37 of 1,497 WCXB pages have elements after a </html>). The parser closes <html> itself.
_END_HTML_RE = re.compile(r"</html\s*>", re.I)

SOURCES = ("dom", "noscript", "jsonld", "state", "text")
SOURCE_CODE = {name: i for i, name in enumerate(SOURCES)}

MAX_TOKENS_CHARS = 200


@dataclass
class PageLines:
    """The lines of one page as columns (one list per field, one entry per line)."""

    text: list[str] = field(default_factory=list)
    tag: list[str] = field(default_factory=list)
    path: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    depth: list[float] = field(default_factory=list)
    dom_index: list[float] = field(default_factory=list)
    container: list[float] = field(default_factory=list)
    link_chars: list[float] = field(default_factory=list)
    hidden: list[float] = field(default_factory=list)
    context: list[int] = field(default_factory=list)
    keywords: list[int] = field(default_factory=list)
    source: list[int] = field(default_factory=list)
    # blank lines before the line in a plain-text page (0, 1, 2 = two or more); NaN for HTML
    gap_before: list[float] = field(default_factory=list)
    is_html: bool = True
    # what the page says it is (``page_meta``): one string per page, a column of every line
    meta: str = ""

    def __len__(self) -> int:
        return len(self.text)

    def columns(self) -> dict[str, list[Any]]:
        return {
            "text": self.text,
            "tag": self.tag,
            "path": self.path,
            "tokens": self.tokens,
            "depth": self.depth,
            "dom_index": self.dom_index,
            "container": self.container,
            "link_chars": self.link_chars,
            "hidden": self.hidden,
            "context": self.context,
            "keywords": self.keywords,
            "source": self.source,
            "gap_before": self.gap_before,
            "page_meta": [self.meta] * len(self.text),
        }


def normalize_space(text: str) -> str:
    """Whitespace runs to one space, ends stripped. ``str.split()`` splits on exactly the
    characters ``\\s`` matches in a ``str`` regex (checked over all code points), 5x faster
    than ``re.sub``."""
    return " ".join(text.split())


def _keyword_bits(attr_text: str) -> int:
    """Keyword-family bits of an element's (lower-cased) class/id/role text: the union of its
    whitespace-separated names' bits (no keyword pattern spans a space, and a space is a
    boundary for the patterns' look-arounds, so this equals one regex pass over the text)."""
    bits = 0
    for name in attr_text.split():
        bits |= _name_keyword_bits(name)
    return bits


@lru_cache(maxsize=1 << 12)
def _name_keyword_bits(name: str) -> int:
    """The keyword bits of the matches ``_KEYWORD_RE.finditer(name)`` finds.

    Cached: pages repeat the same class names on hundreds of elements (4,096 entries: the
    hit rate barely differs from 65,536, which held over 20 MB once full). The regex is a long
    alternation that ``finditer`` would try at every position; a match can only start where
    a run of ``[a-z]`` starts (every pattern starts with a letter, after ``(?<![a-z])``), so
    it is tried there only, left to right and past the end of the previous match, as
    ``finditer`` does (4x faster on class names)."""
    bits = 0
    end = 0
    match = _KEYWORD_RE.match
    for run in _LETTER_RUN_RE.finditer(name):
        start = run.start()
        if start < end:
            continue
        m = match(name, start)
        if m is not None:
            bits |= _KEYWORD_BIT[m.lastgroup]  # type: ignore[index]
            end = m.end()
    return bits


def _keyword_alternatives() -> tuple[tuple[str, bool, int], ...]:
    """``_KEYWORD_RE`` as the literals it tries at a match start, in its order:
    ``(literal, then_word_chars, bit)``, for the compiled walk's keyword matcher.

    The patterns hold only lower-case letters, "-", one optional character (``s?``, ``-?``)
    and a final ``\\w*``. At a start the regex tries the families in order, each family's
    alternatives in order, an optional character first taken then left out (greedy), and
    the first literal that matches and is not followed by ``[a-z]`` wins. A literal followed
    by ``\\w*`` always wins once it matches: greedy ``\\w*`` stops before a non-word
    character, which is never in ``[a-z]``; the match ends after that word run."""
    out: list[tuple[str, bool, int]] = []
    for name, pattern in KEYWORDS.items():
        for alternative in pattern.split("|"):
            words = alternative.endswith(r"\w*")
            body = alternative[: -len(r"\w*")] if words else alternative
            if not re.fullmatch(r"(?:[a-z-]\??)+", body) or body.startswith(("-", "?")):
                raise ValueError(f"keyword pattern {alternative!r} is not a plain literal")
            choices = [
                (ch, "") if optional else (ch,)
                for ch, optional in re.findall(r"([a-z-])(\??)", body)
            ]
            for parts in itertools.product(*choices):  # greedy: taken before left out
                out.append(("".join(parts), words, _KEYWORD_BIT[name]))
    return tuple(out)


def parse_html(html: str) -> etree._Element | None:
    """Parse an HTML string with lxml; None for a document with no elements."""
    return _parse(html)[0]


def _parse(html: str, cleaned: bool = False) -> tuple[etree._Element | None, bool]:
    """``(root, too_deep)``; ``too_deep`` when libxml2 stopped at its nesting limit, so that
    the rest of the page is missing from ``root``.

    ``huge_tree`` raises the limit from 256 to 2048 levels (pages with runs of unclosed
    ``<div>``/``<font>`` go past 256) and lifts the 10 MB cap on one text node. A parser per
    call: lxml parsers must not be shared between threads (creating one costs ~10 us).
    The plain ``etree.HTMLParser`` builds the same libxml2 tree as ``lxml.html``'s, without
    the Python element-class lookup ``lxml.html`` runs for every element proxy.

    The page goes to libxml2 as UTF-8 bytes: lxml hands it a ``str``'s own buffer as
    ISO-8859-1, UTF-16LE or UCS-4LE, which libxml2 then converts to UTF-8 (slowly for
    UCS-4: 1.6x the time of encoding and parsing UTF-8). A ``str`` holding surrogates (which
    UTF-8 cannot encode) is first repaired: a high+low pair becomes the character it encodes,
    a lone surrogate U+FFFD (handed over as a ``str``, libxml2 dropped the page after it).
    """
    if not cleaned:  # ``_clean`` scans the whole page: once is enough
        html = _clean(html)
    if not html or html.isspace():  # as ``not html.strip()``, without copying the page
        return None, False
    return _parse_utf8(_utf8(html))


def _utf8(html: str) -> bytes:
    """The page as UTF-8 bytes for libxml2 (see ``_parse``)."""
    try:
        return html.encode("utf-8")
    except UnicodeEncodeError:  # surrogates: a pair becomes its character, a lone one U+FFFD
        fixed = html.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        return fixed.encode("utf-8")


def _parse_utf8(source: bytes) -> tuple[etree._Element | None, bool]:
    """``_parse`` of a cleaned, non-blank page's UTF-8 bytes."""
    # collect_ids=False: libxml2 builds no table of the ``id`` attributes (nothing here
    # looks elements up by id; attributes are read as before): ~4 % of the parse time
    parser = etree.HTMLParser(huge_tree=True, encoding="utf-8", collect_ids=False)
    try:
        root = etree.fromstring(source, parser)
    except (etree.ParserError, ValueError):
        return None, False
    if root is None:  # what lxml.html.document_fromstring reports as "Document is empty"
        return None, False
    too_deep = any("Excessive depth" in err.message for err in parser.error_log)
    return root, too_deep


def _clean(html: str) -> str:
    """What lxml must not see: an XML declaration (lxml refuses a str with an encoding
    declaration; the first one only) and ``</html>`` tags (see ``_END_HTML_RE``).

    A page's one ``</html>`` at its very end (followed by whitespace only, as on most
    pages) stays: libxml2 stops there with nothing left to lose, and removing it would copy
    the whole page (~0.5 ms a page: 2/3 of this function's time)."""
    html = _XML_DECL_RE.sub("", html, count=1)
    first = _END_HTML_RE.search(html)
    if first is None or html[first.end() :].isspace() or first.end() == len(html):
        return html
    return _cut_end_html(html, first.start(), first.end())


def _cut_end_html(html: str, start: int, end: int) -> str:
    """``html`` without its ``</html>`` tags, the first of them at ``start:end``: what
    ``_END_HTML_RE.sub("", html)`` gives, without scanning the page before the first match
    again (a fifth of WCXB pages have text after their first </html>)."""
    return html[:start] + _END_HTML_RE.sub("", html[end:])


def _cleaned(html: str) -> tuple[str, bytes]:
    """``_clean(html)`` and its UTF-8 bytes (``_utf8``). With the compiled walk one pass
    over the page's code points gives the bytes and where ``_clean`` cuts the page at its
    ``</html>`` tags (``_cwalk.encode_page``); a page it cuts is cut there and encoded
    again."""
    if not COMPILED_WALK:
        html = _clean(html)
        return html, _utf8(html)
    html = _XML_DECL_RE.sub("", html, count=1)
    source, start, end = _cwalk.encode_page(html)
    if start >= 0:
        html = _cut_end_html(html, start, end)
        source = _utf8(html)
    return html, source


def segment_html(html: str, *, structured: bool = True) -> PageLines:
    """Split an HTML page into lines in reading order (see module docstring)."""
    html, source = _cleaned(html)
    lines = PageLines()
    if not html or html.isspace():
        return lines
    json_ld: list[Any] = []  # the page's JSON-LD documents, parsed for its structured lines
    _segment_into(lines, html, source, structured, json_ld)
    lines.meta = page_meta(html, json_ld, source)
    return lines


def _segment_into(
    lines: PageLines, html: str, source: bytes, structured: bool, json_ld: list[Any]
) -> None:
    end = _end_key(html)
    if SAX_WALK and _sax_lines(source, end, lines, structured, json_ld):
        return
    root, too_deep = _parse_utf8(source)
    if root is None:
        return
    if too_deep:  # the tree stops where the nesting limit was hit: keep the text, not the DOM
        _flat_lines(html, lines)
        return
    swallowed: list[str] = []
    scripts: list[tuple[int, str | None]] | None = [] if structured else None
    index = _walk_impl(root, lines, SOURCE_CODE["dom"], swallowed, page_end=end, scripts=scripts)
    # an unclosed <title>/<script>/<textarea>/... took the rest of the page as raw text
    for _ in range(_MAX_RECOVERIES):
        if not swallowed:
            break
        rest = swallowed.pop(0)
        sub, too_deep = _parse(rest)
        if sub is None or too_deep:
            if too_deep:
                _flat_lines(rest, lines)
            continue
        index = _walk_impl(
            sub,
            lines,
            SOURCE_CODE["dom"],
            swallowed,
            first_index=index,
            page_end=end,
            scripts=scripts,
        )
    if scripts:
        _structured_lines(scripts, lines, json_ld)
    return lines


def _sax_lines(
    source: bytes, page_end: str, lines: PageLines, structured: bool, json_ld: list[Any]
) -> bool:
    """The page's lines from libxml2's parse events (``_cwalk.sax_walk``: the lines of the
    tree walk, without building the tree); False when that walk gave up on the page."""
    result = _cwalk.sax_walk(source, SOURCE_CODE["dom"], True, 0, page_end)
    if result is None:
        return False
    if result is not False:  # False: no element at all, no lines
        _, out_text, out_link, out_frame, _, scripts = result
        _emit(lines, out_text, out_link, out_frame)
        if structured and scripts:
            _structured_lines(scripts, lines, json_ld)
    return True


# Elements libxml2 reads as raw text: left unclosed, they swallow the rest of the document.
_RAW_TEXT_TAGS = frozenset(
    ["script", "style", "title", "textarea", "iframe", "noembed", "xmp", "noframes", "plaintext"]
)
_SWALLOW_RE = re.compile(
    r"<body[\s>]|</(?:html|body|head|div|p|table|section|article|main|ul|ol|li|h[1-6])\s*>",
    re.I,
)
_SWALLOW_CUT_RE = re.compile(r"</head\s*>|<body[\s>]", re.I)
_FIRST_TAG_RE = re.compile(r"<[a-zA-Z/!]")
_MAX_RECOVERIES = 8


def _end_key(text: str) -> str:
    """The last 64 non-space characters of ``text``."""
    return "".join(text[-4000:].split())[-64:]


def _swallowed_rest(el: etree._Element, page_end: str) -> tuple[str, str] | None:
    """``(own_text, rest_of_page)`` when raw-text element ``el`` was left unclosed and took the
    rest of the page as its text: its text ends where the page ends (``page_end``, see
    ``_end_key``), holds markup, and no element follows it. (A closed ``<script>`` at the end
    of a page does not end with the page's ``</script></body></html>``.)"""
    if len(el) or not page_end:
        return None
    node = el  # checked before the text: most raw-text elements are followed by others
    while node is not None:
        if node.getnext() is not None:
            return None
        node = node.getparent()
    return _split_swallowed(el.text, page_end)


def _split_swallowed(text: str | None, page_end: str) -> tuple[str, str] | None:
    """The text checks of ``_swallowed_rest`` on the raw-text element's ``text``."""
    if not text:
        return None
    key = _end_key(text)
    if not key or not page_end.endswith(key):
        return None
    if not _SWALLOW_RE.search(text):
        return None
    cut = _SWALLOW_CUT_RE.search(text) or _FIRST_TAG_RE.search(text)
    if cut is None:
        return None
    return text[: cut.start()], text[cut.start() :]


def _holds_body(el: etree._Element) -> bool:
    """A skipped element that holds ``<body>``: libxml2 nested the page inside it (e.g. an
    ``<object>`` in the head region)."""
    return len(el) > 0 and next(el.iter("body"), None) is not None


# Fallback for pages nested past the parser's limit: a linear scan over the tags.
_VOID_TAGS = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
_FLAT_SKIP_TAGS = SKIP_TAGS - _VOID_TAGS
_FLAT_TAG_RE = re.compile(r"<(/?)([a-zA-Z][\w:.-]*)[^<>]*>|<[!?][^<>]*>")


def _flat_lines(html: str, lines: PageLines) -> None:
    """Lines of a page without its DOM: tags dropped, block tags and ``<br>`` end lines,
    script/style/... content skipped; DOM columns missing (NaN)."""
    import html as html_module

    parts: list[str] = []
    pos = 0
    skip = ""
    for m in _FLAT_TAG_RE.finditer(html):
        closing, name = m.group(1), (m.group(2) or "").lower()
        if skip:
            if closing and name == skip:
                skip = ""
                pos = m.end()
            continue
        parts.append(html[pos : m.start()])
        pos = m.end()
        if name in _FLAT_SKIP_TAGS and not closing and not m.group(0).endswith("/>"):
            skip = name
        elif name in BLOCK_TAGS or name == "br":
            parts.append("\n")
    if not skip:
        parts.append(html[pos:])
    for raw in html_module.unescape("".join(parts)).split("\n"):
        line = normalize_space(raw)
        if line:
            _append_plain(lines, line, SOURCE_CODE["dom"])


# How ``_walk`` treats an element, from its tag (see ``_tag_info``).
_INLINE, _BLOCK, _SKIP, _BR, _LINK, _COMMENT = range(6)
# lxml tag -> (local name, kind, raw-text element, context flag); comments and processing
# instructions have a function as their tag. Filled on first sight of a tag.
_TAG_INFO: dict[Any, tuple[str, int, bool, int]] = {
    etree.Comment: ("", _COMMENT, False, 0),
    etree.ProcessingInstruction: ("", _COMMENT, False, 0),
    etree.Entity: ("", _COMMENT, False, 0),
}
_TAG_INFO_MAX = 1 << 14  # hostile pages can invent any number of tag names


def _tag_info(tag: Any) -> tuple[str, int, bool, int]:
    """``_TAG_INFO[tag]``, computing (and caching) it for a new tag."""
    if not isinstance(tag, str):
        return _TAG_INFO[etree.Comment]
    name = tag.lower()
    if ":" in name or "}" in name:  # namespaced (XHTML, svg:...) -> local name
        name = name.rsplit("}", 1)[-1].rsplit(":", 1)[-1]
    if name in SKIP_TAGS:
        kind = _SKIP
    elif name in BLOCK_TAGS:
        kind = _BLOCK
    elif name == "br":
        kind = _BR
    elif name == "a":
        kind = _LINK
    else:
        kind = _INLINE
    info = (name, kind, name in _RAW_TEXT_TAGS, _TAG_FLAG.get(name, 0))
    if len(_TAG_INFO) < _TAG_INFO_MAX:
        _TAG_INFO[tag] = info
    return info


@lru_cache(maxsize=1 << 14)
def _is_hidden_style(style: str) -> bool:
    return _HIDDEN_STYLE_RE.search(style) is not None


@lru_cache(maxsize=1 << 12)
def _attr_keywords(class_: str | None, id_: str | None, role: str | None) -> tuple[str, int]:
    """``(attr_text, keyword bits)`` of an element's class, id and role: the lower-cased
    values joined by spaces, and their keyword families (cached: pages repeat them; a small
    cache, as ``_name_keyword_bits``'s, keeps memory flat over millions of pages)."""
    attr_text = " ".join(v for v in (class_, id_, role) if v).lower()
    return attr_text, _keyword_bits(attr_text) if attr_text else 0


def _walk(
    root: etree._Element,
    lines: PageLines,
    source: int,
    swallowed: list[str] | None = None,
    first_index: int = 0,
    page_end: str = "",
    scripts: list[tuple[int, str | None]] | None = None,
) -> int:
    """Append the lines of the tree at ``root``; returns the last element index used.
    Page text swallowed by an unclosed raw-text element is appended to ``swallowed``, the
    tree's structured-data scripts (``_structured_scripts``) to ``scripts``.

    The hot loop of segmentation (two events per element): a tag is classified by one dict
    lookup, only block elements open a frame, and a frame is a tuple in the order of the
    PageLines columns it fills, so the columns are made at the end by one transpose."""
    # frame: (tag, path, tokens, depth, dom_index, container, hidden, context, keywords, source)
    top = ("body", "", "", 0, first_index, first_index, 0, 0, 0, source)
    frame = top
    stack: list[tuple] = []  # frames of the open block elements around ``frame``
    buf: list[str] = []  # text pieces of the current line
    link = 0  # chars inside <a> in the current line
    link_depth = 0
    element_index = first_index
    out_text: list[str] = []
    out_link: list[int] = []
    out_frame: list[tuple] = []
    noscript_bit = CONTEXT_BIT["noscript"]
    noscript = SOURCE_CODE["noscript"]
    tag_info = _TAG_INFO.get

    def flush(frame: tuple) -> None:
        nonlocal link
        text = normalize_space("".join(buf))
        buf.clear()
        if text:
            out_text.append(text)
            out_link.append(min(link, len(text)))
            out_frame.append(frame)
        link = 0

    # comments and processing instructions come as one "comment"/"pi" event each: their own
    # text is no page text, their tail is (``a<!--c-->b`` shows as "ab"). They open no frame
    # and take no element index. (An entity reference comes as "start" and "end".)
    walker = etree.iterwalk(root, events=("start", "end", "comment", "pi"))
    for event, el in walker:
        tag = el.tag
        name, kind, raw, flag = tag_info(tag) or _tag_info(tag)
        if event == "start":
            if kind == _COMMENT:  # an entity reference
                continue
            element_index += 1
            text = None
            if raw and swallowed is not None:
                split = _swallowed_rest(el, page_end)
                if split is not None:
                    text, rest = split
                    swallowed.append(rest)
            if kind == _SKIP and not _holds_body(el):
                walker.skip_subtree()  # before reading its text: scripts can be long
                continue
            if text is None:
                text = el.text
            if kind == _BLOCK:
                if buf:
                    flush(frame)
                items = el.items()
                hidden = frame[6]
                keywords = frame[8]
                tokens = frame[2]
                if items:
                    attrs = dict(items)
                    style = attrs.get("style")
                    if (
                        "hidden" in attrs
                        or attrs.get("aria-hidden") == "true"
                        or (style and _is_hidden_style(style))
                    ):
                        hidden = 1
                    attr_text, bits = _attr_keywords(
                        attrs.get("class"), attrs.get("id"), attrs.get("role")
                    )
                    if attr_text:
                        keywords |= bits
                        tokens = (attr_text + " " + tokens)[:MAX_TOKENS_CHARS].strip()
                context = frame[7] | flag
                stack.append(frame)
                frame = (
                    name,
                    (frame[1] + ">" + name) if frame[1] else name,
                    tokens,
                    frame[3] + 1,
                    element_index,
                    frame[4],
                    hidden,
                    context,
                    keywords,
                    noscript if context & noscript_bit else source,
                )
            elif kind == _BR:
                if buf:
                    flush(frame)
            elif kind == _LINK:
                link_depth += 1
        elif event == "end":
            if kind == _BLOCK:
                if buf:
                    flush(frame)
                frame = stack.pop()
            elif kind == _LINK and link_depth:
                link_depth -= 1
            text = el.tail
        else:  # a comment or processing instruction: only its tail
            text = el.tail
        # whitespace that would start a line is dropped at once (normalize_space drops it
        # anyway): the indentation between block elements then costs no flush
        if text and (buf or not text.isspace()):
            buf.append(text)
            if link_depth:
                link += len(text.strip())
    if buf:
        flush(top)
    _emit(lines, out_text, out_link, out_frame)
    if scripts is not None:
        scripts.extend(_structured_scripts(root))
    return element_index


def _emit(
    lines: PageLines, out_text: list[str], out_link: list[int], out_frame: list[tuple]
) -> None:
    """Append a walk's lines: their texts, link chars and frames (one transpose)."""
    if out_text:
        columns = list(zip(*out_frame, strict=True))
        lines.text.extend(out_text)
        for values, column in zip(columns, _FRAME_COLUMNS, strict=True):
            getattr(lines, column).extend(values)
        lines.link_chars.extend(out_link)
        lines.gap_before.extend([float("nan")] * len(out_text))


# The PageLines columns a frame tuple fills, in its order.
_FRAME_COLUMNS = (
    "tag",
    "path",
    "tokens",
    "depth",
    "dom_index",
    "container",
    "hidden",
    "context",
    "keywords",
    "source",
)


def _walk_compiled(
    root: etree._Element,
    lines: PageLines,
    source: int,
    swallowed: list[str] | None = None,
    first_index: int = 0,
    page_end: str = "",
    scripts: list[tuple[int, str | None]] | None = None,
) -> int:
    """``_walk`` by the compiled walk (``linesift._cwalk``, 3x faster per page): same
    arguments, same lines. A tree with nodes it does not mirror (never built by libxml2's
    HTML parser: entity references, namespaced elements, ...) goes to ``_walk``."""
    if _cwalk is None:
        raise RuntimeError("linesift._cwalk is not built")
    result = _cwalk.walk(root, source, swallowed is not None, first_index, page_end)
    if result is None:
        return _walk(root, lines, source, swallowed, first_index, page_end, scripts)
    index, out_text, out_link, out_frame, rests, found = result
    if swallowed is not None:
        swallowed.extend(rests)
    if scripts is not None:
        scripts.extend(found)
    _emit(lines, out_text, out_link, out_frame)
    return index


# The compiled walk, when the extension was built (setup.py; it needs Cython and a C compiler
# at install time) and LINESIFT_PURE_PYTHON is not set.
# the JSON-LD keys whose string values are candidate lines (``_json_texts``)
_TEXT_KEYS = ("articleBody", "text", "description", "reviewBody")
CWALK_API_VERSION = 5  # ``init``'s arguments and ``walk``'s result: _cwalk.API_VERSION


def _bind_compiled_walk(module: Any) -> Any:
    """``module`` (the compiled walk) bound to this module's helpers, or None - with a
    warning - when it is a stale build or cannot take the keyword patterns: the Python walk
    then runs, with the same lines."""
    try:
        version = getattr(module, "API_VERSION", 1)
        if version != CWALK_API_VERSION:
            raise ValueError(
                f"it is a stale build (API {version}, this source needs {CWALK_API_VERSION}); "
                "rebuild it with `pip install -e .` (or `make setup`)"
            )
        module.init(
            _tag_info,
            _keyword_alternatives(),
            _is_hidden_style,
            _split_swallowed,
            _BLOCK,
            _SKIP,
            _BR,
            _LINK,
            CONTEXT_BIT["noscript"],
            SOURCE_CODE["noscript"],
            MAX_TOKENS_CHARS,
            _TEXT_KEYS,
        )
    except ValueError as exc:
        warnings.warn(f"linesift: not using the compiled walk: {exc}", stacklevel=2)
        return None
    return module


try:
    from . import _cwalk
except (ImportError, ValueError):  # not built; built against an incompatible lxml
    _cwalk = None
else:
    _cwalk = _bind_compiled_walk(_cwalk)
COMPILED_WALK: bool = _cwalk is not None and not os.environ.get("LINESIFT_PURE_PYTHON")
_walk_impl = _walk_compiled if COMPILED_WALK else _walk
# The compiled walk driven by libxml2's events, when it finds libxml2's functions in lxml's
# module; LINESIFT_TREE_WALK=1 parses a tree and walks it instead (same lines).
SAX_WALK: bool = (
    COMPILED_WALK
    and not os.environ.get("LINESIFT_TREE_WALK")
    and _cwalk.bind_libxml2(etree.__file__)
)


_CONTENT_RE = re.compile(rb"""\bcontent\s*=\s*["']?([^"'>]*)""", re.I)
_HREF_RE = re.compile(rb"""\bhref\s*=\s*["']?([^"'>\s]*)""", re.I)
_JSON_LD_RE = re.compile(rb"<script[^>]*ld\+json[^>]*>(.*?)</script", re.I | re.S)
_ITEMTYPE_RE = re.compile(rb"""\s*=\s*["']([^"']{0,400})""")  # after "itemtype"


def _needle_ends(data: bytes, needle: bytes, end: int, limit: int = -1) -> list[int]:
    """Where the occurrences of ``needle`` in ``data[:end]`` end, in order (at most
    ``limit``; -1: all). The compiled module's ``needle_ends`` (glibc's ``memmem``) is ~3x
    faster than this ``bytes.find`` loop; a regex with the literal prefix ~4x slower."""
    out: list[int] = []
    at = data.find(needle, 0, end)
    while at >= 0 and limit != 0:
        out.append(at + len(needle))
        limit -= 1
        at = data.find(needle, at + len(needle), end)
    return out


def _tag_around(data: bytes, at: int) -> bytes:
    """The markup tag holding position ``at`` (from its ``<`` to its ``>``)."""
    return data[data.rfind(b"<", 0, at) : data.find(b">", at) + 1]


def page_meta(html: str, json_ld: list[Any] | None = None, source: bytes | None = None) -> str:
    """What the page declares about itself, as space-separated facts: ``og:<type>`` (its
    Open Graph type), ``ld:<type>`` for each schema.org type named in its JSON-LD or
    microdata (lower case, sorted), and ``path:<path>`` of its canonical (or ``og:url``)
    address. The page-type inputs (``features.page_type_inputs``) read them.

    ``json_ld``: the page's JSON-LD documents as parsed by the segmentation (else found and
    parsed here); ``source``: the page as UTF-8 (else encoded here). The rest are literal
    scans of the bytes, not the tree (the SAX walk builds none): ~0.1 ms a WCXB page."""
    data = source if source is not None else html.encode("utf-8", "surrogatepass")
    find = _needle_ends_impl
    facts: list[str] = []
    heads = find(data, b"</head", len(data), 1)  # og:type and the canonical address are there
    head_end = heads[0] - 6 if heads else len(data)
    for at in find(data, b"og:type", head_end):
        content = _CONTENT_RE.search(_tag_around(data, at))
        if content and content.group(1).strip():
            facts.append("og:" + "_".join(_text(content.group(1)).lower().split()))
            break
    if json_ld is None:
        json_ld = []
        for script in _JSON_LD_RE.findall(data):
            try:
                json_ld.append(json.loads(script))
            except (ValueError, RecursionError):
                continue
    types: set[str] = set()
    for document in json_ld:
        _schema_types(document, types, 0)
    for at in find(data, b"itemtype", len(data)):
        found = _ITEMTYPE_RE.match(data, at)
        if found:
            for url in _text(found.group(1)).split():
                types.add(url.rstrip("/").rsplit("/", 1)[-1])
    facts.extend("ld:" + name.lower() for name in sorted(types) if name.isalpha())
    for needle, value_re in ((b"canonical", _HREF_RE), (b"og:url", _CONTENT_RE)):
        for at in find(data, needle, head_end):
            found = value_re.search(_tag_around(data, at))
            if found and found.group(1).strip():
                path = urlsplit(_text(found.group(1)).strip()).path or "/"
                facts.append("path:" + "".join(path.split()))
                return " ".join(facts)
    return " ".join(facts)


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


def _schema_types(node: Any, out: set[str], depth: int) -> None:
    """The ``@type`` names (last path part: "https://schema.org/Product" -> "Product") of
    a JSON-LD document's objects, to 40 levels deep."""
    if depth > 40:
        return
    if isinstance(node, dict):
        names = node.get("@type")
        for name in names if isinstance(names, list) else (names,):
            if isinstance(name, str):
                out.add(name.rstrip("/").rsplit("/", 1)[-1])
        for value in node.values():
            if isinstance(value, (dict, list)):
                _schema_types(value, out, depth + 1)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, (dict, list)):
                _schema_types(item, out, depth + 1)


def _structured_scripts(root: etree._Element) -> list[tuple[int, str | None]]:
    """``(kind, text)`` of the tree's ``<script>`` elements that hold JSON-LD (kind 0) or
    Next.js page state (kind 1: ``__NEXT_DATA__``), in document order. The compiled walk
    collects the same list as it goes (``_cwalk._note_script``): a second pass over the
    tree for them cost ~0.18 ms a WCXB page."""
    out: list[tuple[int, str | None]] = []
    for script in root.iter("script"):
        if (script.get("type") or "").lower() == "application/ld+json":
            out.append((0, script.text))
        elif script.get("id") == "__NEXT_DATA__":
            out.append((1, script.text))
    return out


_SCRIPT_SOURCES = (SOURCE_CODE["jsonld"], SOURCE_CODE["state"])


def _structured_lines(
    scripts: list[tuple[int, str | None]], lines: PageLines, json_ld: list[Any] | None = None
) -> None:
    """Candidate lines from JSON-LD and embedded page state (``_structured_scripts``);
    the parsed JSON-LD documents are appended to ``json_ld``."""
    for kind, script_text in scripts:
        source = _SCRIPT_SOURCES[kind]
        try:
            data = json.loads(script_text or "")
        except (ValueError, RecursionError):
            continue
        if kind == 0 and json_ld is not None:
            json_ld.append(data)
        seen: set[str] = set()
        for text in _json_texts_impl(data, source == SOURCE_CODE["state"]):
            if text in seen:
                continue
            seen.add(text)
            for para in re.split(r"\n\s*\n|\r\n\s*\r\n", text):
                para = normalize_space(_strip_tags(para))
                if para:
                    _append_plain(lines, para, source)


# text of an element and its descendants, without its tail: lxml.html's ``text_content()``
_string_value = etree.XPath("string()", smart_strings=False)


def _strip_tags(text: str) -> str:
    if "<" in text and ">" in text:
        root = parse_html(f"<div>{text}</div>")
        if root is not None:
            return _string_value(root)
    return text


def _json_texts(data: Any, any_long_string: bool) -> list[str]:
    """Main-text-like strings: known keys in JSON-LD; long prose strings in page state.

    Depth first in document order, to 40 levels below ``data``. Recursive (at most 41
    frames): a Next.js page state holds ~10^4 values, and an explicit stack of (node,
    depth) tuples cost ~1.5x the time of these calls."""
    out: list[str] = []
    text_keys = _TEXT_KEYS

    def visit(node: Any, depth: int) -> None:  # node: a dict or list at ``depth`` <= 40
        deeper = depth < 40
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str):
                    if (key in text_keys and len(value) >= 40) or (
                        any_long_string and len(value) >= 200 and value.count(" ") >= 20
                    ):
                        out.append(value)
                elif deeper and isinstance(value, (dict, list)):
                    visit(value, depth + 1)
        elif deeper:
            for item in node:
                if isinstance(item, (dict, list)):
                    visit(item, depth + 1)

    if isinstance(data, (dict, list)):
        visit(data, 0)
    return out


# the compiled visit where the compiled walk is in use (the same strings, ~5x faster)
_json_texts_impl = _cwalk.json_texts if COMPILED_WALK else _json_texts
_needle_ends_impl = _cwalk.needle_ends if COMPILED_WALK else _needle_ends


def _append_plain(lines: PageLines, text: str, source: int, gap: float = float("nan")) -> None:
    nan = float("nan")
    lines.gap_before.append(gap)
    lines.text.append(text)
    lines.tag.append("")
    lines.path.append("")
    lines.tokens.append("")
    lines.depth.append(nan)
    lines.dom_index.append(nan)
    lines.container.append(nan)
    lines.link_chars.append(nan)
    lines.hidden.append(nan)
    lines.context.append(0)
    lines.keywords.append(0)
    lines.source.append(source)


def segment_text(text: str) -> PageLines:
    """A plain-text page: one line per non-empty line; DOM columns missing (NaN)."""
    lines = PageLines(is_html=False)
    source = SOURCE_CODE["text"]
    blank = 0
    for raw in text.splitlines():
        line = normalize_space(raw)
        if line:
            _append_plain(lines, line, source, gap=float(min(blank, 2)))
            blank = 0
        else:
            blank += 1
    return lines


def segment(source: str, fmt: str) -> PageLines:
    """Segment a page given as HTML (``fmt="html"``) or plain text lines (``fmt="text"``)."""
    if fmt == "html":
        return segment_html(source)
    if fmt == "text":
        return segment_text(source)
    raise ValueError(f"unknown page format {fmt!r} (expected 'html' or 'text')")
