"""Labeled pages: one ``Page`` record, whatever the source (WCXB, readability pages, native JSONL).

The native format, one JSON object per line::

    {"id": "...", "url": "...", "format": "html" | "text",
     "html" | "text": "<the page>"   (or "path": "page.html[.gz]", relative to the JSONL file),
     "gold": "main text"             (or "labels": [0, 1, ...], one per segmented line),
     "page_type": "article", "domain": "example.com"}
"""

from __future__ import annotations

import codecs
import gzip
import json
import logging
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from . import config

try:  # Intel ISA-L's inflate (python-isal): gzip's bytes and errors, ~2.4x faster on WCXB pages
    from isal import igzip as fast_gzip
    from isal.isal_zlib import error as _fast_gzip_error
except ImportError:  # no wheel for this platform: the standard library's
    fast_gzip = gzip  # type: ignore[misc]
    _fast_gzip_error = zlib.error
# what reading a truncated or corrupt gzip stream raises, with either module
GZIP_ERRORS: tuple[type[BaseException], ...] = (EOFError, OSError, zlib.error, _fast_gzip_error)

log = logging.getLogger(__name__)


@dataclass
class Page:
    id: str
    source: str
    format: str = "html"  # "html" or "text"
    url: str = ""
    gold: str | None = None
    labels: list[int] | None = None
    page_type: str = "unknown"
    domain: str = ""
    dataset: str = "native"


# ---------------------------------------------------------------- decoding

_META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-:.]+)""", re.I)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


# Labels Python does not know, and charsets browsers decode as a superset (WHATWG Encoding
# Standard): pages labeled Shift_JIS use cp932's extra characters (①, ～), gb2312 pages use
# GBK's, "iso-8859-1" pages use cp1252's quotes. Decoding with the narrow codec fails on them.
_LABELS = {
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "x-gbk": "gb18030",
    "windows-936": "gb18030",
    "windows-949": "cp949",
    "windows-874": "cp874",
    "x-mac-roman": "mac-roman",
    "x-euc-jp": "euc_jp",
}
_SUPERSETS = {
    "ascii": "cp1252",
    "iso8859-1": "cp1252",
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
    "tis-620": "cp874",
    "shift_jis": "cp932",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc_kr": "cp949",
    "big5": "big5hkscs",
}


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    label = name.strip().lower()
    try:
        codec = codecs.lookup(_LABELS.get(label, label)).name
    except LookupError:
        return None
    return _SUPERSETS.get(codec, codec)


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Bytes of a page to text: BOM, then UTF-16 recognised by its zero bytes, then valid UTF-8
    (non-ASCII bytes that decode are UTF-8 whatever the label), then a declared (HTTP)
    charset, then ``<meta charset>`` (both as browsers read the labels), then detection;
    never raises on undecodable bytes."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(name, errors="replace")
    head = data[:4000]
    if head.count(b"\x00") > 10:  # UTF-16 without a BOM: ASCII has a zero byte on one side
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if max(even, odd) > 4 * min(even, odd):  # not zeros scattered as in binary data
            name = "utf-16-le" if odd > even else "utf-16-be"
            return data[: len(data) // 2 * 2].decode(name, errors="replace")
    meta = _meta_charset(data)
    if meta in ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"):
        meta = "utf-8"  # a byte-oriented page cannot declare UTF-16 in itself (WHATWG)
    if not data.isascii():
        try:  # non-ASCII bytes that form valid UTF-8 are UTF-8, whatever a label says
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    for name in (_codec(declared), meta):
        if name:
            try:
                return data.decode(name)
            except UnicodeDecodeError:
                break
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return data.decode(_detect(data), errors="replace")


def _detect(data: bytes) -> str:
    """The most likely charset of undeclared non-UTF-8 bytes; windows-1252 (the web's default
    legacy charset) when it is about as likely as the best guess."""
    from charset_normalizer import from_bytes

    matches = from_bytes(data[:200_000])
    best = matches.best()
    if best is None:
        return "utf-8"
    for match in matches:
        if match.encoding == "cp1252" and match.chaos <= best.chaos + 0.1:
            return "cp1252"
    return best.encoding


def _meta_charset(data: bytes) -> str | None:
    m = _META_CHARSET_RE.search(data[:4096])
    return _codec(m.group(1).decode("ascii", "ignore")) if m else None


PAGE_SUFFIXES = (".html", ".htm", ".xhtml", ".txt", ".html.gz", ".htm.gz", ".txt.gz")


def strip_page_suffix(name: str) -> str:
    """``dir/page.html.gz`` -> ``dir/page``: a page file's name without its page suffix."""
    for suffix in sorted(PAGE_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def read_page_file(path: str | Path) -> str:
    """Read ``.html``, ``.htm``, ``.txt`` or any of them gzipped, decoded to text.

    A truncated or corrupt gzip file gives the text that decompresses (with a warning); a file
    that is no page (an image, a PDF, an archive, other binary data) raises ``ValueError``
    naming the file and what it is."""
    path = Path(path)
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":  # by content: a ".gz" name on plain HTML is read as it is
        data = _gunzip(data, path)
    kind = sniff_binary(data)
    if kind is None:
        text = decode_bytes(data)
        if _looks_binary(text):
            kind = "binary data"
        else:
            return text
    raise ValueError(f"{path}: {kind}, not an HTML or text page")


def _gunzip(data: bytes, path: Path) -> bytes:
    try:
        return fast_gzip.decompress(data)
    except GZIP_ERRORS as exc:  # truncated, corrupt, trailing garbage
        out = bytearray()
        stream = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            for start in range(0, len(data), 4096):
                out += stream.decompress(data[start : start + 4096])
                if stream.eof:
                    break
        except zlib.error:
            pass
        if not out:
            raise ValueError(f"{path}: unreadable gzip data ({exc})") from exc
        log.warning("%s: %s; using the %d bytes that decompress", path, exc, len(out))
        return bytes(out)


_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"PK\x05\x06", "ZIP archive"),
    (b"\x1f\x8b", "gzip data"),
    (b"\xfd7zXZ\x00", "xz data"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"\x7fELF", "ELF executable"),
    (b"wOFF\x00", "WOFF font"),
    (b"wOF2\x00", "WOFF2 font"),
    (b"\x00asm", "WebAssembly module"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "OLE document"),
    (b"SQLite format 3\x00", "SQLite database"),
)


def sniff_binary(data: bytes) -> str | None:
    """What a file is when its first bytes are a known binary format's signature, else None."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] in (b"WEBP", b"WAVE", b"AVI "):
        return "RIFF media"
    return None


def _looks_binary(text: str) -> bool:
    """Decoded text that is mostly not text: >5% control or undecodable characters in its first
    8,000 characters (pages have next to none)."""
    sample = text[:8000]
    bad = sum(1 for c in sample if (c < " " and c not in "\t\n\r\f\v\x1b") or c == "\ufffd")
    return bad > 0.05 * len(sample)


# ---------------------------------------------------------------- domains

_SECOND_LEVEL = {"co", "com", "org", "net", "ac", "gov", "edu", "or", "ne", "go"}


def registered_domain(url_or_host: str) -> str:
    """``https://news.bbc.co.uk/x`` -> ``bbc.co.uk``: the unit that must not cross CV folds.
    Also for a host with a path (``bbc.co.uk/news``); an IP address is its own unit; a URL
    that cannot be parsed gives ""."""
    url = url_or_host.strip()
    try:
        host = urlsplit(url if "//" in url else "//" + url).hostname
    except ValueError:  # e.g. "http://[::1" (unbalanced IPv6 brackets)
        return ""
    host = (host or "").lower().strip(".")
    if ":" in host or re.fullmatch(r"[\d.]+", host):  # IPv6 / IPv4 address
        return host
    parts = host.split(".")
    if len(parts) >= 3 and parts[-2] in _SECOND_LEVEL and len(parts[-1]) == 2:
        return ".".join(parts[-3:])
    return ".".join(parts[-2:])


# ---------------------------------------------------------------- loaders


def load_wcxb(root: Path = config.WCXB_DIR, limit: int | None = None) -> Iterator[Page]:
    """WCXB pages (``html/NNNN.html.gz`` + ``ground-truth/NNNN.json``)."""
    files = sorted((root / "html").glob("*.html.gz"))[:limit]
    for html_path in files:
        file_id = html_path.name.split(".")[0]
        truth = json.loads((root / "ground-truth" / f"{file_id}.json").read_text("utf-8"))
        url = truth.get("url", "")
        yield Page(
            id=f"wcxb/{file_id}",
            source=read_page_file(html_path),
            format="html",
            url=url,
            gold=truth["ground_truth"].get("main_content") or "",
            page_type=_page_type(truth["_internal"]["page_type"]["primary"]),
            domain=registered_domain(url),
            dataset="wcxb",
        )


def _page_type(name: str) -> str:
    return "collection" if name == "category" else name


def load_readability(
    root: Path = config.READABILITY_DIR, limit: int | None = None
) -> Iterator[Page]:
    """Mozilla readability test pages; the gold is the text of ``expected.html``."""
    from .segment import segment_html

    dirs = sorted(p for p in root.iterdir() if (p / "source.html").exists())[:limit]
    for page_dir in dirs:
        expected = segment_html(read_page_file(page_dir / "expected.html"), structured=False)
        meta = page_dir / "expected-metadata.json"
        url = ""
        if meta.exists():
            url = json.loads(meta.read_text("utf-8")).get("url") or ""
        yield Page(
            id=f"readability/{page_dir.name}",
            source=read_page_file(page_dir / "source.html"),
            format="html",
            url=url,
            gold="\n\n".join(expected.text),
            page_type="article",
            domain=registered_domain(url) if url else page_dir.name,
            dataset="readability",
        )


def load_native(path: str | Path) -> Iterator[Page]:
    """Pages in the native labeled-page JSONL format (see module docstring)."""
    path = Path(path)
    with open(path, "rb") as fh:
        for number, raw_bytes in enumerate(fh, 1):
            try:  # line by line, so that an error names its line
                raw = raw_bytes.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise ValueError(f"{path}:{number}: not UTF-8: {exc}") from exc
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON: {exc}") from exc
            yield page_from_record(rec, base=path.parent, where=f"{path}:{number}")


def page_from_record(rec: dict, base: Path | None = None, where: str = "record") -> Page:
    """A ``Page`` from one native record; ``ValueError`` naming ``where`` if it is not valid."""
    if not isinstance(rec, dict):
        raise ValueError(f"{where}: expected a JSON object, not {type(rec).__name__}")
    fmt = rec.get("format") or ("text" if "text" in rec and "html" not in rec else "html")
    if fmt not in ("html", "text"):
        raise ValueError(f"{where}: format must be 'html' or 'text', not {fmt!r}")
    source = rec.get(fmt)
    if source is None and rec.get("path"):
        if not isinstance(rec["path"], str):
            raise ValueError(f"{where}: 'path' must be a string")
        try:
            source = read_page_file((base or Path(".")) / rec["path"])
        except (OSError, ValueError) as exc:
            raise ValueError(f"{where}: cannot read 'path': {exc}") from exc
    if source is None:
        raise ValueError(f"{where}: needs '{fmt}' or 'path'")
    if not isinstance(source, str):
        raise ValueError(f"{where}: '{fmt}' must be a string, not {type(source).__name__}")
    if "id" not in rec:
        raise ValueError(f"{where}: needs 'id'")
    for key in ("gold", "url", "page_type", "domain", "dataset"):
        if rec.get(key) is not None and not isinstance(rec[key], str):
            raise ValueError(f"{where}: '{key}' must be a string, not {type(rec[key]).__name__}")
    labels = rec.get("labels")
    if labels is not None and (
        not isinstance(labels, list) or any(x not in (0, 1) or isinstance(x, float) for x in labels)
    ):
        raise ValueError(f"{where}: 'labels' must be a list of 0 and 1")
    url = rec.get("url") or ""
    return Page(
        id=str(rec["id"]),
        source=source,
        format=fmt,
        url=url,
        gold=rec.get("gold"),
        labels=rec.get("labels"),
        page_type=rec.get("page_type") or "unknown",
        domain=rec.get("domain") or (registered_domain(url) if url else str(rec["id"])),
        dataset=rec.get("dataset") or "native",
    )


def page_to_record(page: Page) -> dict:
    rec = {
        "id": page.id,
        "url": page.url,
        "format": page.format,
        page.format: page.source,
        "page_type": page.page_type,
        "domain": page.domain,
        "dataset": page.dataset,
    }
    if page.gold is not None:
        rec["gold"] = page.gold
    if page.labels is not None:
        rec["labels"] = page.labels
    return rec
