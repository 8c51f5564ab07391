"""``linesift`` command line: a thin shell over the library.

Exit codes: 0 every page extracted, 1 some pages failed (listed in ``errors.jsonl``),
2 usage error (bad arguments, unusable model, no input).
"""

from __future__ import annotations

import argparse
import glob
import gzip
import json
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

EXIT_OK, EXIT_PAGES_FAILED, EXIT_USAGE = 0, 1, 2
PAGE_SUFFIXES = (".html", ".htm", ".xhtml", ".txt", ".html.gz", ".htm.gz", ".txt.gz")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson")


class UsageError(Exception):
    pass


@dataclass
class Task:
    """One page to extract: where it comes from and where its output goes."""

    id: str
    source_name: str  # file path, or "<stdin>" / "file.jsonl#id"
    out_rel: str  # output path relative to OUTDIR, without the format suffix
    path: str | None = None  # read lazily in the worker
    content: str | None = None
    format: str | None = None


# ---------------------------------------------------------------- inputs


def _has_suffix(name: str, suffixes: tuple[str, ...]) -> bool:
    return name.lower().endswith(suffixes)


def _strip_suffix(name: str) -> str:
    for suffix in sorted(PAGE_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _format_of(name: str) -> str:
    return "text" if name.lower().endswith((".txt", ".txt.gz")) else "html"


def _safe_rel(name: str) -> str:
    """A record id as a relative output path that cannot escape OUTDIR."""
    parts = [p for p in Path(name.replace("\\", "/")).parts if p not in ("", ".", "..", "/")]
    return "/".join(parts) or "page"


def iter_tasks(inputs: list[str]) -> Iterator[Task]:
    """Expand INPUT arguments (files, directories, globs, ``-``) into page tasks."""
    for raw in inputs:
        if raw == "-":
            yield from _stdin_tasks()
            continue
        matches = sorted(glob.glob(raw, recursive=True)) if glob.has_magic(raw) else [raw]
        if not matches:
            raise UsageError(f"{raw}: no such file or directory")
        for match in matches:
            path = Path(match)
            if path.is_dir():
                for file in sorted(path.rglob("*")):
                    if file.is_file() and _has_suffix(file.name, PAGE_SUFFIXES + JSONL_SUFFIXES):
                        yield from _file_tasks(file, file.relative_to(path))
            elif path.is_file():
                yield from _file_tasks(path, Path(path.name))
            else:
                raise UsageError(f"{match}: no such file or directory")


def _file_tasks(path: Path, rel: Path) -> Iterator[Task]:
    if _has_suffix(path.name, JSONL_SUFFIXES):
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
            yield from _jsonl_tasks(fh, str(path))
        return
    out_rel = _strip_suffix(str(rel))
    yield Task(
        id=str(rel),
        source_name=str(path),
        out_rel=out_rel,
        path=str(path),
        format=_format_of(path.name),
    )


def _jsonl_tasks(lines, source_name: str) -> Iterator[Task]:
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        where = f"{source_name}:{number}"
        try:
            rec = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield Task(
                id=where,
                source_name=where,
                out_rel=_safe_rel(where),
                content=None,
                format=f"error:not JSON ({exc.msg})",
            )
            continue
        rid = str(rec.get("id", number)) if isinstance(rec, dict) else str(number)
        if not isinstance(rec, dict) or not isinstance(rec.get("html", rec.get("text")), str):
            yield Task(
                id=rid,
                source_name=where,
                out_rel=_safe_rel(rid),
                content=None,
                format="error:record has no 'html' or 'text' string",
            )
            continue
        fmt = "html" if isinstance(rec.get("html"), str) else "text"
        yield Task(id=rid, source_name=where, out_rel=_safe_rel(rid), content=rec[fmt], format=fmt)


def _stdin_tasks() -> Iterator[Task]:
    from .dataset import decode_bytes

    data = sys.stdin.buffer.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    text = decode_bytes(data)
    if text.lstrip().startswith("{"):
        yield from _jsonl_tasks(text.splitlines(), "<stdin>")
    else:
        yield Task(id="stdin", source_name="<stdin>", out_rel="stdin", content=text, format=None)


# ---------------------------------------------------------------- worker side

_EXTRACTOR = None


def _init_worker(
    model: str | None, text_model: str | None, threshold: float | None, favor: str
) -> None:
    global _EXTRACTOR
    from .modeling.predict import Extractor

    _EXTRACTOR = Extractor(model, text_model, threshold=threshold, favor=favor)
    _EXTRACTOR.model("html")
    _EXTRACTOR.model("text")


def _run_tasks(tasks: list[Task], out_dir: str | None, fmt: str) -> list[dict]:
    """Extract a batch of tasks; write per-page outputs (atomically) when ``out_dir`` is set;
    return a status record per task (with the output record when there is no out_dir or the
    format is jsonl)."""
    from .dataset import Page, read_page_file
    from .modeling.predict import guess_format

    assert _EXTRACTOR is not None
    pages, statuses = [], []
    for task in tasks:
        if task.format and task.format.startswith("error:"):
            statuses.append({"id": task.id, "source": task.source_name, "error": task.format[6:]})
            continue
        try:
            content = task.content if task.content is not None else read_page_file(task.path)
        except (OSError, EOFError, ValueError) as exc:  # unreadable, truncated gzip, ...
            statuses.append(
                {
                    "id": task.id,
                    "source": task.source_name,
                    "error": f"cannot read: {type(exc).__name__}: {exc}",
                }
            )
            continue
        page_format = task.format or guess_format(content)
        pages.append((task, Page(id=task.id, source=content, format=page_format)))
        statuses.append(None)
    results = iter(_EXTRACTOR.extract_many([p for _, p in pages]))
    page_iter = iter(pages)
    out: list[dict] = []
    for status in statuses:
        if status is not None:
            out.append(status)
            continue
        task, _ = next(page_iter)
        result = next(results)
        rec: dict = {"id": task.id, "source": task.source_name}
        if result.error:
            rec["error"] = result.error
            out.append(rec)
            continue
        if fmt == "jsonl":
            rec.update(
                {
                    "text": result.text,
                    "format": result.format,
                    "model": result.model,
                    "model_version": result.model_version,
                    "lines": [
                        {"text": ln.text, "probability": ln.probability, "label": ln.label}
                        for ln in result.lines
                    ],
                }
            )
        else:
            body = result.markdown() if fmt == "markdown" else result.text
            suffix = ".md" if fmt == "markdown" else ".txt"
            if out_dir is None:
                rec["text"] = body
            else:
                target = Path(out_dir) / (task.out_rel + suffix)
                try:
                    write_atomic(target, body + "\n" if body else "")
                except OSError as exc:
                    rec["error"] = f"cannot write {target}: {exc}"
                rec["output"] = str(target)
        out.append(rec)
    return out


def write_atomic(path: Path, text: str) -> None:
    """Write via a temp file and rename, so a killed run never leaves a partial output."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


# ---------------------------------------------------------------- command: extract


def _batches(tasks: Iterator[Task], size: int) -> Iterator[list[Task]]:
    batch: list[Task] = []
    for task in tasks:
        batch.append(task)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def cmd_extract(args: argparse.Namespace) -> int:
    from .modeling.model_io import ModelError
    from .modeling.predict import resolve_model

    fmt = args.format
    try:
        resolve_model(args.model, "html")
        resolve_model(args.text_model, "text")
    except ModelError as exc:
        raise UsageError(str(exc)) from exc
    out_dir: str | None = args.output
    jsonl_path: Path | None = None
    if out_dir and fmt == "jsonl":
        jsonl_path = (
            Path(out_dir)
            if out_dir.endswith((".jsonl", ".jsonl.gz"))
            else (Path(out_dir) / "extracted.jsonl")
        )
        out_dir = str(jsonl_path.parent)
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    tasks = iter_tasks(args.inputs)
    if args.resume and out_dir and fmt != "jsonl":
        suffix = ".md" if fmt == "markdown" else ".txt"
        tasks = (t for t in tasks if not (Path(out_dir) / (t.out_rel + suffix)).exists())

    started, n_pages, n_failed = time.time(), 0, 0
    errors: list[dict] = []
    jsonl_tmp = None
    jsonl_fh = None
    if jsonl_path:
        jsonl_tmp = jsonl_path.with_name(f".{jsonl_path.name}.{os.getpid()}.tmp")
        opener = gzip.open if jsonl_path.name.endswith(".gz") else open
        jsonl_fh = opener(jsonl_tmp, "wt", encoding="utf-8")  # closed in finally
    progress = _progress(args)
    workers = max(1, args.workers or os.cpu_count() or 1)
    init = (args.model, args.text_model, args.threshold, args.favor)
    write_dir = out_dir if fmt != "jsonl" else None
    try:
        if workers == 1:
            _init_worker(*init)
            result_batches = (_run_tasks(b, write_dir, fmt) for b in _batches(tasks, 32))
            pool = None
        else:
            pool = ProcessPoolExecutor(workers, initializer=_init_worker, initargs=init)
            result_batches = _ordered_map(pool, _batches(tasks, 16), write_dir, fmt, workers * 3)
        for batch in result_batches:
            for rec in batch:
                n_pages += 1
                if "error" in rec:
                    n_failed += 1
                    errors.append(rec)
                    print(f"linesift: {rec['source']}: {rec['error']}", file=sys.stderr)
                elif jsonl_fh is not None:
                    jsonl_fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                elif out_dir is None:
                    sys.stdout.write(rec["text"] + "\n")
            if progress is not None:
                progress.update(len(batch))
        if pool is not None:
            pool.shutdown()
    finally:
        if progress is not None:
            progress.close()
        if jsonl_fh is not None:
            jsonl_fh.close()
    if jsonl_tmp is not None and jsonl_path is not None:
        os.replace(jsonl_tmp, jsonl_path)
    if out_dir and errors:
        write_atomic(
            Path(out_dir) / "errors.jsonl",
            "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in errors),
        )
    if n_pages == 0 and not args.resume:
        raise UsageError("no input pages found")
    seconds = max(time.time() - started, 1e-9)
    print(
        f"linesift: {n_pages} pages, {n_failed} failed, {n_pages / seconds:.1f} pages/s "
        f"({workers} workers)",
        file=sys.stderr,
    )
    return EXIT_PAGES_FAILED if n_failed else EXIT_OK


def _ordered_map(pool, batches, out_dir, fmt, in_flight: int):
    """Map batches over the pool keeping at most ``in_flight`` pending (bounded memory),
    yielding results in input order."""
    from collections import deque

    pending: deque = deque()
    for batch in batches:
        pending.append(pool.submit(_run_tasks, batch, out_dir, fmt))
        if len(pending) >= in_flight:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _progress(args: argparse.Namespace):
    if args.quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(unit="page", file=sys.stderr, smoothing=0.1)


# ---------------------------------------------------------------- pipeline stages


def cmd_stage(args: argparse.Namespace) -> int:
    rest = args.stage_args
    if args.command == "prepare":
        from .prepare import main as run
    elif args.command == "featurize":
        from .features import main as run
    elif args.command == "train":
        from .modeling.train import main as run
    else:
        from .evaluate import main as run
    if args.command == "featurize" or args.command == "evaluate":
        run()
    else:
        run(rest)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linesift", description="Separate a web page's main content from boilerplate."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser(
        "extract",
        help="extract the main text of pages",
        description="Extract the main text of HTML or plain-text pages.",
    )
    ex.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="files, directories (recursive), globs, or - for stdin; .html .htm "
        ".html.gz .txt (plain-text page) and .jsonl (records with id and "
        "html or text)",
    )
    ex.add_argument(
        "-o",
        "--output",
        help="output directory (or .jsonl file with --format jsonl); default: standard output",
    )
    ex.add_argument("--format", choices=("text", "jsonl", "markdown"), default="text")
    ex.add_argument(
        "--threshold", type=float, help="content probability threshold (default: the model's)"
    )
    ex.add_argument(
        "--favor",
        choices=("balanced", "precision", "recall"),
        default="balanced",
        help="use the threshold tuned for precision or recall",
    )
    ex.add_argument(
        "--model",
        help="html model: directory or MLflow URI "
        "(models:/linesift-html@champion); default: shipped",
    )
    ex.add_argument("--text-model", help="text model (same forms as --model)")
    ex.add_argument("--workers", type=int, default=0, help="processes (default: cores)")
    ex.add_argument("--resume", action="store_true", help="skip pages whose output already exists")
    ex.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    ex.set_defaults(func=cmd_extract)
    for name, text in (
        ("prepare", "stage: raw pages -> labeled lines"),
        ("featurize", "stage: lines -> features"),
        ("train", "stage: features -> models (MLflow run)"),
        ("evaluate", "stage: predictions -> metrics and plots"),
    ):
        st = sub.add_parser(name, help=text, add_help=False)
        st.add_argument("stage_args", nargs=argparse.REMAINDER)
        st.set_defaults(func=cmd_stage)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "threshold", None) is not None and not 0 <= args.threshold <= 1:
        parser.error("--threshold must be between 0 and 1")
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"linesift: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
