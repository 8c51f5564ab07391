"""Decoding page bytes, domains, and the native labeled-page format's errors."""

from __future__ import annotations

import codecs
import gzip
import json
import random
from pathlib import Path

import pytest

from linesift.dataset import (
    Page,
    decode_bytes,
    load_native,
    page_from_record,
    page_to_record,
    read_page_file,
    registered_domain,
    sniff_binary,
)

JA = "日本語の文章です。東京は晴れ。"
ZH = "中文测试页面，今天天气很好。"
FR = "Le café crème et la brûlée naïve, “façade” déjà vu."


# ---------------------------------------------------------------- BOMs and UTF-16


@pytest.mark.parametrize(
    ("bom", "codec"),
    [
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ],
)
def test_bom_decides(bom: bytes, codec: str) -> None:
    page = f'<html><head><meta charset="windows-1252"></head><body><p>{JA} {FR}</p></body></html>'
    # the BOM wins over a contradicting <meta charset>, and is not part of the text
    assert decode_bytes(bom + page.encode(codec)) == page


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("markup", [True, False])
def test_utf16_without_bom(codec: str, markup: bool) -> None:
    text = f"A plain line.\n{JA}\n{FR}\n" * 3
    if markup:
        text = f"<html><body><p>{text}</p></body></html>"
    assert decode_bytes(text.encode(codec)) == text
    # a truncated file (odd length) loses only its last half character
    assert decode_bytes(text.encode(codec)[:-1]) == text[:-1]


# ---------------------------------------------------------------- declared charsets


@pytest.mark.parametrize(
    ("meta", "codec", "text"),
    [
        ('<meta charset="windows-1252">', "cp1252", FR),
        ('<meta charset="iso-8859-1">', "cp1252", FR),  # browsers read latin-1 as cp1252
        (
            '<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">',
            "shift_jis",
            JA,
        ),
        ("<meta charset=Shift_JIS>", "cp932", "①番～" + JA),  # cp932 extensions in Shift_JIS
        ("<meta charset='x-sjis'>", "cp932", JA),
        ('<meta charset="GB18030">', "gb18030", ZH + " 𠀀"),
        ('<meta charset="gb2312">', "gbk", "朱镕基" + ZH),  # GBK characters in gb2312
        ('<meta charset="euc-kr">', "cp949", "똠방각하 한국어"),
        ('<meta charset="windows-1251">', "cp1251", "Привет мир, это страница."),
    ],
)
def test_meta_charset(meta: str, codec: str, text: str) -> None:
    page = f"<html><head>{meta}<title>t</title></head><body><p>{text}</p></body></html>"
    assert decode_bytes(page.encode(codec)) == page


def test_declared_charset_comes_before_meta() -> None:
    page = f'<meta charset="utf-8"><p>{FR}</p>'
    assert decode_bytes(page.encode("cp1252"), declared="windows-1252") == page
    page = f'<meta charset="windows-1252"><p>{FR}</p>'
    assert decode_bytes(page.encode("cp1252"), declared="no-such-charset") == page


def test_meta_utf16_on_a_byte_page_means_utf8() -> None:
    for filler in ("", "x"):  # even and odd length
        page = f'<html><head><meta charset="utf-16"></head><body><p>{FR}{filler}</p></body></html>'
        assert decode_bytes(page.encode("utf-8")) == page


def test_wrong_meta_falls_back_to_utf8_then_detection() -> None:
    page = f'<meta charset="utf-8"><p>{FR}</p>'
    assert decode_bytes(page.encode("cp1252")) == page  # detection, cp1252 preferred
    # valid UTF-8 is UTF-8 whatever the label (cp1252 would decode it as mojibake)
    page = f'<meta charset="windows-1252"><p>{FR}</p>'
    assert decode_bytes(page.encode("utf-8")) == page
    assert decode_bytes(page.encode("utf-8"), declared="iso-8859-1") == page


def test_detection_without_any_declaration() -> None:
    fr = f"<html><body><p>{FR} Où est la fenêtre ? Élève très âgé.</p></body></html>"
    assert decode_bytes(fr.encode("cp1252")) == fr
    ru = "<html><body><p>Привет мир, это тестовая страница на русском языке.</p></body></html>"
    assert decode_bytes(ru.encode("cp1251")) == ru
    ja = f"<html><body><p>{JA * 5}</p></body></html>"
    assert decode_bytes(ja.encode("shift_jis")) == ja
    assert decode_bytes(fr.encode("utf-8")) == fr


def test_garbage_bytes_never_raise() -> None:
    rng = random.Random(7)
    for size in (0, 1, 2, 3, 17, 1000, 50_000):
        data = bytes(rng.randrange(256) for _ in range(size))
        assert isinstance(decode_bytes(data), str)
    for data in (b"\x00" * 100, b"\xff\xfe\x00", b"\xfe\xff\xd8\x00", b"\xef\xbb\xbf\xff"):
        assert isinstance(decode_bytes(data), str)


# ---------------------------------------------------------------- files


def test_read_page_file_plain_gzip_and_misnamed(tmp_path: Path) -> None:
    page = f"<html><body><p>{JA}</p></body></html>"
    (tmp_path / "a.html").write_bytes(page.encode("utf-8"))
    (tmp_path / "b.html.gz").write_bytes(gzip.compress(page.encode("utf-8")))
    (tmp_path / "c.html").write_bytes(gzip.compress(page.encode("utf-8")))  # gzip by content
    (tmp_path / "d.html.gz").write_bytes(page.encode("utf-8"))  # not gzipped at all
    for name in ("a.html", "b.html.gz", "c.html", "d.html.gz"):
        assert read_page_file(tmp_path / name) == page, name


def test_truncated_gzip_keeps_what_decompresses(tmp_path: Path, caplog) -> None:
    page = "<html><body>" + "".join(f"<p>Paragraph {i}.</p>" for i in range(5000)) + "</body>"
    data = gzip.compress(page.encode())
    (tmp_path / "t.html.gz").write_bytes(data[: len(data) // 2])
    text = read_page_file(tmp_path / "t.html.gz")
    assert page.startswith(text) and "<p>Paragraph 0.</p>" in text
    assert len(text) > len(page) // 4
    assert "using the" in caplog.text
    (tmp_path / "h.html.gz").write_bytes(data[:10])  # header only: nothing to keep
    with pytest.raises(ValueError, match=r"h\.html\.gz: unreadable gzip data"):
        read_page_file(tmp_path / "h.html.gz")


def test_corrupt_gzip_keeps_what_decompresses(tmp_path: Path, caplog) -> None:
    """Damage in the middle of the deflate stream (the fast inflater raises its own error
    type, not zlib's): the pages before it are kept, with a warning."""
    page = "<html><body>" + "".join(f"<p>Paragraph {i}.</p>" for i in range(5000)) + "</body>"
    data = bytearray(gzip.compress(page.encode()))
    for i in range(len(data) // 2, len(data) // 2 + 40):
        data[i] ^= 0x5A
    (tmp_path / "c.html.gz").write_bytes(bytes(data))
    text = read_page_file(tmp_path / "c.html.gz")
    assert "<p>Paragraph 0.</p>" in text and len(text) < len(page)
    assert "using the" in caplog.text


def test_fast_gzip_reads_the_shipped_pages_as_gzip_does() -> None:
    from linesift import config
    from linesift.dataset import fast_gzip

    for path in sorted((config.WCXB_DIR / "html").glob("*.html.gz"))[:50]:
        data = path.read_bytes()
        assert fast_gzip.decompress(data) == gzip.decompress(data), path.name


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "PNG image"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF document"),
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "ZIP archive"),
        (random.Random(1).randbytes(5000), "binary data"),
    ],
)
def test_binary_files_are_rejected_clearly(tmp_path: Path, data: bytes, kind: str) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=rf"page\.html: {kind}, not an HTML or text page"):
        read_page_file(path)


def test_sniff_binary() -> None:
    assert sniff_binary(b"GIF89a....") == "GIF image"
    assert sniff_binary(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "RIFF media"
    assert sniff_binary(b"<!doctype html>") is None
    assert sniff_binary(b"") is None


# ---------------------------------------------------------------- domains


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://news.bbc.co.uk/x", "bbc.co.uk"),
        ("HTTPS://WWW.Example.COM./path?q=1", "example.com"),
        ("www.example.com", "example.com"),
        ("blog.example.com/2024/post", "example.com"),
        ("https://a.b.example.co.jp/", "example.co.jp"),
        ("https://user:pw@shop.example.org:8080/x", "example.org"),
        ("https://example.de", "example.de"),
        ("http://192.168.0.1:8080/", "192.168.0.1"),
        ("http://[2001:db8::1]/", "2001:db8::1"),
        ("http://[::1", ""),
        ("localhost", "localhost"),
        ("", ""),
    ],
)
def test_registered_domain(url: str, domain: str) -> None:
    assert registered_domain(url) == domain


# ---------------------------------------------------------------- native records


def _jsonl(tmp_path: Path, *lines: str | bytes) -> Path:
    path = tmp_path / "pages.jsonl"
    path.write_bytes(b"\n".join(x if isinstance(x, bytes) else x.encode() for x in lines))
    return path


def test_load_native_round_trip(tmp_path: Path) -> None:
    (tmp_path / "p.html.gz").write_bytes(gzip.compress(b"<p>From a file.</p>"))
    recs = [
        {"id": 1, "html": "<p>x</p>", "gold": "x", "url": "https://www.a.com/1"},
        {"id": "t", "text": "line one\nline two", "labels": [1, 0]},
        {"id": "f", "path": "p.html.gz", "page_type": "article"},
    ]
    path = _jsonl(
        tmp_path, codecs.BOM_UTF8 + json.dumps(recs[0]).encode(), "", *map(json.dumps, recs[1:])
    )
    pages = list(load_native(path))
    assert [p.id for p in pages] == ["1", "t", "f"]
    assert pages[0].domain == "a.com" and pages[0].format == "html" and pages[0].gold == "x"
    assert pages[1].format == "text" and pages[1].labels == [1, 0] and pages[1].domain == "t"
    assert pages[2].source == "<p>From a file.</p>" and pages[2].page_type == "article"
    back = page_from_record(page_to_record(pages[1]))
    assert back == pages[1]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": 1, "html": "<p>x</p>"', r":2: not JSON"),
        ("[1, 2]", r":2: expected a JSON object, not list"),
        ('"just a string"', r":2: expected a JSON object, not str"),
        ('{"id": 1, "format": "pdf", "pdf": "x"}', r":2: format must be 'html' or 'text'"),
        ('{"id": 1}', r":2: needs 'html' or 'path'"),
        ('{"id": 1, "format": "text"}', r":2: needs 'text' or 'path'"),
        ('{"html": "<p>x</p>"}', r":2: needs 'id'"),
        ('{"id": 1, "html": 42}', r":2: 'html' must be a string, not int"),
        ('{"id": 1, "html": "x", "gold": ["a"]}', r":2: 'gold' must be a string, not list"),
        ('{"id": 1, "html": "x", "labels": [1, 2]}', r":2: 'labels' must be a list of 0 and 1"),
        ('{"id": 1, "html": "x", "labels": "01"}', r":2: 'labels' must be a list of 0 and 1"),
        ('{"id": 1, "path": "missing.html"}', r":2: cannot read 'path': .*missing\.html"),
        (b'{"id": 1, "html": "caf\xe9"}', r":2: not UTF-8"),
    ],
)
def test_load_native_errors_name_the_line(tmp_path: Path, line: str | bytes, message: str) -> None:
    path = _jsonl(tmp_path, '{"id": 0, "html": "<p>ok</p>"}', line)
    pages = load_native(path)
    assert next(pages).id == "0"  # the good first line loads
    with pytest.raises(ValueError, match=rf"^{path!s}{message}"):
        next(pages)


def test_page_from_record_defaults() -> None:
    page = page_from_record({"id": 5, "html": "<p>x</p>", "page_type": None})
    assert page == Page(id="5", source="<p>x</p>", domain="5", page_type="unknown")
    with pytest.raises(ValueError, match=r"^rec 9: needs 'id'"):
        page_from_record({"html": "x"}, where="rec 9")
