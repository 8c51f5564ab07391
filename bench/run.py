#!/usr/bin/env python
"""Benchmark linesift against peer main-content extractors on the same pages, in one run.

Every extractor runs in its own subprocess (so peak RSS is its own) that loads the pages
itself, calls the extractor sequentially on one core (BLAS/OpenMP pools pinned to one
thread), and reports per-page wall times, total CPU time, peak RSS and per-page WCXB word
P/R/F1. With ``--repeat N`` the extractors run N rounds (order rotated each round, so a
background load hits all of them alike); timing figures are the median over rounds, F1
comes from the first round (it is deterministic; later rounds are checked against it).

    python bench/run.py [--limit N] [--repeat 3] [--peers trafilatura,resiliparse,...]
                        [--datasets wcxb,readability]

Writes ``bench/results.md`` (the table) and ``bench/results.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent

THREAD_ENV = {
    name: "1"
    for name in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
        "BLIS_NUM_THREADS",
    )
}

PEERS = ("trafilatura", "resiliparse", "justext", "readability-lxml", "boilerpy3")
LINESIFT = ("linesift", "linesift-single")
BASELINE = "trafilatura"  # speed ratios are relative to this one
BATCH_SIZE = 64
CONTENDED = 1.15  # wall/CPU time of a round above which the round is flagged
PAGE_TYPES = ("article", "collection", "documentation", "forum", "listing", "product", "service")

# extractor -> (import name that must exist, distribution whose version is reported)
REQUIRES = {
    "linesift": ("linesift", "linesift"),
    "linesift-single": ("linesift", "linesift"),
    "trafilatura": ("trafilatura", "trafilatura"),
    "resiliparse": ("resiliparse", "resiliparse"),
    "justext": ("justext", "justext"),
    "readability-lxml": ("readability", "readability-lxml"),
    "boilerpy3": ("boilerpy3", "boilerpy3"),
}

LABELS = {
    "linesift": f"linesift (batch {BATCH_SIZE})",
    "linesift-single": "linesift (1 page/call)",
}


# ====================================================================== extractors
# Each factory does its imports and returns ``fn(html) -> text``; exceptions propagate
# (the worker records them as errors and scores the page with empty text).


def _make_trafilatura() -> Callable[[str], str]:
    import trafilatura

    def run(html: str) -> str:
        return trafilatura.extract(html) or ""

    return run


def _make_resiliparse() -> Callable[[str], str]:
    from resiliparse.extract.html2text import extract_plain_text

    def run(html: str) -> str:
        return extract_plain_text(html, main_content=True) or ""

    return run


# ISO 639 code (of <html lang>) -> jusText stoplist name
JUSTEXT_LANGS = {
    "af": "Afrikaans",
    "sq": "Albanian",
    "ar": "Arabic",
    "an": "Aragonese",
    "hy": "Armenian",
    "ast": "Asturian",
    "az": "Azerbaijani",
    "eu": "Basque",
    "be": "Belarusian",
    "bn": "Bengali",
    "bs": "Bosnian",
    "br": "Breton",
    "bg": "Bulgarian",
    "ca": "Catalan",
    "ceb": "Cebuano",
    "cv": "Chuvash",
    "hr": "Croatian",
    "cs": "Czech",
    "da": "Danish",
    "nl": "Dutch",
    "en": "English",
    "eo": "Esperanto",
    "et": "Estonian",
    "fi": "Finnish",
    "fr": "French",
    "gl": "Galician",
    "ka": "Georgian",
    "de": "German",
    "el": "Greek",
    "gu": "Gujarati",
    "ht": "Haitian",
    "he": "Hebrew",
    "iw": "Hebrew",
    "hi": "Hindi",
    "hu": "Hungarian",
    "is": "Icelandic",
    "io": "Ido",
    "ig": "Igbo",
    "id": "Indonesian",
    "in": "Indonesian",
    "ga": "Irish",
    "it": "Italian",
    "jv": "Javanese",
    "kn": "Kannada",
    "kk": "Kazakh",
    "ko": "Korean",
    "ku": "Kurdish",
    "ky": "Kyrgyz",
    "la": "Latin",
    "lv": "Latvian",
    "lt": "Lithuanian",
    "lmo": "Lombard",
    "nds": "Low_Saxon",
    "lb": "Luxembourgish",
    "mk": "Macedonian",
    "ms": "Malay",
    "ml": "Malayalam",
    "mt": "Maltese",
    "mr": "Marathi",
    "nap": "Neapolitan",
    "ne": "Nepali",
    "new": "Newar",
    "nb": "Norwegian_Bokmal",
    "no": "Norwegian_Bokmal",
    "nn": "Norwegian_Nynorsk",
    "oc": "Occitan",
    "fa": "Persian",
    "pms": "Piedmontese",
    "pl": "Polish",
    "pt": "Portuguese",
    "qu": "Quechua",
    "ro": "Romanian",
    "ru": "Russian",
    "sr": "Serbian",
    "sh": "Serbo_Croatian",
    "scn": "Sicilian",
    "sk": "Slovak",
    "sl": "Slovenian",
    "es": "Spanish",
    "su": "Sundanese",
    "sw": "Swahili",
    "sv": "Swedish",
    "tl": "Tagalog",
    "fil": "Tagalog",
    "ta": "Tamil",
    "te": "Telugu",
    "tr": "Turkish",
    "tk": "Turkmen",
    "uk": "Ukrainian",
    "ur": "Urdu",
    "uz": "Uzbek",
    "vi": "Vietnamese",
    "vo": "Volapuk",
    "wa": "Walloon",
    "war": "Waray_Waray",
    "cy": "Welsh",
    "fy": "West_Frisian",
    "pnb": "Western_Panjabi",
    "yo": "Yoruba",
}
_HTML_LANG_RE = re.compile(r"<html\b[^>]*?\blang\s*=\s*[\"']?\s*([a-zA-Z]{2,3})\b", re.I)


def page_language(html: str) -> str | None:
    """The ISO code of ``<html lang=...>``, lower-cased, or None."""
    match = _HTML_LANG_RE.search(html[:20_000])
    return match.group(1).lower() if match else None


def _make_justext() -> Callable[[str], str]:
    import justext

    stoplists: dict[str, frozenset[str]] = {}

    def stoplist(html: str) -> frozenset[str]:
        # Declared language with a stoplist -> that one; declared without one -> all
        # stoplists merged (what trafilatura does); nothing declared -> English.
        lang = page_language(html)
        name = JUSTEXT_LANGS.get(lang, "*") if lang else "English"
        if name not in stoplists:
            if name == "*":
                stoplists[name] = frozenset(
                    w for n in justext.get_stoplists() for w in justext.get_stoplist(n)
                )
            else:
                stoplists[name] = justext.get_stoplist(name)
        return stoplists[name]

    def run(html: str) -> str:
        paragraphs = justext.justext(html, stoplist(html))
        return "\n".join(p.text for p in paragraphs if not p.is_boilerplate)

    return run


_BLOCK_TAGS = frozenset(
    (
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    )
)


def html_text(html: str) -> str:
    """Text of an HTML fragment with a line break at every block boundary (so words of
    adjacent blocks are not glued together, unlike ``text_content()``)."""
    import lxml.html
    from lxml import etree

    if not html.strip():
        return ""
    root = lxml.html.fromstring(html)
    parts: list[str] = []
    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in ("script", "style"):
            if event == "end" and el.tail:
                parts.append(el.tail)
            continue
        if tag.lower() in _BLOCK_TAGS:
            parts.append("\n")
        if event == "start":
            if tag and el.text:
                parts.append(el.text)
        elif el.tail:
            parts.append(el.tail)
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


def _make_readability() -> Callable[[str], str]:
    import logging

    from readability import Document

    logging.getLogger("readability.readability").setLevel(logging.ERROR)

    def run(html: str) -> str:
        return html_text(Document(html).summary())

    return run


def _make_boilerpy3() -> Callable[[str], str]:
    from boilerpy3 import extractors

    extractor = extractors.ArticleExtractor(raise_on_failure=True)

    def run(html: str) -> str:
        return extractor.get_content(html) or ""

    return run


FACTORIES: dict[str, Callable[[], Callable[[str], str]]] = {
    "trafilatura": _make_trafilatura,
    "resiliparse": _make_resiliparse,
    "justext": _make_justext,
    "readability-lxml": _make_readability,
    "boilerpy3": _make_boilerpy3,
}


# ====================================================================== worker


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def load_pages(datasets: Sequence[str], limit: int | None) -> list[Any]:
    """The benchmark pages (``linesift.dataset.Page``), ``limit`` per dataset."""
    from linesift.dataset import load_readability, load_wcxb

    loaders = {"wcxb": load_wcxb, "readability": load_readability}
    pages = []
    for name in datasets:
        pages.extend(loaders[name](limit=limit))
    return pages


def _timed_calls(
    name: str, pages: list[Any]
) -> tuple[Callable[[], None], list[float], list[float], list[str], list[str | None]]:
    """Set up extractor ``name`` (imports, model load, one untimed warm-up call) and return
    ``(run, ms, cpu_ms, texts, errors)``: ``run()`` extracts every page, filling the lists
    (wall and CPU milliseconds per page, output text, error or None)."""
    ms: list[float] = [0.0] * len(pages)
    cpu_ms: list[float] = [0.0] * len(pages)
    texts: list[str] = [""] * len(pages)
    errors: list[str | None] = [None] * len(pages)
    perf, cpu = time.perf_counter, time.process_time

    if name in LINESIFT:
        from linesift.modeling.predict import Extractor

        ex = Extractor()
        ex.model("html")  # loads the model now; a model this linesift cannot use fails here
        if hasattr(ex, "warm_up"):  # compiles every stage's code (structured data too)
            ex.warm_up(("html",))
        warm = next(iter(ex.extract_many(pages[:1])))
        if warm.error and "Model" in warm.error:
            raise RuntimeError(warm.error)
        step = BATCH_SIZE if name == "linesift" else 1

        def run() -> None:
            for start in range(0, len(pages), step):
                chunk = pages[start : start + step]
                t0, c0 = perf(), cpu()
                results = list(ex.extract_many(chunk, batch_size=step))
                per_page = (perf() - t0) * 1000 / len(chunk)
                cpu_per_page = (cpu() - c0) * 1000 / len(chunk)
                for i, res in enumerate(results, start):
                    ms[i] = per_page
                    cpu_ms[i] = cpu_per_page
                    texts[i] = res.text or ""
                    errors[i] = res.error

        return run, ms, cpu_ms, texts, errors

    fn = FACTORIES[name]()
    with contextlib.suppress(Exception):  # warm-up: lazy imports/caches are not per-page cost
        fn(pages[0].source)

    def run() -> None:
        for i, page in enumerate(pages):
            t0, c0 = perf(), cpu()
            try:
                text = fn(page.source)
            except Exception as exc:
                text = ""
                errors[i] = f"{type(exc).__name__}: {str(exc)[:200]}"
            ms[i] = (perf() - t0) * 1000
            cpu_ms[i] = (cpu() - c0) * 1000
            texts[i] = text

    return run, ms, cpu_ms, texts, errors


def linesift_fingerprint() -> str:
    """A short hash of linesift's source files and shipped model cards: the run notes when it
    changes between workers (code or models edited while the benchmark ran)."""
    import hashlib

    from linesift import config

    digest = hashlib.sha256()
    package = Path(config.__file__).resolve().parent
    files = sorted(package.rglob("*.py")) + sorted(config.MODELS_DIR.glob("*/card.json"))
    for path in files:
        digest.update(str(path.relative_to(path.anchor)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _linesift_cv(pages: list[Any]) -> tuple[list[str], dict[str, Any]]:
    """linesift's out-of-fold texts of the WCXB pages, from the training stage's 5-fold
    (grouped by domain) predictions at the shipped model's threshold."""
    import pandas as pd

    from linesift import config

    card = json.loads((config.model_dir("html") / "card.json").read_text("utf-8"))
    threshold = float(card.get("thresholds", {}).get("balanced", card["threshold"]))
    pred_file = config.predictions_file("html")
    from linesift.modeling.stack import select_lines

    pred = pd.read_parquet(pred_file)
    lines = pd.read_parquet(config.LINES_FILE, columns=["page_id", "view", "line_no", "text"])
    pred = pred[(pred["view"] == "html") & (pred["fold"] >= 0)]
    merged = pred.merge(lines[lines["view"] == "html"], on=["page_id", "view", "line_no"])
    unmatched = len(pred) - len(merged)  # > 0: lines.parquet and predictions out of step
    # the lines the model keeps: its threshold, and its empty-page rule where recorded
    fallback = merged["fallback"].to_numpy(dtype=bool) if "fallback" in merged else None
    page = pd.factorize(merged["page_id"])[0]
    merged = merged[select_lines(merged["prob"].to_numpy(), threshold, page, fallback)]
    merged = merged.sort_values(["page_id", "line_no"])
    by_page = merged.groupby("page_id", sort=False)["text"].agg("\n".join).to_dict()
    covered = set(pred["page_id"])
    texts = [by_page.get(p.id, "") for p in pages]
    info = {
        "threshold": threshold,
        "model_version": card.get("version"),
        "predictions_file": str(pred_file.relative_to(config.ROOT)),
        "predictions_mtime": dt.datetime.fromtimestamp(pred_file.stat().st_mtime).isoformat(
            timespec="seconds"
        ),
        "pages_without_oof": sum(p.id not in covered for p in pages),
        "unmatched_lines": unmatched,
    }
    return texts, info


def worker(name: str, datasets: Sequence[str], limit: int | None, out: Path) -> None:
    """Run one extractor over the pages and write its raw per-page results to ``out``."""
    for var, value in THREAD_ENV.items():  # before numpy/BLAS are imported
        os.environ.setdefault(var, value)
    from linesift.scoring import word_prf

    t0 = time.perf_counter()
    pages = load_pages(datasets, limit)
    load_s = time.perf_counter() - t0
    rss_loaded = _rss_mb()
    result: dict[str, Any] = {
        "name": name,
        "linesift_fingerprint": linesift_fingerprint(),
        "linesift_root": os.environ.get("LINESIFT_ROOT", ""),
        "n_pages": len(pages),
        "load_pages_s": load_s,
        "rss_after_load_mb": rss_loaded,
    }
    if name == "linesift-cv":
        pages = [p for p in pages if p.dataset == "wcxb"]
        texts, info = _linesift_cv(pages)
        errors: list[str | None] = [None] * len(pages)
        ms: list[float | None] = [None] * len(pages)
        cpu_ms: list[float | None] = [None] * len(pages)
        result.update(info)
    else:
        t0 = time.perf_counter()
        run, ms_, cpu_ms_, texts, errors = _timed_calls(name, pages)
        result["setup_s"] = time.perf_counter() - t0
        rss_ready = _rss_mb()
        wall0, cpu0 = time.perf_counter(), time.process_time()
        run()
        result["wall_s"] = time.perf_counter() - wall0
        result["cpu_s"] = time.process_time() - cpu0
        result["rss_ready_mb"] = rss_ready
        result["rss_peak_mb"] = _rss_mb()
        ms, cpu_ms = list(ms_), list(cpu_ms_)
    result["pages"] = [
        {
            "id": p.id,
            "dataset": p.dataset,
            "page_type": p.page_type,
            "ms": t,
            "cpu_ms": c,
            "prf": word_prf(text, p.gold or ""),
            "error": err,
            "chars": len(text),
        }
        for p, t, c, text, err in zip(pages, ms, cpu_ms, texts, errors, strict=True)
    ]
    out.write_text(json.dumps(result), "utf-8")


# ====================================================================== driver


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation."""
    xs = sorted(values)
    if not xs:
        return float("nan")
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def accuracy(pages: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean per-page P/R/F1 overall (WCXB), per WCXB page type and on readability pages."""
    out: dict[str, Any] = {}
    for dataset in ("wcxb", "readability"):
        rows = [p for p in pages if p["dataset"] == dataset]
        if not rows:
            continue
        out[dataset] = {
            "n": len(rows),
            "precision": _mean([p["prf"][0] for p in rows]),
            "recall": _mean([p["prf"][1] for p in rows]),
            "f1": _mean([p["prf"][2] for p in rows]),
            "errors": sum(p["error"] is not None for p in rows),
            "empty_output": sum(p["chars"] == 0 for p in rows),
        }
        if dataset == "wcxb":
            types = sorted({p["page_type"] for p in rows})
            out[dataset]["f1_by_page_type"] = {
                t: {
                    "n": sum(p["page_type"] == t for p in rows),
                    "f1": _mean([p["prf"][2] for p in rows if p["page_type"] == t]),
                    "precision": _mean([p["prf"][0] for p in rows if p["page_type"] == t]),
                    "recall": _mean([p["prf"][1] for p in rows if p["page_type"] == t]),
                }
                for t in types
            }
    return out


def timing(raw: dict[str, Any]) -> dict[str, float]:
    """Timing figures of one round of one extractor."""
    ms = [p["ms"] for p in raw["pages"]]
    cpu_ms = [p["cpu_ms"] for p in raw["pages"]]
    n = len(ms)
    return {
        "ms_median": statistics.median(ms),
        "ms_p95": percentile(ms, 95),
        "ms_mean": statistics.fmean(ms),
        "cpu_ms_median": statistics.median(cpu_ms),
        "cpu_ms_p95": percentile(cpu_ms, 95),
        "wall_s": raw["wall_s"],
        "cpu_s": raw["cpu_s"],
        # > 1 when the worker waited for a CPU (other jobs on the machine): wall figures of
        # such a round are inflated, CPU figures much less
        "wall_per_cpu": raw["wall_s"] / raw["cpu_s"] if raw["cpu_s"] > 0 else float("nan"),
        "pages_per_s_cpu": n / raw["cpu_s"] if raw["cpu_s"] > 0 else float("inf"),
        "pages_per_s_wall": n / raw["wall_s"] if raw["wall_s"] > 0 else float("inf"),
        "rss_peak_mb": raw["rss_peak_mb"],
        "rss_after_load_mb": raw["rss_after_load_mb"],
        "rss_ready_mb": raw["rss_ready_mb"],
        "rss_extractor_mb": raw["rss_peak_mb"] - raw["rss_after_load_mb"],
        "setup_s": raw["setup_s"],
    }


def snapshot_linesift(dest: Path) -> Path:
    """Copy linesift's source, shipped models and the training-stage outputs the CV row
    reads into ``dest`` (raw data linked), so that every worker of the run uses the same
    linesift even if the checkout is edited or retrained meanwhile. Returns the root to
    pass as ``LINESIFT_ROOT`` (with ``dest/src`` on ``PYTHONPATH``)."""
    from linesift import config

    package = Path(config.__file__).resolve().parent
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(package, dest / "src" / package.name, ignore=ignore)
    if config.MODELS_DIR.exists():
        shutil.copytree(config.MODELS_DIR, dest / "models")
    (dest / "data").mkdir()
    (dest / "data" / "raw").symlink_to(config.RAW_DIR.resolve(), target_is_directory=True)
    for path in (config.LINES_FILE, config.predictions_file("html"), config.PARAMS_FILE):
        if path.exists():
            target = dest / path.relative_to(config.ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    return dest


def run_worker(name: str, args: argparse.Namespace, cpu: int | None) -> dict[str, Any]:
    """Run one extractor in a fresh subprocess; raise RuntimeError with its stderr tail."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            name,
            "--datasets",
            ",".join(args.datasets),
            "--out",
            str(out),
        ]
        if args.limit is not None:
            cmd += ["--limit", str(args.limit)]
        env = {**os.environ, **THREAD_ENV, "PYTHONHASHSEED": "0"}
        if args.snapshot is not None:
            path = [str(args.snapshot / "src"), env.get("PYTHONPATH", "")]
            env["PYTHONPATH"] = os.pathsep.join(p for p in path if p)
            env["LINESIFT_ROOT"] = str(args.snapshot)
        preexec = (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None
        proc = subprocess.run(
            cmd,
            env=env,
            capture_output=True,
            text=True,
            timeout=args.timeout,
            preexec_fn=preexec,
            check=False,
        )
        if proc.returncode != 0 or not out.exists():
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"exit {proc.returncode}: {last}")
        return json.loads(out.read_text("utf-8"))


def available(name: str) -> str | None:
    """None when extractor ``name`` can run here, else why not."""
    module, _ = REQUIRES[name]
    if find_spec(module) is None:
        return f"{module} not installed (pip install -e '.[bench]')"
    if name in LINESIFT:
        card = ROOT / "models" / "html" / "card.json"
        if not card.exists():
            return f"no shipped model ({card.relative_to(ROOT)} missing)"
        if find_spec("linesift.modeling.predict") is None:
            return "linesift.modeling.predict not importable"
    return None


def _version(name: str) -> str:
    try:
        return metadata.version(REQUIRES[name][1])
    except metadata.PackageNotFoundError:
        return "?"


def _fmt(x: float | None, spec: str = ".3f") -> str:
    return "–" if x is None else format(x, spec)


def markdown_table(summary: dict[str, dict[str, Any]], page_types: list[str]) -> str:
    """The results table: accuracy, speed (with ratio to trafilatura) and memory."""
    base = summary.get(BASELINE, {}).get("timing", {}).get("pages_per_s_cpu")
    head = [
        "extractor",
        "WCXB F1",
        "P",
        "R",
        *page_types,
        "readability F1",
        "ms/page median",
        "ms/page p95",
        "CPU ms/page median",
        "pages/s/core",
        f"speed × {BASELINE}",
        "peak RSS MB",
        "RSS over pages MB",
        "errors",
    ]
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|",
    ]
    for s in summary.values():
        acc = s["accuracy"]
        w, r = acc.get("wcxb", {}), acc.get("readability", {})
        by_type = w.get("f1_by_page_type", {})
        t = s.get("timing") or {}
        pps = t.get("pages_per_s_cpu")
        ratio = f"{pps / base:.2f}×" if pps and base else "–"
        errors = sum(acc[d]["errors"] for d in acc)
        row = (
            [s["label"], _fmt(w.get("f1")), _fmt(w.get("precision")), _fmt(w.get("recall"))]
            + [_fmt(by_type.get(pt, {}).get("f1")) for pt in page_types]
            + [
                _fmt(r.get("f1")),
                _fmt(t.get("ms_median"), ".1f"),
                _fmt(t.get("ms_p95"), ".1f"),
                _fmt(t.get("cpu_ms_median"), ".1f"),
                _fmt(pps, ".1f"),
                ratio,
                _fmt(t.get("rss_peak_mb"), ".0f"),
                _fmt(t.get("rss_extractor_mb"), ".0f"),
                str(errors) if t else "–",
            ]
        )
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="pages per dataset")
    parser.add_argument("--repeat", type=int, default=1, help="timing rounds (median)")
    parser.add_argument(
        "--peers",
        default=",".join(PEERS),
        help=f"comma list of peers (of {', '.join(PEERS)}), or 'none'",
    )
    parser.add_argument("--datasets", default="wcxb,readability")
    parser.add_argument("--no-linesift", action="store_true", help="peers only")
    parser.add_argument("--no-cv", action="store_true", help="skip linesift's out-of-fold WCXB row")
    parser.add_argument(
        "--cpu", type=int, default=None, help="pin every worker to this CPU (default: not pinned)"
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per worker")
    parser.add_argument(
        "--no-snapshot",
        action="store_true",
        help="run the live checkout of linesift (default: a copy taken at the start)",
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=None,
        help="where results.md/json go (default: bench/ for a full run, no --limit and both "
        "datasets; bench/partial/ otherwise, so a quick run never replaces the full table)",
    )
    parser.add_argument(
        "--per-page",
        type=Path,
        default=None,
        help="also write per-page F1 and ms of every extractor (JSON lines)",
    )
    parser.add_argument(
        "--peer-scores",
        type=Path,
        default=None,
        help="where a full run (no --limit, both datasets) writes the peers' per-page scores "
        "(default: linesift.config.PEER_SCORES_FILE)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.datasets = [d for d in args.datasets.split(",") if d]
    if unknown := set(args.datasets) - {"wcxb", "readability"}:
        parser.error(f"unknown datasets: {sorted(unknown)}")

    if args.worker:
        worker(args.worker, args.datasets, args.limit, args.out)
        return
    with tempfile.TemporaryDirectory(prefix="linesift-bench-") as tmp:
        args.snapshot = None if args.no_snapshot else snapshot_linesift(Path(tmp) / "root")
        _drive(args, parser, argv)


def _drive(
    args: argparse.Namespace, parser: argparse.ArgumentParser, argv: list[str] | None
) -> None:
    """Run every extractor's rounds, then write the table and the JSON."""
    peers = [] if args.peers == "none" else [p for p in args.peers.split(",") if p]
    if unknown := set(peers) - set(PEERS):
        parser.error(f"unknown peers: {sorted(unknown)}; known: {', '.join(PEERS)}")
    candidates = ([] if args.no_linesift else list(LINESIFT)) + peers
    skipped: dict[str, str] = {}
    names = []
    for name in candidates:
        if reason := available(name):
            skipped[name] = reason
            print(f"skip {name}: {reason}", file=sys.stderr)
        else:
            names.append(name)

    started = dt.datetime.now().astimezone()
    load_start = os.getloadavg()
    raw: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    stopped: dict[str, str] = {}  # failed after at least one good round: those rounds count
    for round_no in range(args.repeat):
        shift = round_no % max(len(names), 1)
        order = names[shift:] + names[:shift]  # rotate so no extractor always goes first
        for name in order:
            if name in skipped or name in stopped:
                continue
            t0 = time.perf_counter()
            try:
                res = run_worker(name, args, args.cpu)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                reason = f"failed in round {round_no + 1}: {exc}"
                (stopped if raw[name] else skipped)[name] = reason
                print(f"{name}: {reason}", file=sys.stderr)
                continue
            raw[name].append(res)
            print(
                f"round {round_no + 1}/{args.repeat} {name:17s} "
                f"{res['n_pages']} pages, {res['wall_s']:.1f}s wall, {res['cpu_s']:.1f}s cpu "
                f"({time.perf_counter() - t0:.0f}s incl. loading)",
                file=sys.stderr,
            )

    summary: dict[str, dict[str, Any]] = {}
    for name in names:
        if name in skipped or not raw[name]:
            continue
        rounds = raw[name]
        first = rounds[0]
        f1s = [[p["prf"] for p in r["pages"]] for r in rounds]
        per_round = [timing(r) for r in rounds]
        summary[name] = {
            "label": LABELS.get(name, name),
            "version": _version(name),
            "accuracy": accuracy(first["pages"]),
            "deterministic": all(f == f1s[0] for f in f1s),
            "timing": {k: statistics.median(t[k] for t in per_round) for k in per_round[0]},
            "timing_rounds": per_round,
            "linesift_fingerprints": sorted({r["linesift_fingerprint"] for r in rounds}),
            "error_examples": sorted({p["error"] for p in first["pages"] if p["error"]})[:5],
        }

    if (
        "wcxb" in args.datasets
        and not args.no_cv
        and not args.no_linesift
        and "linesift" in summary
    ):
        try:
            cv = run_worker("linesift-cv", args, args.cpu)
            summary["linesift-cv"] = {
                "label": "linesift, 5-fold CV (out-of-fold)",
                "version": _version("linesift"),
                "accuracy": accuracy(cv["pages"]),
                "timing": None,
                "source": {
                    k: cv[k]
                    for k in (
                        "threshold",
                        "model_version",
                        "predictions_file",
                        "predictions_mtime",
                        "pages_without_oof",
                        "unmatched_lines",
                    )
                },
            }
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            skipped["linesift-cv"] = str(exc)

    page_types = [
        t
        for t in PAGE_TYPES
        if any(
            t in s["accuracy"].get("wcxb", {}).get("f1_by_page_type", {}) for s in summary.values()
        )
    ]
    table = markdown_table(summary, page_types)
    n_pages = {
        d: next((s["accuracy"][d]["n"] for s in summary.values() if d in s["accuracy"]), 0)
        for d in args.datasets
    }
    command = "python bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    machine = {
        "cores": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "loadavg_start": load_start,
        "loadavg_end": os.getloadavg(),
    }
    notes = [
        f"Pages: {', '.join(f'{d} {n}' for d, n in n_pages.items())}. "
        "F1/P/R: mean per-page WCXB word-level scores (page-type columns and WCXB F1 on "
        "WCXB pages; readability F1 on the Mozilla readability test pages).",
        "Timing over all pages, one process per extractor, sequential calls, BLAS/OpenMP "
        f"at 1 thread; median over {args.repeat} round(s). ms/page = wall time of the call "
        f"(linesift batch: batch time / {BATCH_SIZE}, so its p95 is of batch means); "
        "CPU ms/page = CPU time of the call; pages/s/core = pages / CPU time; "
        f"speed × {BASELINE} = ratio of pages/s/core. Peak RSS = the worker's ru_maxrss, "
        "including the pages held in memory "
        f"(~{statistics.median(r[0]['rss_after_load_mb'] for r in raw.values() if r):.0f} MB "
        "after loading, before the extractor is imported); RSS over pages = peak RSS minus "
        "that."
        if raw
        else "",
    ]
    if "linesift" in summary:
        notes.append(
            "The shipped linesift model was trained on all WCXB pages, so its WCXB figures "
            "are in-sample; the 'linesift, 5-fold CV' row gives out-of-fold WCXB figures "
            "(domain-grouped folds, from the training stage's predictions, same threshold). "
            "The readability pages are held out from training."
        )
    cv_source = summary.get("linesift-cv", {}).get("source", {})
    if cv_source.get("unmatched_lines") or cv_source.get("pages_without_oof"):
        notes.append(
            f"linesift CV row: {cv_source['unmatched_lines']} predicted lines had no text in "
            f"lines.parquet and {cv_source['pages_without_oof']} pages no out-of-fold "
            "prediction (training-stage outputs out of step): that row is not reliable."
        )
    for name, s in summary.items():
        if s.get("timing") is not None and not s["deterministic"]:
            notes.append(f"{name}: output differed between rounds (F1 from round 1).")
    contended = [
        f"{name} round {i + 1} ({t['wall_per_cpu']:.1f})"
        for name, s in summary.items()
        for i, t in enumerate(s.get("timing_rounds") or [])
        if t["wall_per_cpu"] > CONTENDED
    ]
    if contended:
        notes.append(
            "Rounds where wall time exceeded CPU time by more than "
            f"{(CONTENDED - 1) * 100:.0f}% (other jobs competed for the cores; their wall "
            "figures are inflated, prefer the CPU columns): " + ", ".join(contended) + "."
        )
    fingerprints = {f for r in raw.values() for x in r for f in [x["linesift_fingerprint"]]}
    if len(fingerprints) > 1:
        notes.append(
            "linesift's source or model cards changed while the benchmark ran "
            f"({len(fingerprints)} versions seen): its rows may mix versions."
        )
    for name, reason in stopped.items():
        notes.append(f"{name}: timing from {len(raw[name])} of {args.repeat} rounds; {reason}")
    for name, reason in skipped.items():
        notes.append(f"Skipped {name}: {reason}")
    body = (
        f"# linesift benchmark\n\n{started:%Y-%m-%d %H:%M %Z}, {machine['cores']} cores "
        f"({machine['cpu_model']}), load average at start "
        f"{', '.join(f'{x:.2f}' for x in load_start)}.\n\n`{command}`\n\n{table}\n\n"
        + "\n".join(f"- {n}" for n in notes if n)
        + "\n"
    )
    print(body)
    if args.out_dir is None:
        full_run = args.limit is None and set(args.datasets) == {"wcxb", "readability"}
        args.out_dir = BENCH_DIR if full_run else BENCH_DIR / "partial"
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "results.md").write_text(body, "utf-8")
    results = {
        "date": started.isoformat(timespec="seconds"),
        "command": command,
        "machine": machine,
        "settings": {
            "datasets": args.datasets,
            "limit": args.limit,
            "repeat": args.repeat,
            "batch_size": BATCH_SIZE,
            "thread_env": THREAD_ENV,
            "cpu": args.cpu,
            "baseline": BASELINE,
            "linesift_snapshot": args.snapshot is not None,
        },
        "pages": n_pages,
        "extractors": summary,
        "skipped": skipped,
        "incomplete": stopped,
    }
    (args.out_dir / "results.json").write_text(json.dumps(results, indent=1), "utf-8")
    if args.per_page:
        with open(args.per_page, "w", encoding="utf-8") as fh:
            for name, rounds in raw.items():
                for p in rounds[0]["pages"] if rounds else []:
                    fh.write(json.dumps({"extractor": name, **p}) + "\n")
    if args.limit is None and set(args.datasets) == {"wcxb", "readability"}:
        records = [
            {"extractor": name, **p}
            for name, rounds in raw.items()
            if name in PEERS and rounds
            for p in rounds[0]["pages"]
        ]
        if records:
            from linesift import config

            path = args.peer_scores or config.PEER_SCORES_FILE
            n = write_peer_scores(records, path)
            print(f"peer per-page scores ({n} rows) -> {path}", file=sys.stderr)


def write_peer_scores(records: Sequence[dict[str, Any]], path: Path) -> int:
    """Write the peers' per-page word P/R/F1 (the ``--per-page`` records) as a gzipped CSV,
    atomically; the evaluate stage of every training run plots its F1 per page type beside
    theirs on the same pages. Peers not in ``records`` keep their rows from the file (a run
    with ``--peers trafilatura`` replaced every other peer's scores before). Returns the
    number of rows."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "extractor": r["extractor"],
            "page_id": r["id"],
            "dataset": r["dataset"],
            "page_type": r["page_type"],
            "precision": r["prf"][0] if r.get("prf") else None,
            "recall": r["prf"][1] if r.get("prf") else None,
            "f1": r["prf"][2] if r.get("prf") else None,
            "error": r.get("error"),
        }
        for r in records
    )
    if Path(path).exists():
        kept = pd.read_csv(path)
        kept = kept[~kept["extractor"].isin(set(frame["extractor"]))]
        frame = pd.concat([kept, frame], ignore_index=True)
    from linesift.atomic import atomic_path

    with atomic_path(path) as tmp:
        # mtime=0: the same scores give the same bytes (no churn in git)
        frame.to_csv(
            tmp, index=False, float_format="%.4f", compression={"method": "gzip", "mtime": 0}
        )
    return len(frame)


if __name__ == "__main__":
    main()
