"""Stage ``prepare``: raw labeled pages -> segmented, labeled lines (data/interim).

Every page is turned into several *views*: ``html`` (the DOM segmentation, for the html model)
and plain-text renderings for the text model, because text pages reach users from many
renderers that split lines differently:

- ``text``: linesift's own lines with every DOM field dropped;
- ``text-rows``: a browser-copy-like rendering where runs of short cells/items of one
  container (table rows, menus, tag lists) are joined on one line;
- ``text-para``: blank lines around paragraph-like blocks, as a browser copy or html2text;
- ``text-browser``: the page rendered by another tool, inscriptis (a browser-like HTML to
  text converter: its own parser walk, inline layout, bullets and indentation), so the text
  model is not trained on linesift's own segmentation only.

Each view's lines are labeled by alignment with the gold text (``labels.align_labels``).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterable, Iterator
from multiprocessing import Pool
from pathlib import Path

import pandas as pd

from . import config
from .atomic import atomic_path
from .dataset import Page, load_native, load_readability, load_wcxb
from .labels import align_labels, oracle_prf
from .segment import SOURCE_CODE, PageLines, segment, segment_text

log = logging.getLogger(__name__)

TEXT_VIEWS = ("text", "text-rows", "text-para", "text-browser")
# Blocks a browser (or html2text) sets off with blank lines; list items, cells, <br> and
# plain <div>s follow each other on the next line.
_PARA_TAGS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "figcaption", "table", "dl"}
    | {"title", "article", "section", "header", "footer"}
)
_ROW_TAGS = frozenset(("td", "th", "li", "a", "dt", "dd", "span", "label", "option", "button"))
_STRUCTURED = (SOURCE_CODE["jsonld"], SOURCE_CODE["state"])


def render_rows(lines: PageLines) -> str:
    """A coarser plain-text rendering: consecutive short lines of the same container and a
    cell/item-like tag are joined with " " (as a browser copy of a table row or menu)."""
    out: list[str] = []
    prev_key = None
    for text, tag, container, source in zip(
        lines.text, lines.tag, lines.container, lines.source, strict=True
    ):
        if source in _STRUCTURED:
            continue
        key = (container, tag) if tag in _ROW_TAGS and len(text) < 60 else None
        if key is not None and key == prev_key and out:
            out[-1] = f"{out[-1]} {text}"
        else:
            out.append(text)
        prev_key = key
    return "\n".join(out)


def render_paragraphs(lines: PageLines) -> str:
    """A plain-text rendering with blank lines around paragraph-like blocks (as a browser's
    copy or html2text gives), single newlines between list items, cells and divs."""
    out: list[str] = []
    prev_para = False
    for text, tag, source in zip(lines.text, lines.tag, lines.source, strict=True):
        if source in _STRUCTURED:
            continue
        para = tag in _PARA_TAGS
        if out and (para or prev_para):
            out.append("")
        out.append(text)
        prev_para = para
    return "\n".join(out)


def render_browser(html: str) -> str:
    """The page as inscriptis renders it (no links, no annotations); "" when it fails."""
    from inscriptis import get_text

    try:
        return get_text(html)
    except Exception:  # a third-party renderer: a page it cannot render just has no view
        log.warning("inscriptis could not render a page", exc_info=True)
        return ""


def page_views(page: Page, params: dict) -> Iterator[tuple[str, PageLines]]:
    """The views of one page (see module docstring)."""
    lines = segment(page.source, page.format)
    if page.format == "text":
        yield "text", lines
        return
    yield "html", lines
    dom_text = "\n".join(
        t for t, s in zip(lines.text, lines.source, strict=True) if s not in _STRUCTURED
    )
    yield "text", segment_text(dom_text)
    views = params.get("text_views", TEXT_VIEWS)
    if "text-rows" in views:
        yield "text-rows", segment_text(render_rows(lines))
    if "text-para" in views:
        yield "text-para", segment_text(render_paragraphs(lines))
    if "text-browser" in views:
        yield "text-browser", segment_text(render_browser(page.source))


def _label_page(args: tuple[Page, dict]) -> tuple[list[dict], list[pd.DataFrame]]:
    page, params = args
    label_params = dict(params["labels"])
    gold_copies_views = label_params.pop("gold_copies_views", ["html"])
    page_rows, line_frames = [], []
    for view, lines in page_views(page, params):
        if page.labels is not None and view in ("html", page.format):
            labels = list(page.labels)
            if len(labels) != len(lines):
                raise ValueError(
                    f"page {page.id}: {len(labels)} labels for {len(lines)} segmented lines"
                )
        elif page.gold is not None:
            structured = [s in _STRUCTURED for s in lines.source]
            labels = align_labels(
                lines.text,
                page.gold,
                structured,
                gold_copies=view in gold_copies_views,
                **label_params,
            )
        else:
            continue
        gold = (
            page.gold
            if page.gold is not None
            else "\n".join(t for t, lab in zip(lines.text, labels, strict=True) if lab)
        )
        p, r, f1 = oracle_prf(lines.text, labels, gold)
        page_rows.append(
            {
                "page_id": page.id,
                "view": view,
                "dataset": page.dataset,
                "page_type": page.page_type,
                "domain": page.domain,
                "url": page.url,
                "gold": gold,
                "n_lines": len(lines),
                "oracle_precision": p,
                "oracle_recall": r,
                "oracle_f1": f1,
            }
        )
        frame = pd.DataFrame(lines.columns())
        frame.insert(0, "line_no", range(len(lines)))
        frame.insert(0, "view", view)
        frame.insert(0, "page_id", page.id)
        frame["label"] = labels
        line_frames.append(frame)
    return page_rows, line_frames


def load_training_pages(params: dict, limit: int | None = None) -> Iterator[Page]:
    """All pages named in params.yaml ``data``: WCXB, readability pages, native JSONL files."""
    data = params["data"]
    if data.get("wcxb", True):
        yield from load_wcxb(limit=limit)
    if data.get("readability", True):
        yield from load_readability(limit=limit)
    for path in data.get("labeled", []) or []:
        yield from load_native(config.ROOT / path)


def prepare(
    pages: Iterable[Page], params: dict, workers: int = 2
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Segment and label pages; returns (pages frame, lines frame)."""
    jobs = ((page, params) for page in pages)
    page_rows: list[dict] = []
    line_frames: list[pd.DataFrame] = []
    if workers > 1:
        with Pool(workers) as pool:
            results = list(pool.imap(_label_page, jobs, chunksize=8))
    else:
        results = [_label_page(job) for job in jobs]
    for rows, frames in results:
        page_rows.extend(rows)
        line_frames.extend(frames)
    pages = pd.DataFrame(page_rows)
    lines = pd.concat(line_frames, ignore_index=True)
    return pages, lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="pages per dataset (debug)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    params = config.load_params()
    pages, lines = prepare(
        load_training_pages(params, args.limit),
        params["prepare"] | {"labels": params["labels"]},
        workers=params["prepare"].get("workers", 2),
    )
    config.INTERIM_DIR.mkdir(parents=True, exist_ok=True)
    write_parquet(pages, config.PAGES_FILE)
    write_parquet(lines, config.LINES_FILE)
    html = pages[pages.view == "html"]
    log.info(
        "prepared %d pages, %d lines; oracle F1 (html view) by dataset:\n%s",
        len(html),
        len(lines),
        html.groupby("dataset").oracle_f1.mean().round(4),
    )


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Atomic write: a killed stage never leaves half a file behind."""
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


if __name__ == "__main__":
    main()
