"""Label your own pages: draft per-line labels with the current model, correct them, train.

1. ``linesift label PAGE... -o labeled.jsonl`` writes the pages in the native labeled-page
   format (``linesift.dataset``: source kept, ``labels`` one 0/1 per segmented line, ``gold``
   the text of the lines labeled 1) and ``labeled.tsv`` beside it: a ``# page <id>`` line per
   page, then ``label<TAB>probability<TAB>text`` per line.
2. Flip labels in the TSV (first column: 1 content, 0 boilerplate; leave the text alone).
3. ``linesift label --apply labeled.tsv -o labeled.jsonl`` writes the corrected labels back,
   after checking that every page still has exactly its lines.
4. ``--add-to-params`` (with either step) appends the JSONL to params.yaml ``data.labeled``
   (comments kept), so ``make train`` / ``dvc repro`` / ``linesift prepare`` train on it:
   native pages are a training dataset (``train.train_datasets`` includes ``native``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import config
from .atomic import write_text
from .dataset import (
    PAGE_SUFFIXES,
    Page,
    page_from_record,
    page_to_record,
    read_page_file,
    strip_page_suffix,
)

TSV_HEADER = (
    "# linesift label draft. Each page starts with '# page' and its id; then one line per\n"
    "# line of the page: label<TAB>probability<TAB>text. Flip labels (1 content, 0\n"
    "# boilerplate); do not edit, add or remove lines. Apply the edits with\n"
    "# linesift label --apply THIS.tsv -o PAGES.jsonl\n"
)
PAGE_PREFIX = "# page "
_CANONICAL_RES = (
    re.compile(r"""<link\b[^>]*\brel=["']?canonical["']?[^>]*\bhref=["']([^"'>\s]+)""", re.I),
    re.compile(r"""<link\b[^>]*\bhref=["']([^"'>\s]+)["'][^>]*\brel=["']?canonical""", re.I),
    re.compile(r"""<meta\b[^>]*\bproperty=["']og:url["'][^>]*\bcontent=["']([^"'>\s]+)""", re.I),
)


class LabelError(ValueError):
    """A labels file that does not fit its pages (names the page and the line)."""


@dataclass
class DraftLine:
    label: int
    probability: float
    text: str


# ---------------------------------------------------------------- reading pages


def read_pages(inputs: Iterable[str | Path], page_type: str = "unknown") -> Iterator[Page]:
    """Pages from files (.html .htm .txt, optionally .gz), directories of them, and native
    JSONL files (records with ``id`` and ``html`` or ``text``)."""
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.name.lower().endswith(PAGE_SUFFIXES))
        elif path.is_file():
            files = [path]
        else:
            raise LabelError(f"{path}: no such file or directory")
        for file in files:
            if file.name.lower().endswith((".jsonl", ".ndjson")):
                yield from _jsonl_pages(file)
            else:
                yield _file_page(file, page_type)


def _jsonl_pages(path: Path) -> Iterator[Page]:
    with open(path, encoding="utf-8") as fh:
        for number, raw in enumerate(fh, 1):
            if raw.strip():
                page = page_from_record(json.loads(raw), path.parent, f"{path}:{number}")
                page.labels = None  # drafted anew
                yield page


def _file_page(path: Path, page_type: str) -> Page:
    name = path.name.lower()
    fmt = "text" if name.endswith((".txt", ".txt.gz")) else "html"
    source = read_page_file(path)
    url = page_url(source) if fmt == "html" else ""
    rec = {"id": strip_page_suffix(str(path)), "format": fmt, fmt: source, "url": url}
    return page_from_record(rec | {"page_type": page_type}, where=str(path))


def page_url(html: str) -> str:
    """The page's canonical (or og:url) URL, or "": it names the page's domain for CV."""
    head = html[:50_000]
    for pattern in _CANONICAL_RES:
        m = pattern.search(head)
        if m and m.group(1).startswith(("http://", "https://")):
            return m.group(1)
    return ""


# ---------------------------------------------------------------- drafting


def draft(pages: Iterable[Page], extractor: Any = None) -> list[tuple[Page, list[DraftLine]]]:
    """Label every segmented line of each page with the model (``Extractor().predict_lines``);
    sets ``page.labels`` and ``page.gold`` (the text of the lines labeled 1)."""
    from .modeling.predict import Extractor

    extractor = extractor or Extractor()
    out = []
    for page in pages:
        try:
            predicted = extractor.predict_lines(page, format=page.format)
        except ValueError as exc:  # the page could not be segmented
            raise LabelError(f"page {page.id}: {exc}") from exc
        lines = [DraftLine(ln.label, ln.probability, ln.text) for ln in predicted]
        page.labels = [ln.label for ln in lines]
        page.gold = gold_of([ln.text for ln in lines], page.labels)
        out.append((page, lines))
    return out


def gold_of(texts: list[str], labels: list[int]) -> str:
    """The main text a set of line labels says: the content lines, one per line."""
    return "\n".join(t for t, lab in zip(texts, labels, strict=True) if lab)


def escape(text: str) -> str:
    """A line's text as one TSV field (backslash, tab and newlines escaped)."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def write_tsv(drafted: list[tuple[Page, list[DraftLine]]], path: Path) -> None:
    """The editable view: ``# page <id>`` then ``label<TAB>probability<TAB>text`` lines."""
    parts = [TSV_HEADER]
    for page, lines in drafted:
        parts.append(f"{PAGE_PREFIX}{page.id}\n")
        parts.extend(f"{ln.label}\t{ln.probability:.4f}\t{escape(ln.text)}\n" for ln in lines)
    write_text(path, "".join(parts))


def write_jsonl(pages: Iterable[Page], path: Path) -> None:
    """Pages as native labeled-page JSONL (one record per line)."""
    text = "".join(json.dumps(page_to_record(p), ensure_ascii=False) + "\n" for p in pages)
    write_text(path, text)


def tsv_path_for(jsonl: Path) -> Path:
    """``labeled.jsonl`` -> ``labeled.tsv`` (beside it)."""
    return jsonl.with_suffix(".tsv")


def draft_files(
    inputs: Iterable[str | Path],
    out: Path,
    page_type: str = "unknown",
    extractor: Any = None,
) -> tuple[Path, Path, int]:
    """Draft labels for pages and write ``out`` (JSONL) and its TSV view.
    Returns (jsonl path, tsv path, pages)."""
    drafted = draft(read_pages(inputs, page_type), extractor)
    if not drafted:
        raise LabelError("no input pages found")
    ids = [p.id for p, _ in drafted]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise LabelError(f"page ids must be unique; repeated: {', '.join(dupes)}")
    tsv = tsv_path_for(out)
    write_jsonl((p for p, _ in drafted), out)
    write_tsv(drafted, tsv)
    return out, tsv, len(drafted)


# ---------------------------------------------------------------- applying edits


def read_tsv(path: Path) -> dict[str, list[tuple[int, int, str]]]:
    """Page id -> [(tsv line number, label, escaped text)] from an edited TSV."""
    pages: dict[str, list[tuple[int, int, str]]] = {}
    current: list[tuple[int, int, str]] | None = None
    with open(path, encoding="utf-8") as fh:
        for number, raw in enumerate(fh, 1):
            line = raw.rstrip("\n").removesuffix("\r")
            if line.startswith(PAGE_PREFIX):
                page_id = line[len(PAGE_PREFIX) :]
                if page_id in pages:
                    raise LabelError(f"{path}:{number}: page {page_id} appears twice")
                current = pages[page_id] = []
                continue
            if line.startswith("#") or not line.strip():
                continue
            fields = line.split("\t", 2)
            if current is None or len(fields) != 3:
                raise LabelError(
                    f"{path}:{number}: expected 'label<TAB>probability<TAB>text' after a "
                    f"'# page <id>' line, found {line[:60]!r}"
                )
            label = fields[0].strip()
            if label not in ("0", "1"):
                raise LabelError(f"{path}:{number}: label must be 0 or 1, not {label!r}")
            current.append((number, int(label), fields[2]))
    return pages


def apply_tsv(tsv: Path, jsonl: Path, out: Path | None = None) -> list[Page]:
    """Write the TSV's labels into the pages of ``jsonl`` (to ``out``, default ``jsonl``).

    Every page of the JSONL must be in the TSV with exactly its segmented lines, in order;
    otherwise a ``LabelError`` names the page and the line."""
    from .segment import segment

    edited = read_tsv(tsv)
    pages = list(_native_pages(jsonl))
    known = {p.id for p in pages}
    extra = [i for i in edited if i not in known]
    if extra:
        raise LabelError(f"{tsv}: page {extra[0]} is not in {jsonl}")
    for page in pages:
        if page.id not in edited:
            raise LabelError(f"{tsv}: page {page.id} is missing (it is in {jsonl})")
        texts = segment(page.source, page.format).text
        rows = edited[page.id]
        for index, (text, row) in enumerate(zip(texts, rows, strict=False)):
            number, _, tsv_text = row
            if tsv_text != escape(text):
                raise LabelError(
                    f"{tsv}:{number}: page {page.id} line {index + 1}: text changed; expected "
                    f"{escape(text)[:80]!r}, found {tsv_text[:80]!r}"
                )
        if len(rows) != len(texts):
            where = rows[len(texts)][0] if len(rows) > len(texts) else rows[-1][0] if rows else 0
            raise LabelError(
                f"{tsv}:{where}: page {page.id} has {len(texts)} lines but the TSV has "
                f"{len(rows)}; lines must not be added or removed"
            )
        page.labels = [label for _, label, _ in rows]
        page.gold = gold_of(texts, page.labels)
    write_jsonl(pages, out or jsonl)
    return pages


def _native_pages(path: Path) -> Iterator[Page]:
    from .dataset import load_native

    return load_native(path)


# ---------------------------------------------------------------- params.yaml


def add_to_params(jsonl: str | Path, params_file: Path | None = None) -> bool:
    """Append ``jsonl`` to params.yaml ``data.labeled`` (relative to the repo root when inside
    it), keeping the file's comments. Returns False when it was already listed."""
    from ruamel.yaml import YAML

    params_file = params_file or config.PARAMS_FILE
    path = Path(jsonl).resolve()
    root = params_file.resolve().parent
    entry = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    yaml = YAML()  # round-trip mode: comments, order and flow style are kept
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long flow list (ruamel folds at 80 columns)
    data = yaml.load(params_file.read_text("utf-8"))
    labeled = data["data"].get("labeled")
    if labeled is None:
        data["data"]["labeled"] = labeled = []
    if entry in [str(x) for x in labeled]:
        return False
    flow = getattr(labeled, "fa", None) is not None and labeled.fa.flow_style() is not False
    labeled.append(entry)
    if flow:  # "labeled: []" stays one line: "labeled: [a.jsonl]"
        labeled.fa.set_flow_style()
    tmp = params_file.with_name(f".{params_file.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        yaml.dump(data, fh)
    tmp.replace(params_file)
    return True


# ---------------------------------------------------------------- CLI


def cmd_label(args: argparse.Namespace) -> int:
    """``linesift label``: draft (PAGE... -o X.jsonl) or apply (--apply X.tsv -o X.jsonl)."""
    from .cli import UsageError
    from .modeling.model_io import ModelError

    out = Path(args.output)
    try:
        if args.apply:
            if args.pages:
                raise UsageError("--apply takes no PAGE arguments")
            pages = apply_tsv(Path(args.apply), out)
            n_content = sum(sum(p.labels or []) for p in pages)
            print(
                f"linesift: {len(pages)} pages, {n_content} content lines -> {out}", file=sys.stderr
            )
        else:
            if not args.pages:
                raise UsageError("give PAGE files to draft, or --apply TSV")
            from .modeling.predict import Extractor

            extractor = Extractor(args.model, args.text_model)
            _, tsv, n = draft_files(args.pages, out, args.page_type, extractor)
            print(
                f"linesift: drafted {n} pages -> {out}; edit {tsv}, then run "
                f"linesift label --apply {tsv} -o {out}",
                file=sys.stderr,
            )
        if args.add_to_params:
            added = add_to_params(out)
            state = "added to" if added else "already in"
            print(f"linesift: {out} {state} params.yaml data.labeled", file=sys.stderr)
    except (LabelError, ModelError, OSError) as exc:
        raise UsageError(str(exc)) from exc
    return 0


def add_parser(sub: Any) -> None:
    """Register ``label`` on the ``linesift`` subparsers."""
    p = sub.add_parser(
        "label",
        help="draft per-line labels for your pages, edit them, apply the edits",
        description="Draft labels with the current model into native labeled-page JSONL plus "
        "an editable TSV beside it; --apply writes an edited TSV back.",
    )
    p.add_argument("pages", nargs="*", metavar="PAGE", help=".html .htm .txt (.gz), dirs, .jsonl")
    p.add_argument("-o", "--output", required=True, help="labeled JSONL (TSV goes beside it)")
    p.add_argument("--apply", metavar="TSV", help="write an edited TSV's labels into --output")
    p.add_argument("--page-type", default="unknown", help="page_type of the drafted pages")
    p.add_argument("--model", help="html model (directory or MLflow URI); default: shipped")
    p.add_argument("--text-model", help="text model (same forms as --model)")
    p.add_argument(
        "--add-to-params",
        action="store_true",
        help="append the JSONL to params.yaml data.labeled so the next training uses it",
    )
    p.set_defaults(func=cmd_label)
