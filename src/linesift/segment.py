"""Pages to lines.

HTML is walked once (lxml ``iterwalk``) with inherited context: every block element starts a
new line, ``<br>`` ends one, inline elements stay inside their line. Each line carries its
DOM context as plain columns (no per-line objects). Plain-text pages become one line per
non-empty line with the DOM columns missing.

Rules that matter for recall (see tests/test_segment.py):
- script/style/template/svg/... are skipped, but ``<noscript>`` is walked: some forum
  software serves the whole thread there.
- Hidden elements (``hidden``, ``aria-hidden``, ``display:none``) are kept, flagged hidden.
- The whole document is walked, not only ``<body>``: libxml2 files the body of some malformed
  pages under ``<head>``.
- JSON-LD ``articleBody``/``description``/``text`` and ``__NEXT_DATA__`` strings become
  candidate lines with ``source`` saying where they came from: some product, listing and
  collection pages carry their main text only there.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import lxml.etree as etree
import lxml.html

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

# Context flags, inherited from ancestors (bit positions are part of the feature schema).
CONTEXT_TAGS = (
    "nav",
    "header",
    "footer",
    "aside",
    "li",
    "table",
    "form",
    "a",
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
_KEYWORD_BIT = {name: 1 << i for i, name in enumerate(KEYWORD_NAMES)}

_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_WS_RE = re.compile(r"\s+")

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
    is_html: bool = True

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
        }


def normalize_space(text: str) -> str:
    return _WS_RE.sub(" ", text).strip()


def _keyword_bits(attr_text: str) -> int:
    bits = 0
    for m in _KEYWORD_RE.finditer(attr_text):
        bits |= _KEYWORD_BIT[m.lastgroup]  # type: ignore[index]
    return bits


def parse_html(html: str) -> etree._Element | None:
    """Parse an HTML string with lxml; None for a document with no elements."""
    html = _XML_DECL_RE.sub("", html, count=1)
    if not html.strip():
        return None
    try:
        return lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None


class _Frame:
    """Inherited context of an open element."""

    __slots__ = (
        "block",
        "container",
        "context",
        "depth",
        "hidden",
        "index",
        "keywords",
        "path",
        "tokens",
    )

    def __init__(self, block, index, container, context, depth, hidden, keywords, path, tokens):
        self.block = block
        self.index = index
        self.container = container
        self.context = context
        self.depth = depth
        self.hidden = hidden
        self.keywords = keywords
        self.path = path
        self.tokens = tokens


def segment_html(html: str, *, structured: bool = True) -> PageLines:
    """Split an HTML page into lines in reading order (see module docstring)."""
    root = parse_html(html)
    lines = PageLines()
    if root is None:
        return lines
    _walk(root, lines, source=SOURCE_CODE["dom"])
    if structured:
        _structured_lines(root, lines)
    return lines


def _walk(root: etree._Element, lines: PageLines, source: int) -> None:
    buf: list[str] = []
    link_buf = [0]  # chars inside <a> in the current line
    stack: list[_Frame] = []
    top = _Frame("body", 0, 0, 0, 0, 0, 0, "", "")
    element_index = 0
    link_depth = 0
    noscript_bit = CONTEXT_BIT["noscript"]
    noscript = SOURCE_CODE["noscript"]

    def flush(frame: _Frame) -> None:
        if not buf:
            return
        text = normalize_space("".join(buf))
        buf.clear()
        link = link_buf[0]
        link_buf[0] = 0
        if not text:
            return
        lines.text.append(text)
        lines.tag.append(frame.block)
        lines.path.append(frame.path)
        lines.tokens.append(frame.tokens)
        lines.depth.append(frame.depth)
        lines.dom_index.append(frame.index)
        lines.container.append(frame.container)
        lines.link_chars.append(min(link, len(text)))
        lines.hidden.append(frame.hidden)
        lines.context.append(frame.context)
        lines.keywords.append(frame.keywords)
        lines.source.append(noscript if frame.context & noscript_bit else source)

    def add(text: str | None) -> None:
        if text:
            buf.append(text)
            if link_depth:
                link_buf[0] += len(text.strip())

    walker = etree.iterwalk(root, events=("start", "end"))
    for event, el in walker:
        tag = el.tag
        if not isinstance(tag, str):  # comment / processing instruction
            if event == "end":
                add(el.tail)
            continue
        tag = tag.lower()
        if ":" in tag or "}" in tag:  # namespaced (XHTML, svg:...) -> local name
            tag = tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]
        if event == "start":
            element_index += 1
            frame = stack[-1] if stack else top
            if tag in SKIP_TAGS:
                walker.skip_subtree()
                stack.append(frame)
                continue
            is_block = tag in BLOCK_TAGS
            if is_block or tag == "br":
                flush(frame)
            attrib = el.attrib
            hidden = frame.hidden
            keywords = frame.keywords
            tokens = frame.tokens
            if attrib:
                if (
                    "hidden" in attrib
                    or attrib.get("aria-hidden") == "true"
                    or _HIDDEN_STYLE_RE.search(attrib.get("style", ""))
                ):
                    hidden = 1
                attr_text = " ".join(
                    v for v in (attrib.get("class"), attrib.get("id"), attrib.get("role")) if v
                ).lower()
                if attr_text:
                    keywords |= _keyword_bits(attr_text)
                    if is_block:
                        tokens = (attr_text + " " + tokens)[:MAX_TOKENS_CHARS].strip()
            context = frame.context | _TAG_FLAG.get(tag, 0)
            if tag == "a":
                link_depth += 1
            if is_block:
                new = _Frame(
                    tag,
                    element_index,
                    frame.index,
                    context,
                    frame.depth + 1,
                    hidden,
                    keywords,
                    (frame.path + ">" + tag) if frame.path else tag,
                    tokens,
                )
            else:
                new = _Frame(
                    frame.block,
                    frame.index,
                    frame.container,
                    frame.context,  # inline tags do not change the line's context
                    frame.depth,
                    frame.hidden,
                    frame.keywords,
                    frame.path,
                    frame.tokens,
                )
            stack.append(new)
            add(el.text)
        else:  # end
            frame = stack.pop()
            if tag in SKIP_TAGS:
                add(el.tail)
                continue
            if tag == "a" and link_depth:
                link_depth -= 1
            if tag in BLOCK_TAGS:
                flush(frame)
            add(el.tail)
    flush(top)


_TEXT_KEYS = ("articleBody", "text", "description", "reviewBody")


def _structured_lines(root: etree._Element, lines: PageLines) -> None:
    """Candidate lines from JSON-LD and embedded page state (Next.js ``__NEXT_DATA__``)."""
    for script in root.iter("script"):
        kind = (script.get("type") or "").lower()
        if kind == "application/ld+json":
            source = SOURCE_CODE["jsonld"]
        elif script.get("id") == "__NEXT_DATA__":
            source = SOURCE_CODE["state"]
        else:
            continue
        try:
            data = json.loads(script.text or "")
        except (ValueError, RecursionError):
            continue
        seen: set[str] = set()
        for text in _json_texts(data, source == SOURCE_CODE["state"]):
            if text in seen:
                continue
            seen.add(text)
            for para in re.split(r"\n\s*\n|\r\n\s*\r\n", text):
                para = normalize_space(_strip_tags(para))
                if para:
                    _append_plain(lines, para, source)


def _strip_tags(text: str) -> str:
    if "<" in text and ">" in text:
        root = parse_html(f"<div>{text}</div>")
        if root is not None:
            return root.text_content()
    return text


def _json_texts(data: Any, any_long_string: bool, depth: int = 0):
    """Yield main-text-like strings: known keys in JSON-LD; long prose strings in page state."""
    if depth > 40:
        return
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, str):
                if (key in _TEXT_KEYS and len(value) >= 40) or (
                    any_long_string and len(value) >= 200 and value.count(" ") >= 20
                ):
                    yield value
            else:
                yield from _json_texts(value, any_long_string, depth + 1)
    elif isinstance(data, list):
        for item in data:
            yield from _json_texts(item, any_long_string, depth + 1)


def _append_plain(lines: PageLines, text: str, source: int) -> None:
    nan = float("nan")
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
    for raw in text.splitlines():
        line = normalize_space(raw)
        if line:
            _append_plain(lines, line, source)
    return lines


def segment(source: str, fmt: str) -> PageLines:
    """Segment a page given as HTML (``fmt="html"``) or plain text lines (``fmt="text"``)."""
    if fmt == "html":
        return segment_html(source)
    if fmt == "text":
        return segment_text(source)
    raise ValueError(f"unknown page format {fmt!r} (expected 'html' or 'text')")
