"""Inference: pages -> lines with probabilities -> main text.

The same ``segment`` and ``features.featurize`` calls as in training (no train/serve skew);
pages are predicted in batches with one ``predict_proba`` call per batch and model kind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import itertools
import re
import signal
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import config
from ..dataset import Page, decode_bytes
from ..features import featurize_columns, line_columns
from ..malloc_tuning import tune_malloc
from ..segment import SOURCES, PageLines, segment
from .model_io import (
    STACK_FILE,
    STACK_TREES_FILE,
    TREES_FILE,
    LineModel,
    ModelError,
    check_card,
    load_model,
    load_verified,
)
from .stack import CONTEXT_COLUMNS, empty_page_fallback, line_probabilities, select_lines

FAVOR = ("balanced", "precision", "recall")
FORMATS = ("html", "text")
# A batch of extract_many ends at this many pages or characters, whichever comes first.
# A batch's working memory follows its text (segments, feature matrices, the pages
# themselves): `linesift extract` on the 1,497 WCXB pages once peaked at 611 MB in batches
# of 32 pages (one of 38 M characters). A batch also costs ~3 ms of fixed numpy/pandas
# calls, which mattered once a page cost ~6 ms: with the event-driven walk, 10,479 pages
# with two workers (bench/scale.py --copies 7, 2026-11-27) ran at 260-262 pages/s and
# 457-465 MB summed PSS with 8 M characters a batch, 224-232 / 428-435 MB with 6 M,
# 231 / 418 MB with 4 M, 216-222 / 398-403 MB with 2 M (a worker's task of 32 WCXB pages,
# ~7.6 M characters, is then one batch instead of four); in one process 5.61 against 5.96
# CPU ms a page.
BATCH_PAGES = 64
BATCH_CHARS = 8_000_000

_HTML_SNIFF_RE = re.compile(
    r"<(?:!doctype|html|head|body|div|p|span|a|table|meta|title|script|br|li|h[1-6])[\s>/]",
    re.I,
)


@dataclass
class Line:
    text: str
    probability: float
    label: int
    tag: str = ""
    source: str = "dom"


class PageLineResults(Sequence[Line]):
    """A page's ``Line`` objects, made when first read: a batch's hundreds of thousands of
    them cost ~5 % of extraction time, and text output (``linesift extract``'s default)
    never reads them."""

    __slots__ = ("_lines", "_parts")

    def __init__(
        self,
        texts: list[str],
        probabilities: np.ndarray,
        labels: list[int],
        tags: list[str],
        sources: list[int],
    ) -> None:
        self._parts: tuple | None = (texts, probabilities, labels, tags, sources)
        self._lines: list[Line] = []

    def _made(self) -> list[Line]:
        if self._parts is not None:
            texts, probabilities, labels, tags, sources = self._parts
            # Python floats first: rounding numpy scalars one by one costs twice the loop
            self._lines = [
                Line(t, round(q, 4), label, tag, SOURCES[s])
                for t, q, label, tag, s in zip(
                    texts, probabilities.tolist(), labels, tags, sources, strict=True
                )
            ]
            self._parts = None
        return self._lines

    def __len__(self) -> int:
        return len(self._parts[0]) if self._parts is not None else len(self._lines)

    def __getitem__(self, index):  # type: ignore[override]
        return self._made()[index]

    def __iter__(self) -> Iterator[Line]:
        return iter(self._made())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PageLineResults | list | tuple):
            return self._made() == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return repr(self._made())


@dataclass
class Extraction:
    """The result for one page: its main text and every line with its probability."""

    id: str
    text: str
    lines: Sequence[Line] = field(default_factory=list)
    format: str = "html"
    model: str = ""
    model_version: str = ""
    error: str | None = None

    def markdown(self) -> str:
        """The main text with headings and list items marked up."""
        out = []
        for line in self.lines:
            if not line.label:
                continue
            if len(line.tag) == 2 and line.tag[0] == "h" and line.tag[1].isdigit():
                out.append("#" * int(line.tag[1]) + " " + line.text)
            elif line.tag in ("li", "dd", "dt"):
                out.append("- " + line.text)
            else:
                out.append(line.text)
        return "\n\n".join(out)


def _as_page(item: str | bytes | Page, number: int, format: str | None) -> Page:
    """A ``Page`` of an ``extract_many`` input; bytes (also a Page's) decoded to text."""
    source = item.source if isinstance(item, Page) else item
    if isinstance(source, bytes | bytearray | memoryview):
        source = decode_bytes(bytes(source))
    elif not isinstance(source, str):
        raise TypeError(f"a page is str, bytes or Page, not {type(source).__name__}")
    if isinstance(item, Page):
        return item if source is item.source else dataclasses.replace(item, source=source)
    return Page(id=str(number), source=source, format=format or guess_format(source))


def guess_format(source: str) -> str:
    """ "html" when the first 4 KB look like markup, else "text"."""
    return "html" if _HTML_SNIFF_RE.search(source[:4096]) else "text"


def resolve_model(spec: str | Path | LineModel | None, kind: str) -> LineModel:
    """A model from a directory, an MLflow model URI (``models:/name@alias``), or the shipped
    model of ``kind``."""
    if isinstance(spec, LineModel):
        return spec
    if spec is None:
        return _load_dir(config.model_dir(kind))
    spec = str(spec)
    if spec.startswith(("models:/", "runs:/")):
        model = _load_mlflow_model(spec)
    elif (Path(spec) / "card.json").exists():
        model = _load_dir(Path(spec))
    elif (Path(spec) / kind / "card.json").exists():  # a models/ directory holding both kinds
        model = _load_dir(Path(spec) / kind)
    else:
        raise ModelError(f"{spec}: not a model directory or MLflow model URI")
    if model.card.get("kind") != kind:
        raise ModelError(f"{spec}: is a {model.card.get('kind')!r} model, expected a {kind!r} one")
    return model


_LOADED: dict[tuple, LineModel] = {}


def _load_dir(directory: Path) -> LineModel:
    """``load_model``, cached per process while the files are unchanged: verifying and loading
    a skops model takes seconds, and ``Extractor()`` is cheap to construct again."""
    directory = directory.resolve()
    try:
        stats = [(directory / name).stat() for name in ("card.json", "model.skops")]
        for name in (STACK_FILE, TREES_FILE, STACK_TREES_FILE):
            if (directory / name).exists():
                stats.append((directory / name).stat())
        key = (str(directory), *((st.st_mtime_ns, st.st_size, st.st_ino) for st in stats))
    except OSError:
        return load_model(directory)  # raises a ModelError naming what is missing
    if key not in _LOADED:
        for stale in [k for k in _LOADED if k[0] == key[0]]:  # an older version of the files
            del _LOADED[stale]
        _LOADED[key] = load_model(directory, estimators=False)
    return _LOADED[key].copy()


def _load_mlflow_model(uri: str) -> LineModel:
    """Load a registered model; its card comes from the run that logged it."""
    import json
    import tempfile

    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(config.MLFLOW_TRACKING_URI)
    client = MlflowClient()
    match = re.match(r"models:/([^/@]+)(?:@([^/]+)|/(\d+))?$", uri)
    if not match:
        raise ModelError(f"{uri}: expected models:/NAME@ALIAS or models:/NAME/VERSION")
    name, alias, number = match.groups()
    try:
        if alias:
            version = client.get_model_version_by_alias(name, alias)
        else:
            version = client.get_model_version(name, number or "1")
    except mlflow.exceptions.MlflowException as exc:
        raise ModelError(f"{uri}: {exc.message}") from exc
    kind = name.rsplit("-", 1)[-1]
    with tempfile.TemporaryDirectory() as tmp:
        card_file = mlflow.artifacts.download_artifacts(
            run_id=version.run_id, artifact_path=f"{kind}/card.json", dst_path=tmp
        )
        card = json.loads(Path(card_file).read_text("utf-8"))
        check_card(card, uri)
        stack = None
        if card.get("stack"):
            # the second stage is a file of the same run, checked against the card's sha256
            try:
                stack_file = mlflow.artifacts.download_artifacts(
                    run_id=version.run_id, artifact_path=f"{kind}/{STACK_FILE}", dst_path=tmp
                )
            except mlflow.exceptions.MlflowException as exc:
                raise ModelError(f"{uri}: the run has no {kind}/{STACK_FILE}: {exc}") from exc
            stack = load_verified(Path(stack_file), card["stack"].get("sha256"))
    try:
        estimator = mlflow.sklearn.load_model(uri)
    except Exception as exc:  # missing artifact, untrusted skops type, ...
        raise ModelError(f"{uri}: cannot load the model: {type(exc).__name__}: {exc}") from exc
    card["version"] = f"{name}/{version.version}"
    return LineModel(estimator=estimator, card=card, stack_estimator=stack)


# what ``Extractor.warm_up`` extracts: a page with boilerplate and a paragraph, per format
_WARM_UP_PAGES = {
    "html": (
        "<html><head><title>warm-up</title><script type='application/ld+json'>"
        '{"@type": "Article", "articleBody": "This page loads the model and compiles the '
        'code of every stage, structured data included."}</script></head><body><nav>'
        "<a href='/'>Home</a></nav><article><h1>Warm-up</h1><p>This page loads the model "
        "and compiles the code of every stage before the extraction workers are forked."
        "</p></article></body></html>"
    ),
    "text": (
        "Home | News | Contact\nWarm-up\nThis page loads the model and imports every "
        "module before the extraction workers are forked.\nCopyright 2026\n"
    ),
}


class Extractor:
    """Main-content extractor: ``extract(page)`` for one page, ``extract_many`` for batches.

    ``model`` / ``text_model``: a model directory, an MLflow model URI, a loaded ``LineModel``
    or None for the shipped models. ``threshold`` overrides the model's; ``favor`` picks the
    threshold tuned for precision or recall. A page with more than ``max_lines`` lines, or
    whose segmentation takes longer than ``page_timeout`` seconds, gets ``error`` set instead
    of a (silently truncated) result. The timeout uses SIGALRM, so it applies only on the main
    thread of a process on Unix (the CLI's workers run there); elsewhere it is ignored.
    Creating one tunes glibc's malloc for the process (``malloc_tuning``: freed batch memory
    is kept for the next batch; ``LINESIFT_MALLOC_DEFAULTS=1`` opts out).
    """

    def __init__(
        self,
        model: Any = None,
        text_model: Any = None,
        *,
        threshold: float | None = None,
        favor: str = "balanced",
        max_lines: int | None = None,
        page_timeout: float | None = None,
    ) -> None:
        if favor not in FAVOR:
            raise ValueError(f"favor must be one of {FAVOR}, not {favor!r}")
        if threshold is not None and not 0 <= threshold <= 1:
            raise ValueError(f"threshold must be between 0 and 1, not {threshold}")
        self._specs = {"html": model, "text": text_model}
        self._models: dict[str, LineModel] = {}
        self.threshold = threshold
        self.favor = favor
        self.max_lines = max_lines
        self.page_timeout = page_timeout
        tune_malloc()  # batches free and refault their memory under glibc's defaults

    def model(self, kind: str) -> LineModel:
        """The loaded model of ``kind`` ("html" or "text"), loading it on first use."""
        if kind not in self._models:
            self._models[kind] = resolve_model(self._specs[kind], kind)
        return self._models[kind]

    def warm_up(self, kinds: Sequence[str] = FORMATS) -> None:
        """Load the models of ``kinds`` and run a small built-in page of each through them.

        A process's first page also loads numba's cached machine code (~0.45 s CPU and ~75
        MB): a parent that warms up before it forks its workers pays that once, and the
        workers share those pages instead of each loading its own copy."""
        for kind in kinds:
            page = Page(id="warm-up", source=_WARM_UP_PAGES[kind], format=kind)
            (result,) = self._run_batch([page])
            if result.error:
                raise RuntimeError(f"warm-up {kind} page failed: {result.error}")

    def threshold_for(self, kind: str) -> float:
        if self.threshold is not None:
            return self.threshold
        model = self.model(kind)
        return float(model.card.get("thresholds", {}).get(self.favor, model.threshold))

    def predict_lines(self, page: str | bytes | Page, format: str | None = None) -> list[Line]:
        """Every line of one page with its content probability and label."""
        result = next(iter(self.extract_many([page], format=format)))
        if result.error:
            raise ValueError(result.error)
        return list(result.lines)

    def extract(self, page: str | bytes | Page, format: str | None = None) -> str:
        """The main text of one page."""
        result = next(iter(self.extract_many([page], format=format)))
        if result.error:
            raise ValueError(result.error)
        return result.text

    def extract_many(
        self,
        pages: Iterable[str | bytes | Page],
        *,
        format: str | None = None,
        batch_size: int = BATCH_PAGES,
        batch_chars: int = BATCH_CHARS,
    ) -> Iterator[Extraction]:
        """Extractions in input order; a page that fails gets ``error`` set, the rest go on.

        Pages (text, or bytes decoded as ``dataset.decode_bytes`` does) are predicted in
        batches, one model call per batch and kind (much faster than page by page). A batch
        ends at ``batch_size`` pages or once its pages hold ``batch_chars`` characters: the
        working memory of a batch grows with its text, so this bounds it whatever the page
        sizes. ``pages`` is consumed lazily, a batch at a time."""
        if format not in (None, *FORMATS):
            raise ValueError(f"format must be one of {FORMATS} or None, not {format!r}")
        batch: list[Page] = []
        chars = 0
        for number, item in enumerate(pages):
            page = _as_page(item, number, format)
            batch.append(page)
            chars += len(page.source)
            if len(batch) >= batch_size or chars >= batch_chars:
                yield from self._run_batch_safe(batch)
                batch, chars = [], 0
        if batch:
            yield from self._run_batch_safe(batch)

    def _run_batch_safe(self, pages: list[Page]) -> list[Extraction]:
        """``_run_batch``, falling back to page by page if the batch as a whole fails, so one
        bad page costs only itself."""
        with _gc_paused():
            try:
                return self._run_batch(pages)
            except Exception:
                if len(pages) == 1:
                    return [self._failed(pages[0])]
            out = []
            for page in pages:
                try:
                    out.extend(self._run_batch([page]))
                except Exception:
                    out.append(self._failed(page))
            return out

    @staticmethod
    def _failed(page: Page) -> Extraction:
        import sys

        exc = sys.exc_info()[1]
        return Extraction(
            id=page.id, text="", format=page.format, error=f"{type(exc).__name__}: {exc}"
        )

    def _segment(self, page: Page) -> PageLines:
        if page.format not in FORMATS:
            raise ValueError(f"page format must be one of {FORMATS}, not {page.format!r}")
        with _time_limit(self.page_timeout):
            lines = segment(page.source, page.format)
        if self.max_lines is not None and len(lines) > self.max_lines:
            raise PageLimitError(
                f"page has {len(lines):,} lines, over the limit of {self.max_lines:,} "
                "(max_lines, --max-lines)"
            )
        return lines

    def _run_batch(self, pages: list[Page]) -> list[Extraction]:
        segmented: list[PageLines | None] = []
        errors: list[str | None] = []
        for page in pages:
            try:
                segmented.append(self._segment(page))
                errors.append(None)
            except Exception as exc:  # a hostile page must not stop the batch
                segmented.append(None)
                errors.append(f"{type(exc).__name__}: {exc}")
        probs: dict[int, np.ndarray] = {}
        keeps: dict[int, np.ndarray] = {}
        for kind in ("html", "text"):
            members = [
                i
                for i, (p, s) in enumerate(zip(pages, segmented, strict=True))
                if s is not None and p.format == kind and len(s)
            ]
            if not members:
                continue
            model = self.model(kind)
            # columns as arrays and lists, no DataFrames: their construction and column
            # selection are most of the cost of a page predicted alone
            columns = line_columns([segmented[i] for i in members])
            X = featurize_columns(columns, kind)
            context = {name: columns[name] for name in CONTEXT_COLUMNS[kind]}
            page = columns["page"]
            prob = line_probabilities(model, X, page, context, columns["text"])
            fallback = empty_page_fallback(model.card.get("rules") or {}, kind, X, page)
            kept = select_lines(prob, self.threshold_for(kind), page, fallback)
            bounds = np.cumsum([0] + [len(segmented[i]) for i in members])
            for j, i in enumerate(members):
                probs[i] = prob[bounds[j] : bounds[j + 1]]
                keeps[i] = kept[bounds[j] : bounds[j + 1]]
        results = []
        for i, page in enumerate(pages):
            kind = page.format
            lines = segmented[i]
            if errors[i] is not None or lines is None:
                results.append(Extraction(id=page.id, text="", format=kind, error=errors[i]))
                continue
            model = self.model(kind) if len(lines) else None
            p = probs.get(i, np.zeros(0))
            labels = keeps.get(i, np.zeros(0, dtype=bool)).astype(int).tolist()
            text = "\n".join(itertools.compress(lines.text, labels))
            out_lines = PageLineResults(lines.text, p, labels, lines.tag, lines.source)
            results.append(
                Extraction(
                    id=page.id,
                    text=text,
                    lines=out_lines,
                    format=kind,
                    model=model.name if model else "",
                    model_version=model.version if model else "",
                )
            )
        return results


class PageLimitError(ValueError):
    """A page over a size, line or time limit: reported as failed, never truncated."""


_gc_lock = threading.Lock()
_gc_pauses = 0  # batches running (in any thread) with the collector paused
_gc_was_enabled = False


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Automatic garbage collection off while a batch runs (restored after the last batch
    of any thread ends). A batch allocates ~10^5 container objects (line frames, lists)
    and frees them at its end; none is in a reference cycle, yet every ~700 allocations
    the collector traversed the young ones, all alive: ~2 % of a batch's CPU time on 640
    WCXB pages (paired, same process)."""
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


@contextlib.contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Raise ``PageLimitError`` in the block after ``seconds`` (SIGALRM; main thread only)."""
    usable = (
        seconds
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def expired(signum, frame):
        raise PageLimitError(f"page took longer than {seconds:g} s (page_timeout)")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_DEFAULT: Extractor | None = None


def extract(page: str | bytes, *, format: str | None = None) -> str:
    """The main text of one page (HTML or plain-text lines; bytes are decoded as
    ``dataset.decode_bytes`` does: BOM, UTF-8, ``<meta charset>``, detection), with the
    shipped models.

    ``format``: "html", "text", or None to guess from the first 4 KB."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Extractor()
    return _DEFAULT.extract(page, format=format)
