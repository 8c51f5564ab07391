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
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from . import config


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


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Bytes of a page to text: BOM, then a declared (HTTP) charset, then ``<meta charset>``,
    then UTF-8, then detection; never raises on undecodable bytes."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(name, errors="replace")
    if data[:2000].count(b"\x00") > 10:  # UTF-16/32 without a BOM
        for name in ("utf-16-le", "utf-16-be"):
            try:
                text = data.decode(name)
            except UnicodeDecodeError:
                continue
            if "<" in text[:2000]:
                return text
    for name in (_codec(declared), _meta_charset(data)):
        if name:
            if name in ("ascii", "latin-1", "iso8859-1"):
                name = "cp1252"  # what browsers do for these labels
            try:
                return data.decode(name)
            except UnicodeDecodeError:
                break
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000]).best()
    if best is not None:
        return data.decode(best.encoding, errors="replace")
    return data.decode("utf-8", errors="replace")


def _meta_charset(data: bytes) -> str | None:
    m = _META_CHARSET_RE.search(data[:4096])
    return _codec(m.group(1).decode("ascii", "ignore")) if m else None


def read_page_file(path: str | Path) -> str:
    """Read ``.html``, ``.htm``, ``.txt`` or any of them gzipped, decoded to text."""
    path = Path(path)
    data = path.read_bytes()
    if path.suffix == ".gz" or data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return decode_bytes(data)


# ---------------------------------------------------------------- domains

_SECOND_LEVEL = {"co", "com", "org", "net", "ac", "gov", "edu", "or", "ne", "go"}


def registered_domain(url_or_host: str) -> str:
    """``https://news.bbc.co.uk/x`` -> ``bbc.co.uk``: the unit that must not cross CV folds."""
    host = urlsplit(url_or_host).hostname if "//" in url_or_host else url_or_host
    host = (host or "").lower().strip(".")
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
    with open(path, encoding="utf-8") as fh:
        for number, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON: {exc}") from exc
            yield page_from_record(rec, base=path.parent, where=f"{path}:{number}")


def page_from_record(rec: dict, base: Path | None = None, where: str = "record") -> Page:
    fmt = rec.get("format") or ("text" if "text" in rec and "html" not in rec else "html")
    if fmt not in ("html", "text"):
        raise ValueError(f"{where}: format must be 'html' or 'text', not {fmt!r}")
    source = rec.get(fmt)
    if source is None and rec.get("path"):
        source = read_page_file((base or Path(".")) / rec["path"])
    if source is None:
        raise ValueError(f"{where}: needs '{fmt}' or 'path'")
    if "id" not in rec:
        raise ValueError(f"{where}: needs 'id'")
    url = rec.get("url", "")
    return Page(
        id=str(rec["id"]),
        source=source,
        format=fmt,
        url=url,
        gold=rec.get("gold"),
        labels=rec.get("labels"),
        page_type=rec.get("page_type", "unknown"),
        domain=rec.get("domain") or (registered_domain(url) if url else str(rec["id"])),
        dataset=rec.get("dataset", "native"),
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
