"""HTML pages out of WARC and ARC files (gzip or not), streamed record by record.

``iter_warc_pages(path)`` yields one ``WarcPage`` per HTML response (status 200,
``text/html`` or ``application/xhtml+xml``): the WARC record id, target URI, date and the page
decoded with the charset of its HTTP ``Content-Type`` header. It is a generator over the
records, so memory does not grow with the file; pages larger than ``max_bytes`` are skipped.

The reader is warcio (pure Python, also what datatrove and cc-pyspark use); it reads WARC 1.0/1.1
and ARC, gzipped per record or not, and undoes chunked transfer and gzip/deflate content
encoding. A file that is missing, not a WARC, or truncated raises ``WarcError`` after the pages
before the damage have been yielded.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .dataset import Page, decode_bytes

if TYPE_CHECKING:
    from .cli import Task

WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
MAX_PAGE_BYTES = 10 * 1024 * 1024
_CHARSET_RE = re.compile(r"""charset\s*=\s*["']?\s*([^\s"';,]+)""", re.I)


class WarcError(Exception):
    """A WARC/ARC file that cannot be opened or read to its end."""


@dataclass
class WarcPage:
    """One HTML page of a WARC file."""

    record_id: str
    url: str
    date: str
    html: str
    charset: str | None = None
    warc: str = ""
    offset: int = -1  # byte offset of the record in the (compressed) file

    def page(self) -> Page:
        """As a ``Page`` for ``Extractor.extract_many`` (id = WARC record id)."""
        return Page(id=self.record_id, source=self.html, format="html", url=self.url)

    def meta(self) -> dict[str, str]:
        """The fields written next to the extracted text."""
        return {"warc_record_id": self.record_id, "url": self.url, "date": self.date}


@dataclass
class WarcStats:
    """What one pass over a WARC saw."""

    records: int = 0
    pages: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def is_warc_path(name: str | os.PathLike[str]) -> bool:
    """True for ``.warc``, ``.warc.gz``, ``.arc`` and ``.arc.gz`` names (and URIs)."""
    return str(name).lower().endswith(WARC_SUFFIXES)


def parse_content_type(value: str | None) -> tuple[str, str | None]:
    """``"text/html; charset=ISO-8859-1"`` -> ``("text/html", "ISO-8859-1")``."""
    if not value:
        return "", None
    mime = value.split(";", 1)[0].strip().lower()
    match = _CHARSET_RE.search(value)
    return mime, (match.group(1) if match else None)


def open_uri(uri: str | os.PathLike[str]) -> IO[bytes]:
    """A binary stream for a local path, ``file://``, ``http(s)://`` URI or (with fsspec
    installed) any fsspec URI such as ``s3://``."""
    uri = str(uri)
    if "://" not in uri:
        return open(uri, "rb")
    scheme = uri.split("://", 1)[0].lower()
    if scheme == "file":
        from urllib.parse import unquote, urlsplit

        return open(unquote(urlsplit(uri).path), "rb")
    if scheme in ("http", "https"):
        from urllib.request import Request, urlopen

        return urlopen(Request(uri, headers={"User-Agent": "linesift"}), timeout=60)
    try:
        import fsspec
    except ImportError as exc:
        raise WarcError(f"{uri}: reading {scheme}:// needs fsspec (pip install fsspec)") from exc
    return fsspec.open(uri, "rb").open()


def iter_warc_pages(
    source: str | os.PathLike[str] | IO[bytes],
    *,
    max_bytes: int = MAX_PAGE_BYTES,
    stats: WarcStats | None = None,
) -> Iterator[WarcPage]:
    """The HTML 200 responses of one WARC/ARC file (path, URI or open binary stream), in file
    order. Raises ``WarcError`` (after yielding the readable pages) on a damaged file."""
    from warcio.archiveiterator import ArchiveIterator

    stats = stats if stats is not None else WarcStats()
    name = str(source) if isinstance(source, str | os.PathLike) else getattr(source, "name", "")
    name = str(name)
    try:
        stream = open_uri(source) if isinstance(source, str | os.PathLike) else source
    except (OSError, ValueError) as exc:
        raise WarcError(f"{name}: cannot open: {exc}") from exc
    base = os.path.basename(name.rstrip("/")) or "stream"
    offset = -1
    try:
        records = ArchiveIterator(stream, arc2warc=False)
        for record in records:
            stats.records += 1
            if stats.records == 1 and not _looks_valid(record):
                raise WarcError(f"{name}: not a WARC or ARC file")
            page = _html_page(record, max_bytes, stats)
            # after the payload is read: get_record_offset() reads the record to its end
            offset = records.get_record_offset()
            if getattr(record.raw_stream, "limit", 0) > 0:  # the file ends inside this record
                raise WarcError(f"{name}: truncated: the record at byte {offset} is incomplete")
            if page is not None:
                page.warc, page.offset = name, offset
                if not page.record_id:  # ARC records have none: make a reproducible one
                    kind = "arc" if record.format == "arc" else "warc"
                    page.record_id = f"<urn:{kind}:{base}:{offset}>"
                stats.pages += 1
                yield page
    except WarcError:
        raise
    except Exception as exc:  # warcio's ArchiveLoadFailed, EOFError, zlib.error, ...
        where = f" after the record at byte {offset}" if offset >= 0 else ""
        raise WarcError(f"{name}: cannot read{where}: {type(exc).__name__}: {exc}") from exc
    finally:
        if stream is not source:
            stream.close()


def _looks_valid(record: Any) -> bool:
    """warcio parses any line of five words as an ARC record header: a real first record
    is WARC, or ARC with a URI (``filedesc://``, ``http://``, ``dns:``...) and a date."""
    if record.format != "arc":
        return True
    headers = record.rec_headers
    uri, date = headers.get_header("uri") or "", headers.get_header("archive-date") or ""
    return bool(re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:\S+$", uri)) and date.isdigit()


def _html_page(record: Any, max_bytes: int, stats: WarcStats) -> WarcPage | None:
    if record.rec_type != "response":
        stats.skip(record.rec_type or "unknown")
        return None
    if record.http_headers is None:
        stats.skip("not http")
        return None
    status = record.http_headers.get_statuscode()
    if status != "200":
        stats.skip(f"status {status}")
        return None
    mime, charset = parse_content_type(record.http_headers.get_header("Content-Type"))
    if mime not in HTML_TYPES:
        stats.skip(mime or "no content type")
        return None
    data = record.content_stream().read(max_bytes + 1)
    if len(data) > max_bytes:
        stats.skip("too large")
        return None
    headers = record.rec_headers
    if record.format == "arc":
        from warcio.timeutils import timestamp_to_iso_date

        stamp = headers.get_header("archive-date") or ""
        record_id, url = "", headers.get_header("uri") or ""
        date = timestamp_to_iso_date(stamp) if stamp.isdigit() else stamp
    else:
        record_id = headers.get_header("WARC-Record-ID") or ""
        url = headers.get_header("WARC-Target-URI") or ""
        date = headers.get_header("WARC-Date") or ""
    return WarcPage(
        record_id=record_id,
        url=url,
        date=date,
        html=decode_bytes(data, declared=charset),
        charset=charset,
    )


# ---------------------------------------------------------------- CLI input


def warc_tasks(
    path: str | os.PathLike[str], rel: str | os.PathLike[str] | None = None
) -> Iterator[Task]:
    """``linesift extract`` tasks for the HTML pages of one WARC/ARC file; per-page outputs go
    to ``<rel without suffix>/<n>``. A damaged file yields its readable pages, then one error
    task (listed in errors.jsonl); the run goes on."""
    from .cli import Task

    stem = str(rel if rel is not None else Path(str(path)).name)
    for suffix in sorted(WARC_SUFFIXES, key=len, reverse=True):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    stem = stem.strip("/") or "warc"
    try:
        for number, wp in enumerate(iter_warc_pages(path), 1):
            yield Task(
                id=wp.record_id,
                source_name=f"{path}@{wp.offset}",
                out_rel=f"{stem}/{number:07d}",
                content=wp.html,
                format="html",
                meta=wp.meta(),
            )
    except WarcError as exc:
        error = str(exc).removeprefix(f"{path}: ")  # the record's source names the file
        yield Task(
            id=str(path), source_name=str(path), out_rel=f"{stem}/error", format=f"error:{error}"
        )
