"""Hostile input (issue 6): every file gives an Extraction with its text, or a clear error;
segment and featurize never crash on random or mutated HTML (property-based)."""

from __future__ import annotations

import gzip
import math
import re
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linesift import config
from linesift.dataset import Page, decode_bytes, read_page_file
from linesift.features import HTML_FEATURES, TEXT_FEATURES, featurize, lines_frame
from linesift.modeling.predict import Extraction, Extractor, guess_format
from linesift.segment import segment_html, segment_text

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"
JA = "吾輩は猫である。名前はまだ無い。"
JA2 = "日本の首都は東京です。今日はとても良い天気ですね。"
ZH = "今天天气很好，我们去公园散步吧。"
FR = "Le café crème et la brûlée naïve, déjà vu à l’hôtel."

# file -> text that must be among the extracted lines ("" = no lines), or ("error", pattern)
EXPECTED: dict[str, str | tuple[str, str]] = {
    "empty.html": "",
    "image.png.html": ("error", r"image\.png\.html: PNG image, not an HTML or text page"),
    "document.pdf.html": ("error", r"document\.pdf\.html: PDF document, not an HTML or text"),
    "archive.zip.html": ("error", r"archive\.zip\.html: ZIP archive, not an HTML or text page"),
    "truncated.html.gz": "Sentence number 0 of the truncated gzip page.",
    "invalid-utf8.html": "Valid end sentence.",
    "windows-1252-meta.html": FR,
    "windows-1252-nometa.html": FR,
    "shift_jis-meta.html": JA,
    "shift_jis-nometa.html": JA2,
    "gb18030-meta.html": ZH,
    "gb18030-nometa.html": ZH,
    "utf-16le-bom.html": JA,
    "utf-16be-bom.html": JA,
    "utf-16le-nobom.html": JA,
    "utf-16be-nobom-meta.html": JA,
    "utf-16le-bom.txt": JA,
    "unclosed-tags.html": "Text after a stray closing html tag.",
    "only-scripts.html": "",
    "xhtml-decl.xhtml": FR.replace("’", "'"),
    "one-word.html": "Hello",
    "unclosed-title.html": "Body text swallowed by an unclosed title.",
    "body-in-head.html": "Body text that libxml2 files under the head.",
}


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor()


def _extract_files(extractor: Extractor, paths: list[Path]) -> dict[str, Extraction]:
    """What a batch run does: read, then extract; a file that cannot be read is an error."""
    results: dict[str, Extraction] = {}
    pages = []
    for path in paths:
        try:
            source = read_page_file(path)
        except (OSError, ValueError) as exc:
            results[path.name] = Extraction(id=path.name, text="", error=str(exc))
            continue
        pages.append(Page(id=path.name, source=source, format=guess_format(source)))
    for result in extractor.extract_many(pages, batch_size=8):
        results[result.id] = result
    return results


def test_fixture_set_is_complete() -> None:
    assert sorted(p.name for p in HOSTILE.iterdir()) == sorted(EXPECTED)


def test_hostile_files(extractor: Extractor) -> None:
    results = _extract_files(extractor, sorted(HOSTILE.iterdir()))
    assert sorted(results) == sorted(EXPECTED)
    for name, expected in EXPECTED.items():
        result = results[name]
        if isinstance(expected, tuple):
            assert result.error, name
            assert re.search(expected[1], result.error), result.error
            continue
        assert result.error is None, (name, result.error)
        texts = [line.text for line in result.lines]
        if expected:
            assert any(expected in t for t in texts), (name, texts)
        else:
            assert texts == [], (name, texts)
        assert all(0 <= line.probability <= 1 for line in result.lines)
        assert result.text == "\n".join(line.text for line in result.lines if line.label)


def test_decoding_of_the_encoding_fixtures() -> None:
    for name in ("shift_jis-meta.html", "utf-16be-nobom-meta.html"):
        assert JA in read_page_file(HOSTILE / name), name
    assert JA2 in read_page_file(HOSTILE / "shift_jis-nometa.html")  # by detection
    for name in ("gb18030-meta.html", "gb18030-nometa.html"):
        assert ZH in read_page_file(HOSTILE / name), name
    assert "\ufffd" not in read_page_file(HOSTILE / "windows-1252-nometa.html")


def test_huge_page(extractor: Extractor, tmp_path: Path) -> None:
    para = "<p>" + "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 10 + "</p>\n"
    body = para * (20_000_000 // len(para))
    html = f"<html><body><h1>Big page</h1>{body}<p>The very last sentence.</p></body></html>"
    path = tmp_path / "big.html.gz"
    path.write_bytes(gzip.compress(html.encode(), compresslevel=1))
    assert len(html) > 20_000_000
    start = time.perf_counter()
    [result] = _extract_files(extractor, [path]).values()
    assert result.error is None
    assert len(result.lines) == body.count("<p>") + 2
    assert result.lines[-1].text == "The very last sentence."
    assert time.perf_counter() - start < 120


def test_very_deep_nesting(extractor: Extractor) -> None:
    n = 10_000
    html = (
        f"<html><body><p>Shallow text.</p>{'<div>' * n}<p>Deep text.</p>{'</div>' * n}"
        f"{'<span>' * n}Deep inline text.{'</span>' * n}<p>Text after.</p></body></html>"
    )
    [result] = list(extractor.extract_many([html]))
    assert result.error is None
    texts = [line.text for line in result.lines]
    assert texts == ["Shallow text.", "Deep text.", "Deep inline text.", "Text after."]


def test_pages_that_fail_do_not_stop_the_batch(extractor: Extractor) -> None:
    pages = [
        Page(id="ok", source="<p>Fine page text here.</p>"),
        Page(id="bad-format", source="x", format="pdf"),
        Page(id="ok2", source="line one\nline two", format="text"),
    ]
    results = {r.id: r for r in extractor.extract_many(pages)}
    assert results["ok"].error is None and results["ok"].lines[0].text == "Fine page text here."
    assert results["bad-format"].error and "pdf" in results["bad-format"].error
    assert [line.text for line in results["ok2"].lines] == ["line one", "line two"]


# ---------------------------------------------------------------- property-based

SOUP = [
    "<html>", "</html>", "<head>", "</head>", "<body>", "</body>", "<title>", "</title>",
    "<div>", "</div>", "<p>", "</p>", "<a href='/x'>", "</a>", "<br>", "<br/>", "<b>", "</b>",
    "<script>", "</script>", "<style>", "</style>", "<noscript>", "</noscript>", "<table>",
    "<tr>", "<td>", "</td>", "<ul>", "<li>", "</li>", "<nav class='menu'>", "</nav>",
    "<span hidden>", "</span>", "<svg>", "</svg>", "<textarea>", "<object>", "<select>",
    "<option>", "<template>", "<!--", "-->", "<!DOCTYPE html>", "<?xml version='1.0' "
    "encoding='utf-8'?>", "<![CDATA[", "]]>", "<", ">", "</", "/>", "&amp;", "&#0;", "&#x110000;",
    "&bogus;", '"', "'", "=", " ", "\n", "\x00", "\x0b", "\ufeff", "\ud7ff", "text", "Word ",
    "日本語", "مرحبا", "🙂", '<script type="application/ld+json">{"articleBody": "',
    'A long enough article body in JSON-LD for a structured line."}', "</p></div></body>",
]  # fmt: skip


def _check_features(lines, kind: str) -> None:
    x = featurize(lines_frame([lines]), kind)
    names = HTML_FEATURES if kind == "html" else TEXT_FEATURES
    assert list(x.columns) == names
    assert x.shape == (len(lines), len(names))
    values = x.to_numpy(dtype=float)
    assert not np.isinf(values).any()


@settings(
    max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.lists(st.sampled_from(SOUP), max_size=80))
def test_tag_soup_never_crashes(parts: list[str]) -> None:
    html = "".join(parts)
    lines = segment_html(html)
    assert all(t and t == t.strip() for t in lines.text)
    assert {len(v) for v in lines.columns().values()} <= {len(lines)}
    _check_features(lines, "html")


@settings(max_examples=100, deadline=None, database=None)
@given(st.text(max_size=400))
def test_random_text_never_crashes(text: str) -> None:
    lines = segment_text(text)
    _check_features(lines, "text")
    html_lines = segment_html(text)
    _check_features(html_lines, "html")


@pytest.fixture(scope="module")
def real_page_bytes() -> bytes:
    # one real WCXB page, cut to 30 KB to keep each example fast
    return gzip.decompress((config.WCXB_DIR / "html" / "0005.html.gz").read_bytes())[:30_000]


@settings(
    max_examples=100,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_mutated_real_page_never_crashes(real_page_bytes: bytes, data) -> None:
    page = bytearray(real_page_bytes)
    for _ in range(data.draw(st.integers(0, 6), label="mutations")):
        op = data.draw(st.sampled_from(["truncate", "flip", "delete", "duplicate", "insert"]))
        if not page:
            break
        i = data.draw(st.integers(0, len(page) - 1))
        j = data.draw(st.integers(i, min(len(page), i + 5000)))
        if op == "truncate":
            del page[i:]
        elif op == "flip":
            page[i] ^= data.draw(st.integers(1, 255))
        elif op == "delete":
            del page[i:j]
        elif op == "duplicate":
            page[i:i] = page[i:j]
        else:
            page[i:i] = data.draw(st.sampled_from(SOUP)).encode("utf-8", "surrogatepass")
    text = decode_bytes(bytes(page))
    lines = segment_html(text)
    _check_features(lines, "html")


@settings(max_examples=100, deadline=None, database=None)
@given(st.binary(max_size=3000))
def test_random_bytes_decode_and_segment(data: bytes) -> None:
    text = decode_bytes(data)
    assert isinstance(text, str)
    lines = segment_html(text)
    assert all(isinstance(t, str) and t for t in lines.text)
    assert all(math.isnan(d) or d >= 0 for d in lines.depth)
