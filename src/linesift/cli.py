"""``linesift`` command line: a thin shell over the library.

Exit codes: 0 every page extracted, 1 some pages failed (listed in ``errors.jsonl``),
2 usage error (bad arguments, unusable model, no input).

Batches lose nothing: every per-page output is written to a temp file and renamed, so an
output that exists is complete, and ``--resume`` skips exactly those pages. A ``--format jsonl``
output is one file, renamed into place only when the run finishes; ``--resume`` refuses it
(rerun instead). Models are loaded once in the parent and inherited by forked workers.
"""

from __future__ import annotations

import argparse
import gc
import glob
import gzip
import json
import multiprocessing
import os
import re
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .atomic import TEMP_NAME_RE, write_text
from .dataset import PAGE_SUFFIXES, strip_page_suffix

if TYPE_CHECKING:  # the CLI imports the model code only when it needs it
    from .modeling.predict import Extraction

EXIT_OK, EXIT_PAGES_FAILED, EXIT_USAGE = 0, 1, 2
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson")
WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")
DEFAULT_MAX_BYTES = 50_000_000
DEFAULT_MAX_LINES = 100_000


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
    meta: dict | None = None  # extra fields of the jsonl record (WARC: record id, url, date)


# ---------------------------------------------------------------- inputs


def _has_suffix(name: str, suffixes: tuple[str, ...]) -> bool:
    return name.lower().endswith(suffixes)


def _format_of(name: str) -> str:
    return "text" if name.lower().endswith((".txt", ".txt.gz")) else "html"


def _safe_rel(name: str) -> str:
    """A record id as a relative output path that cannot escape OUTDIR."""
    parts = [p for p in Path(name.replace("\\", "/")).parts if p not in ("", ".", "..", "/")]
    return "/".join(parts) or "page"


def expand_inputs(inputs: list[str]) -> list[tuple[Path, Path] | None]:
    """INPUT arguments as (file, path relative to its INPUT) pairs, None for stdin; raises
    ``UsageError`` for a missing input before any page is processed."""
    out: list[tuple[Path, Path] | None] = []
    if inputs.count("-") > 1:
        raise UsageError("- (stdin) given more than once")
    for raw in inputs:
        if raw == "-":
            out.append(None)
            continue
        matches = sorted(glob.glob(raw, recursive=True)) if glob.has_magic(raw) else [raw]
        if not matches:
            raise UsageError(f"{raw}: no such file or directory")
        for match in matches:
            path = Path(match)
            if path.is_dir():
                for file in sorted(path.rglob("*")):
                    if file.is_file() and _has_suffix(
                        file.name, PAGE_SUFFIXES + JSONL_SUFFIXES + WARC_SUFFIXES
                    ):
                        out.append((file, file.relative_to(path)))
            elif path.is_file():
                out.append((path, Path(path.name)))
            else:
                raise UsageError(f"{match}: no such file or directory")
    return out


def iter_tasks(inputs: list[str] | list[tuple[Path, Path] | None]) -> Iterator[Task]:
    """Expand INPUT arguments (files, directories, globs, ``-``) into page tasks; JSONL records
    are read lazily."""
    sources = expand_inputs(inputs) if all(isinstance(i, str) for i in inputs) else inputs
    for source in sources:
        if source is None:
            yield from _stdin_tasks()
        else:
            yield from _file_tasks(*source)


def _file_tasks(path: Path, rel: Path) -> Iterator[Task]:
    if _has_suffix(path.name, WARC_SUFFIXES):
        from .warc import warc_tasks

        yield from warc_tasks(path, rel)  # HTML 200 responses, streamed
        return
    if _has_suffix(path.name, JSONL_SUFFIXES):
        opener = gzip.open if path.name.endswith(".gz") else open
        # records go to OUTDIR/<jsonl path without suffix>/<id>: ids of two files never clash
        prefix = re.sub(r"\.(jsonl|ndjson)(\.gz)?$", "", str(rel), flags=re.I)
        with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
            yield from _jsonl_tasks(fh, str(path), prefix)
        return
    out_rel = strip_page_suffix(str(rel))
    yield Task(
        id=str(rel),
        source_name=str(path),
        out_rel=out_rel,
        path=str(path),
        format=_format_of(path.name),
    )


def _jsonl_tasks(lines: Iterable[str], source_name: str, prefix: str = "") -> Iterator[Task]:
    """One task per JSONL record ``{"id", "html" | "text"}``; a bad record becomes a failed
    task (reported in errors.jsonl), never a stop. Without ``id`` the line number is used."""
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        where = f"{source_name}:{number}"
        task = _jsonl_record_task(raw, number, where)
        if prefix:
            task.out_rel = f"{_safe_rel(prefix)}/{task.out_rel}"
        yield task


def _jsonl_record_task(raw: str, number: int, where: str) -> Task:
    try:
        rec = json.loads(raw)
    except json.JSONDecodeError as exc:
        return Task(
            id=where,
            source_name=where,
            out_rel=_safe_rel(where),
            content=None,
            format=f"error:not JSON ({exc.msg})",
        )
    rid = str(rec.get("id", number)) if isinstance(rec, dict) else str(number)
    if not isinstance(rec, dict) or not (
        isinstance(rec.get("html"), str) or isinstance(rec.get("text"), str)
    ):
        return Task(
            id=rid,
            source_name=where,
            out_rel=_safe_rel(rid),
            content=None,
            format="error:record has no 'html' or 'text' string",
        )
    fmt = "html" if isinstance(rec.get("html"), str) else "text"
    return Task(id=rid, source_name=where, out_rel=_safe_rel(rid), content=rec[fmt], format=fmt)


def _stdin_tasks() -> Iterator[Task]:
    from .dataset import decode_bytes, fast_gzip

    data = sys.stdin.buffer.read()
    if data[:2] == b"\x1f\x8b":
        try:
            data = fast_gzip.decompress(data)
        except Exception as exc:  # truncated or corrupt gzip
            yield Task("stdin", "<stdin>", "stdin", format=f"error:cannot read: {exc!r}")
            return
    text = decode_bytes(data)
    if not text.strip():
        return  # nothing on stdin: no page (exit 2 if there is no other input)
    if text.lstrip().startswith("{"):
        yield from _jsonl_tasks(text.splitlines(), "<stdin>")
    else:
        yield Task(id="stdin", source_name="<stdin>", out_rel="stdin", content=text, format=None)


# ---------------------------------------------------------------- worker side

_EXTRACTOR = None
_MAX_BYTES: int | None = None


def _init_worker(extractor_args: dict, max_bytes: int | None) -> None:
    """Pool initializer. A forked worker inherits the parent's loaded models (loading them
    costs seconds of imports); a spawned one loads its own."""
    global _EXTRACTOR, _MAX_BYTES
    _MAX_BYTES = max_bytes
    if _EXTRACTOR is None:
        from .modeling.predict import Extractor

        _EXTRACTOR = Extractor(**extractor_args)
        _EXTRACTOR.model("html")
        _EXTRACTOR.model("text")


def _read_limited(path: str, max_bytes: int | None) -> str:
    """A page file (gzipped or not) decoded to text; over ``max_bytes`` (decompressed) it is
    refused, reading at most one byte more than the limit."""
    from .dataset import decode_bytes, fast_gzip
    from .modeling.predict import PageLimitError

    size = -1 if max_bytes is None else max_bytes + 1
    with open(path, "rb") as fh:
        gzipped = fh.read(2) == b"\x1f\x8b"
        fh.seek(0)
        if gzipped:
            with fast_gzip.GzipFile(fileobj=fh) as gz:
                data = gz.read(size)
        else:
            data = fh.read(size)
    if max_bytes is not None and len(data) > max_bytes:
        raise PageLimitError(f"page is larger than the limit of {max_bytes:,} bytes (--max-bytes)")
    return decode_bytes(data)


def _check_size(content: str, max_bytes: int | None) -> None:
    from .modeling.predict import PageLimitError

    if max_bytes is None or len(content) * 4 <= max_bytes:  # 4 = max UTF-8 bytes per char
        return
    size = len(content) if len(content) > max_bytes else len(content.encode("utf-8", "replace"))
    if size > max_bytes:
        raise PageLimitError(f"page is larger than the limit of {max_bytes:,} bytes (--max-bytes)")


def _run_tasks(tasks: list[Task], out_dir: str | None, fmt: str) -> list[dict]:
    """Extract a batch of tasks; write per-page outputs (atomically) when ``out_dir`` is set;
    return a status record per task, in order (``error`` set for a failed page; the output
    record itself when there is no out_dir or the format is jsonl).

    Pages are read as the extractor asks for them, so only the pages of the batch it is
    predicting are in memory, not all the tasks' (``Extractor.extract_many`` bounds a batch
    by its characters)."""
    from .dataset import Page
    from .modeling.predict import PageLimitError, guess_format

    assert _EXTRACTOR is not None
    statuses: list[dict | None] = [None] * len(tasks)
    extracted: list[int] = []  # task index of each page handed to the extractor

    def pages() -> Iterator[Page]:
        for i, task in enumerate(tasks):
            if task.format and task.format.startswith("error:"):
                statuses[i] = {"id": task.id, "source": task.source_name, "error": task.format[6:]}
                continue
            try:
                if task.content is not None:
                    _check_size(task.content, _MAX_BYTES)
                    content = task.content
                else:
                    content = _read_limited(task.path, _MAX_BYTES)
            except Exception as exc:  # unreadable, truncated gzip, over a limit, ...
                error = str(exc) if isinstance(exc, PageLimitError) else f"cannot read: {exc!r}"
                statuses[i] = {"id": task.id, "source": task.source_name, "error": error}
                continue
            extracted.append(i)
            yield Page(id=task.id, source=content, format=task.format or guess_format(content))

    for k, result in enumerate(_EXTRACTOR.extract_many(pages())):
        i = extracted[k]
        statuses[i] = _finish(tasks[i], result, out_dir, fmt)
    assert all(rec is not None for rec in statuses)
    return statuses  # type: ignore[return-value]


def _finish(task: Task, result: Extraction, out_dir: str | None, fmt: str) -> dict:
    """The status record of one extracted page, after writing its output file if any."""
    rec: dict = {"id": task.id, "source": task.source_name}
    if result.error:
        rec["error"] = result.error
        return rec
    if fmt == "jsonl":
        rec.update(task.meta or {})
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
        return rec
    body = result.markdown() if fmt == "markdown" else result.text
    if out_dir is None:
        rec["text"] = body
        return rec
    target = Path(out_dir) / (task.out_rel + _suffix(fmt))
    try:
        write_text(target, body + "\n" if body else "")
        rec["output"] = str(target)
    except OSError as exc:
        rec["error"] = f"cannot write {target}: {exc}"
    return rec


def _suffix(fmt: str) -> str:
    return ".md" if fmt == "markdown" else ".txt"


# ---------------------------------------------------------------- command: extract


# Pages a worker (or the one process) reads, extracts and writes as one task: one batch of
# the extractor. Two workers on 4,491 WCXB pages (bench/scale.py --copies 3 --workers 2,
# four runs each, alternating): 32 pages 168.9-182.9 pages/s (median 178.8), 16 pages
# 158.3-172.5 (167.2); summed PSS 439-442 vs 442-445 MB.
TASK_PAGES = 32


def _batches(tasks: Iterable[Task], size: int) -> Iterator[list[Task]]:
    batch: list[Task] = []
    for task in tasks:
        batch.append(task)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class _Counts:
    found: int = 0
    skipped: int = 0


def _plan(
    tasks: Iterable[Task], out_dir: str | None, fmt: str, resume: bool, counts: _Counts
) -> Iterator[Task]:
    """Count tasks, turn a second task writing the same output file into a failed page (it
    would silently overwrite the first), and with ``resume`` skip pages whose output exists
    (outputs are written atomically, so one that exists is complete)."""
    per_page = out_dir is not None and fmt != "jsonl"
    seen: dict[str, str] = {}
    for task in tasks:
        counts.found += 1
        if not per_page or (task.format or "").startswith("error:"):
            yield task
            continue
        first = seen.setdefault(task.out_rel, task.source_name)
        if first != task.source_name:
            task.format = f"error:output {task.out_rel}{_suffix(fmt)} is also the output of {first}"
        elif resume and (Path(out_dir) / (task.out_rel + _suffix(fmt))).exists():
            counts.skipped += 1
            continue
        yield task


def _remove_stale_temps(out_dir: str) -> None:
    """Temp files left by a killed run (a resumed run rewrites those pages)."""
    for path in Path(out_dir).rglob(".*.tmp"):
        if TEMP_NAME_RE.fullmatch(path.name):
            path.unlink(missing_ok=True)


def _load_extractor(args: argparse.Namespace):
    from .modeling.predict import Extractor

    extractor_args = {
        "model": args.model,
        "text_model": args.text_model,
        "threshold": args.threshold,
        "favor": args.favor,
        "max_lines": args.max_lines or None,
        "page_timeout": args.page_timeout or None,
    }
    extractor = Extractor(**extractor_args)
    try:
        extractor.model("html")
        extractor.model("text")
    except Exception as exc:  # missing, tampered, wrong schema, unreachable registry, ...
        raise UsageError(f"unusable model: {exc}") from exc
    return extractor, extractor_args


def cmd_extract(args: argparse.Namespace) -> int:
    global _EXTRACTOR, _MAX_BYTES
    fmt = args.format
    if args.workers < 0:
        raise UsageError("--workers must be 0 (one per core) or more")
    if args.resume and not args.output:
        raise UsageError("--resume needs -o OUTDIR (it skips pages whose output file exists)")
    if args.resume and fmt == "jsonl":
        raise UsageError(
            "--resume works with per-page outputs (--format text or markdown); a --format "
            "jsonl output is renamed into place only when the run completes, so an "
            "interrupted jsonl run has nothing to resume: run it again"
        )
    sources = expand_inputs(args.inputs)
    extractor, extractor_args = _load_extractor(args)
    max_bytes = args.max_bytes or None

    out_dir: str | None = args.output
    jsonl_path: Path | None = None
    errors_path: Path | None = None
    if out_dir and fmt == "jsonl":
        jsonl_path = (
            Path(out_dir)
            if out_dir.endswith((".jsonl", ".jsonl.gz"))
            else (Path(out_dir) / "extracted.jsonl")
        )
        out_dir = str(jsonl_path.parent)
        stem = re.sub(r"\.jsonl(\.gz)?$", "", jsonl_path.name)
        errors_path = jsonl_path.with_name(
            "errors.jsonl" if stem == "extracted" else f"{stem}.errors.jsonl"
        )
    elif out_dir:
        errors_path = Path(out_dir) / "errors.jsonl"
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        if args.resume:
            _remove_stale_temps(out_dir)

    counts = _Counts()
    tasks = _plan(iter_tasks(sources), out_dir, fmt, args.resume, counts)
    started, n_pages, n_failed = time.time(), 0, 0
    errors: list[dict] = []
    jsonl_tmp = None
    jsonl_fh = None
    if jsonl_path:
        jsonl_tmp = jsonl_path.with_name(f".{jsonl_path.name}.{os.getpid()}.tmp")
        opener = gzip.open if jsonl_path.name.endswith(".gz") else open
        jsonl_fh = opener(jsonl_tmp, "wt", encoding="utf-8")  # closed in finally
    workers = args.workers or os.cpu_count() or 1
    write_dir = out_dir if fmt != "jsonl" else None
    _EXTRACTOR, _MAX_BYTES = extractor, max_bytes
    if workers == 1:
        result_batches: Iterator[list[dict]] = (
            _run_tasks(b, write_dir, fmt) for b in _batches(tasks, TASK_PAGES)
        )
    else:
        # the compiled code a first page loads is then the parent's, shared by every worker
        extractor.warm_up()
        result_batches = _pool_map(
            _batches(tasks, TASK_PAGES),
            workers,
            (extractor_args, max_bytes),
            _run_tasks,
            (write_dir, fmt),
        )
    progress = _progress(args)
    completed = False
    try:
        for batch in result_batches:
            for rec in batch:
                n_pages += 1
                if "error" in rec:
                    n_failed += 1
                    errors.append(rec)
                    message = f"linesift: {rec['source']}: {rec['error']}"
                    if progress is not None:
                        progress.write(message, file=sys.stderr)  # keeps the bar intact
                    else:
                        print(message, file=sys.stderr)
                elif jsonl_fh is not None:
                    jsonl_fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                elif out_dir is None:
                    line = json.dumps(rec, ensure_ascii=False) if fmt == "jsonl" else rec["text"]
                    sys.stdout.write(line + "\n")
            if progress is not None:
                progress.update(len(batch))
        completed = True
    finally:
        if hasattr(result_batches, "close"):
            result_batches.close()  # shuts the pool down
        if progress is not None:
            progress.close()
        if jsonl_fh is not None:
            jsonl_fh.close()
        if jsonl_tmp is not None and not completed:
            jsonl_tmp.unlink(missing_ok=True)
    seconds = max(time.time() - started, 1e-9)
    if counts.found == 0:
        if jsonl_tmp is not None:
            jsonl_tmp.unlink(missing_ok=True)
        raise UsageError("no input pages found")
    if jsonl_tmp is not None and jsonl_path is not None:
        os.replace(jsonl_tmp, jsonl_path)
    if errors_path is not None:
        if errors:
            write_text(
                errors_path,
                "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in errors),
            )
        else:
            errors_path.unlink(missing_ok=True)  # a previous run's list is stale now
    skipped = f", {counts.skipped} skipped (already done)" if args.resume else ""
    print(
        f"linesift: {n_pages} pages, {n_failed} failed{skipped}, {n_pages / seconds:.1f} pages/s "
        f"in {seconds:.1f} s ({workers} workers)",
        file=sys.stderr,
    )
    return EXIT_PAGES_FAILED if n_failed else EXIT_OK


def _pool_map(
    batches: Iterable[list[Task]],
    workers: int,
    initargs: tuple,
    fn: Callable[..., list[dict]],
    fn_args: tuple,
) -> Iterator[list[dict]]:
    """``fn(batch, *fn_args)`` for each batch in a process pool, results in input order, at most
    ``3 * workers`` batches in flight (bounded memory).

    If a worker dies (a crash in C code, the OOM killer), the pool is rebuilt and the batches
    in flight are rerun page by page; a page that kills a worker again is reported as failed
    and the run goes on."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)

    def new_pool() -> ProcessPoolExecutor:
        # Forked workers share the parent's pages (models, libraries) until they write to
        # them, and a garbage collection in a worker writes to every object it traverses:
        # objects frozen before the fork are never traversed. Measured (bench/scale.py
        # --copies 3 --workers 2, two runs each): summed PSS 441-442 MB frozen vs 472 MB,
        # 194 vs 170-182 pages/s. The parent unfreezes them when the pool is done.
        gc.freeze()
        return ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init_worker, initargs=initargs
        )

    pool = new_pool()
    pending: deque = deque()
    batch_iter = iter(batches)
    try:
        exhausted = False
        while pending or not exhausted:
            while not exhausted and len(pending) < 3 * workers:
                batch = next(batch_iter, None)
                if batch is None:
                    exhausted = True
                else:
                    pending.append((batch, pool.submit(fn, batch, *fn_args)))
            if not pending:
                break
            batch, future = pending[0]
            try:
                result = future.result()
            except BrokenProcessPool:
                pool.shutdown(wait=False, cancel_futures=True)
                pool = new_pool()
                redo = [b for b, _ in pending]
                pending.clear()
                for batch in redo:
                    out = []
                    for task in batch:
                        try:
                            out.extend(pool.submit(fn, [task], *fn_args).result())
                        except BrokenProcessPool:
                            pool.shutdown(wait=False, cancel_futures=True)
                            pool = new_pool()
                            out.append(
                                {
                                    "id": task.id,
                                    "source": task.source_name,
                                    "error": "the worker process died on this page "
                                    "(crash or out of memory)",
                                }
                            )
                    yield out
                continue
            pending.popleft()
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        gc.unfreeze()


def _progress(args: argparse.Namespace):
    if args.quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(unit="page", file=sys.stderr, smoothing=0.1)


# ---------------------------------------------------------------- pipeline stages


def cmd_stage(args: argparse.Namespace) -> int:
    rest = list(args.stage_args)
    if args.command == "train" and "--data" in rest:
        # `linesift train --data labeled.jsonl`: add the pages to params.yaml's data.labeled,
        # then run the whole pipeline so they are segmented, labeled and featurized too.
        from .draft_labels import add_to_params
        from .evaluate import main as evaluate_main
        from .features import main as featurize_main
        from .modeling.train import main as train_main
        from .prepare import main as prepare_main

        at = rest.index("--data")
        if at + 1 >= len(rest):
            raise UsageError("--data needs a labeled-pages JSONL file")
        if not Path(rest[at + 1]).is_file():
            raise UsageError(f"{rest[at + 1]}: no such file")
        add_to_params(rest[at + 1])
        del rest[at : at + 2]
        prepare_main([])
        featurize_main()
        train_main(rest)
        evaluate_main()
        return EXIT_OK
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


def _non_negative(kind: type) -> Callable[[str], float]:
    def convert(text: str):
        value = kind(text)
        if value < 0:
            raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
        return value

    convert.__name__ = kind.__name__  # argparse names the type in its error message
    return convert


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
    ex.add_argument(
        "--resume",
        action="store_true",
        help="skip pages whose output file already exists (outputs are written atomically, so "
        "an existing one is complete); needs -o, not with --format jsonl",
    )
    ex.add_argument(
        "--max-bytes",
        type=_non_negative(int),
        default=DEFAULT_MAX_BYTES,
        help="a page larger than this (decompressed) fails instead of being read; 0: no limit "
        f"(default {DEFAULT_MAX_BYTES:,})",
    )
    ex.add_argument(
        "--max-lines",
        type=_non_negative(int),
        default=DEFAULT_MAX_LINES,
        help=f"a page with more lines fails instead of being truncated; 0: no limit "
        f"(default {DEFAULT_MAX_LINES:,})",
    )
    ex.add_argument(
        "--page-timeout",
        type=_non_negative(float),
        default=None,
        help="seconds a page's parsing may take before it fails (SIGALRM in the process "
        "running it; a single lxml parse call is not interruptible, --max-bytes bounds it); "
        "default: none",
    )
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
    from . import draft_labels, runs  # experiment workflow: runs, promote, label

    runs.add_parsers(sub)
    draft_labels.add_parser(sub)
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
