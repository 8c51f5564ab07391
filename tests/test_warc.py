"""WARC/ARC input: only HTML 200 pages come out, with their ids, URIs, dates and charsets, and
the text the Extractor gives on the same HTML. Also builds the WARCs test_spark and
test_datatrove use (``build_warc``)."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from linesift import cli, config
from linesift.dataset import read_page_file
from linesift.modeling.predict import Extractor
from linesift.warc import (
    WarcError,
    WarcStats,
    is_warc_path,
    iter_warc_pages,
    parse_content_type,
)

# small WCXB pages whose extracted text is not empty
UTF8_PAGES = ("0541", "4207", "4412", "4855")
CP1252_PAGE = "0082"  # non-ASCII text, all of it in windows-1252
GZIP_PAGE = "0488"  # sent with Content-Encoding: gzip


def wcxb_html(number: str) -> str:
    return read_page_file(config.WCXB_DIR / "html" / f"{number}.html.gz")


def _http(status: str, content_type: str | None, extra: list | None = None) -> StatusAndHeaders:
    headers = [("Content-Type", content_type)] if content_type else []
    return StatusAndHeaders(status, headers + (extra or []), protocol="HTTP/1.1")


def build_warc(path: Path, *, gzipped: bool = True) -> dict[str, dict]:
    """A WARC with 6 HTML 200 pages among records that must be skipped. Returns the expected
    pages by URI: record id, date, decoded html, charset."""
    expected: dict[str, dict] = {}
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=gzipped)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "test"}))

        def response(uri, body: bytes, http, expect_html: str | None, charset=None, date=None):
            warc_headers = {"WARC-Date": date} if date else None
            rec = writer.create_warc_record(
                uri,
                "response",
                payload=io.BytesIO(body),
                http_headers=http,
                warc_headers_dict=warc_headers,
            )
            writer.write_record(rec)
            if expect_html is not None:
                expected[uri] = {
                    "record_id": rec.rec_headers.get_header("WARC-Record-ID"),
                    "date": rec.rec_headers.get_header("WARC-Date"),
                    "html": expect_html,
                    "charset": charset,
                }

        for i, number in enumerate(UTF8_PAGES):
            html = wcxb_html(number)
            ctype = "text/html; charset=UTF-8" if i % 2 == 0 else "application/xhtml+xml"
            response(
                f"https://example.com/page/{number}",
                html.encode("utf-8"),
                _http("200 OK", ctype),
                html,
                charset="UTF-8" if i % 2 == 0 else None,
                date=f"2024-03-0{i + 1}T10:00:00Z",
            )
        # request for the first page
        writer.write_record(
            writer.create_warc_record(
                "https://example.com/page/0541",
                "request",
                http_headers=StatusAndHeaders(
                    "GET /page/0541 HTTP/1.1", [("Host", "example.com")], is_http_request=True
                ),
            )
        )
        missing = not_found_page().encode("utf-8")
        response("https://example.com/missing", missing, _http("404 Not Found", "text/html"), None)
        png = b"\x89PNG\r\n\x1a\n" + bytes(200)
        response("https://example.com/logo.png", png, _http("200 OK", "image/png"), None)
        writer.write_record(
            writer.create_revisit_record(
                "https://example.com/page/4207",
                digest="sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                refers_to_uri="https://example.com/page/4207",
                refers_to_date="2024-03-02T10:00:00Z",
                http_headers=_http("200 OK", "text/html"),
            )
        )
        html = wcxb_html(CP1252_PAGE)
        response(
            "https://example.org/latin",
            html.encode("cp1252"),
            _http("200 OK", 'text/html; charset="windows-1252"'),
            html,
            charset="windows-1252",
        )
        html = wcxb_html(GZIP_PAGE)
        response(
            "https://example.org/gzipped",
            gzip.compress(html.encode("utf-8")),
            _http("200 OK", "text/html;charset=utf-8", [("Content-Encoding", "gzip")]),
            html,
            charset="utf-8",
        )
    return expected


def not_found_page() -> str:
    """A 404 page as sites serve them: the site's menu and footer around "Not Found" (over
    the empty-page rule's 50 words, so the model's "nothing here" stands)."""
    sections = [
        "Home", "News", "World news", "Business and finance", "Sport results",
        "Culture and arts", "Science", "Technology news", "Travel guides", "Weather forecast",
        "Contact the newsroom", "About this site", "Jobs at the paper", "Privacy policy",
        "Terms of use", "Cookie settings", "Subscribe now", "Sign in to your account",
        "Help centre",
    ]  # fmt: skip
    links = "".join(f'<li><a href="/{i}">{name}</a></li>' for i, name in enumerate(sections))
    return (
        "<html><head><title>Page not found</title></head><body>"
        f"<nav><ul>{links}</ul></nav><h1>Not Found</h1><p>No such page here.</p>"
        "<footer><a href='/'>Home</a> | <a href='/contact'>Contact us</a> | "
        "<a href='/privacy'>Privacy</a></footer></body></html>"
    )


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor()


@pytest.fixture(scope="module")
def warc_file(tmp_path_factory) -> tuple[Path, dict[str, dict]]:
    path = tmp_path_factory.mktemp("warc") / "crawl.warc.gz"
    return path, build_warc(path)


def test_parse_content_type():
    assert parse_content_type("text/html; charset=ISO-8859-1") == ("text/html", "ISO-8859-1")
    assert parse_content_type('Text/HTML;Charset="utf-8"') == ("text/html", "utf-8")
    assert parse_content_type("application/xhtml+xml") == ("application/xhtml+xml", None)
    assert parse_content_type(None) == ("", None)
    assert is_warc_path("a/CC-MAIN-1.warc.gz") and is_warc_path("x.ARC")
    assert not is_warc_path("x.warc.gz.txt")


@pytest.mark.parametrize("gzipped", [True, False], ids=["gzip", "plain"])
def test_only_html_200_pages_come_out(tmp_path, gzipped):
    path = tmp_path / ("crawl.warc.gz" if gzipped else "crawl.warc")
    expected = build_warc(path, gzipped=gzipped)
    stats = WarcStats()
    pages = list(iter_warc_pages(path, stats=stats))
    assert [p.url for p in pages] == list(expected)  # file order, nothing else
    for page in pages:
        want = expected[page.url]
        assert page.record_id == want["record_id"] and page.record_id.startswith("<urn:uuid:")
        assert page.date == want["date"]
        assert page.charset == want["charset"]
        assert page.html == want["html"]
        assert page.warc == str(path) and page.offset >= 0
    assert pages[0].date == "2024-03-01T10:00:00Z"
    assert stats.pages == 6
    assert stats.records == 11  # warcinfo + 8 responses + request + revisit
    assert stats.skipped == {
        "warcinfo": 1,
        "request": 1,
        "revisit": 1,
        "status 404": 1,
        "image/png": 1,
    }


def test_http_charset_is_passed_to_decode_bytes(tmp_path, monkeypatch):
    """The HTTP Content-Type charset goes to ``decode_bytes(data, declared=...)``."""
    import linesift.warc as warc_module

    text = "<html><body><p>Съешь же ещё этих мягких французских булок</p></body></html>"
    path = tmp_path / "cyrillic.warc"
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=False)
        for uri, ctype in (
            ("http://a/1", "text/html; charset=windows-1251"),
            ("http://a/2", "text/html"),
        ):
            writer.write_record(
                writer.create_warc_record(
                    uri,
                    "response",
                    payload=io.BytesIO(text.encode("cp1251")),
                    http_headers=_http("200 OK", ctype),
                )
            )
    calls = []
    real = warc_module.decode_bytes

    def spy(data: bytes, declared: str | None = None) -> str:
        calls.append(declared)
        return real(data, declared=declared)

    monkeypatch.setattr(warc_module, "decode_bytes", spy)
    declared, undeclared = iter_warc_pages(path)
    assert calls == ["windows-1251", None]
    assert declared.charset == "windows-1251" and undeclared.charset is None
    assert declared.html == text  # not valid UTF-8: the header's charset decodes it


def test_text_equals_extractor(warc_file, extractor):
    path, expected = warc_file
    pages = list(iter_warc_pages(path))
    results = list(extractor.extract_many([p.page() for p in pages]))
    assert [r.id for r in results] == [p.record_id for p in pages]
    for page, result in zip(pages, results, strict=True):
        assert result.error is None
        assert result.text == extractor.extract(expected[page.url]["html"])
    assert sum(bool(r.text) for r in results) == len(results)  # every page has main text
    latin = next(r for p, r in zip(pages, results, strict=True) if p.url.endswith("/latin"))
    assert any(ord(c) > 127 for c in latin.text)


def test_size_cap_skips_big_pages(warc_file):
    path, expected = warc_file
    stats = WarcStats()
    small = list(iter_warc_pages(path, max_bytes=30_000, stats=stats))
    want = [u for u, e in expected.items() if len(e["html"].encode("utf-8")) <= 30_000]
    assert [p.url for p in small] == want
    assert stats.skipped["too large"] == len(expected) - len(want) > 0


def test_truncated_warc_yields_pages_then_error(tmp_path, warc_file):
    path, expected = warc_file
    data = path.read_bytes()
    bad = tmp_path / "truncated.warc.gz"
    bad.write_bytes(data[: len(data) * 2 // 3])
    got = []
    with pytest.raises(WarcError, match=r"truncated\.warc\.gz: truncated"):
        for page in iter_warc_pages(bad):
            got.append(page.url)
    assert 0 < len(got) < len(expected)
    assert got == list(expected)[: len(got)]
    junk = tmp_path / "junk.warc"
    junk.write_bytes(b"this is not a WARC file\n" * 10)
    with pytest.raises(WarcError, match=r"junk\.warc"):
        list(iter_warc_pages(junk))
    with pytest.raises(WarcError, match="cannot open"):
        list(iter_warc_pages(tmp_path / "missing.warc.gz"))


def _arc(records: list[tuple[str, str, bytes]], gzipped: bool) -> bytes:
    """An ARC v1 file by hand: (url, date, full HTTP response) records; gzipped one member
    per record, as crawlers write them."""
    desc = b"1 0 linesift-test\nURL IP-address Archive-date Content-type Archive-length\n"
    out = [b"filedesc://test.arc 0.0.0.0 20040101000000 text/plain %d\n" % len(desc) + desc]
    for url, date, response in records:
        head = f"{url} 10.0.0.1 {date} text/html {len(response)}\n".encode()
        out.append(head + response + b"\n")
    out[0] += b"\n"
    return b"".join(gzip.compress(r) if gzipped else r for r in out)


@pytest.mark.parametrize("gzipped", [True, False], ids=["arc.gz", "arc"])
def test_arc_files(tmp_path, gzipped, extractor):
    html = wcxb_html(UTF8_PAGES[0])
    ok = b"HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html.encode()
    gone = b"HTTP/1.0 404 Not Found\r\nContent-Type: text/html\r\n\r\n<html>gone</html>"
    raw = _arc(
        [
            ("http://old.example.com/a", "20040102030405", ok),
            ("http://old.example.com/b", "20040102030406", gone),
        ],
        gzipped,
    )
    path = tmp_path / ("old.arc.gz" if gzipped else "old.arc")
    path.write_bytes(raw)
    (page,) = list(iter_warc_pages(path))
    assert page.url == "http://old.example.com/a"
    assert page.date == "2004-01-02T03:04:05Z"
    assert page.record_id == f"<urn:arc:{path.name}:{page.offset}>"  # reproducible
    assert [p.record_id for p in iter_warc_pages(path)] == [page.record_id]
    assert page.html == html
    assert extractor.extract(page.page()) == extractor.extract(html)


def test_cli_warc_to_jsonl(tmp_path, warc_file, extractor, capsys):
    path, expected = warc_file
    bad = tmp_path / "broken.warc.gz"
    data = path.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out.jsonl.gz"
    args = ["extract", str(path), str(bad), "--format", "jsonl", "-o", str(out), "-q"]
    code = cli.main([*args, "--workers", "1"])
    assert code == cli.EXIT_PAGES_FAILED  # the broken WARC is reported, the run goes on
    with gzip.open(out, "rt", encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh]
    by_source = [r for r in records if r["source"].startswith(str(path))]
    assert [r["url"] for r in by_source] == list(expected)
    for rec in by_source:
        want = expected[rec["url"]]
        assert rec["id"] == rec["warc_record_id"] == want["record_id"]
        assert rec["date"] == want["date"]
        assert rec["text"] == extractor.extract(want["html"])
    broken = [r for r in records if r["source"].startswith(str(bad))]
    assert 0 < len(broken) < len(expected)
    assert all(r["text"] == extractor.extract(expected[r["url"]]["html"]) for r in broken)
    errors = [json.loads(line) for line in (tmp_path / "out.errors.jsonl").open()]
    assert len(errors) == 1 and errors[0]["source"] == str(bad)
    assert "truncated" in errors[0]["error"]
    assert "broken.warc.gz" in capsys.readouterr().err
