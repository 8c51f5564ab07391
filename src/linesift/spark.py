"""linesift on Spark: the extractor as a DataFrame transformation, and a WARC job.

* ``extract_frame(df)``: a DataFrame of (id, html) -> (id, text, error), by ``mapInPandas``.
* ``extract_warcs(spark, paths)``: WARC/ARC paths or URIs -> one row per HTML 200 page
  (warc, record_id, url, date, text, error), one WARC per task; a WARC that cannot be read is
  logged and counted, never fatal. Counters are Spark accumulators (``WarcCounters``).
* ``python -m linesift.spark --input 'warcs/*.warc.gz' --output out/``: that job, writing
  Parquet; runs as is (local mode) or through ``spark-submit``. ``--input`` also takes a
  manifest: a text file of WARC paths/URIs, one per line (Common Crawl's ``warc.paths``),
  relative ones joined to ``--input-base-url``.

The model is loaded once per executor Python worker process (module-level cache) and reused
by every task that worker runs. Executors need linesift installed (``pip install
linesift[spark]``) and the model directory readable (``--model``; the shipped models by
default).

Exit codes of the job: 0 all WARCs and pages done, 1 some failed (counted, rest written),
2 usage error.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

from .warc import MAX_PAGE_BYTES, WarcError, is_warc_path, iter_warc_pages

if TYPE_CHECKING:
    import pandas as pd
    from pyspark import Accumulator, SparkContext
    from pyspark.sql import DataFrame, SparkSession

    from .modeling.predict import Extractor


PAGE_SCHEMA = "id string, text string, error string"
WARC_SCHEMA = "warc string, record_id string, url string, date string, text string, error string"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# ---------------------------------------------------------------- executor side

_EXTRACTORS: dict[tuple, Extractor] = {}


def get_extractor(model: str | None = None, **options: Any) -> tuple[Extractor, bool]:
    """This process's extractor for ``model`` and ``options`` (``threshold``, ``favor``,
    ``max_lines``, ``page_timeout``), loading the html model on first use; also whether this
    call loaded it."""
    key = (model, *sorted(options.items()))
    if key in _EXTRACTORS:
        return _EXTRACTORS[key], False
    from .modeling.predict import Extractor

    extractor = Extractor(model, **options)
    extractor.model("html")
    _EXTRACTORS[key] = extractor
    return extractor, True


def _batched(items: Iterable, size: int) -> Iterator[list]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def _extract_pandas(
    frames: Iterator[pd.DataFrame], model: str | None, options: dict, batch_size: int
) -> Iterator[pd.DataFrame]:
    """mapInPandas body: (id, html) frames -> (id, text, error) frames."""
    import pandas as pd

    from .dataset import Page

    extractor, _ = get_extractor(model, **options)
    for frame in frames:
        ids = ["" if i is None else str(i) for i in frame["id"].tolist()]
        htmls = frame["html"].tolist()
        texts: list[str | None] = [None] * len(ids)
        errors: list[str | None] = [None] * len(ids)
        todo = []
        for row, html in enumerate(htmls):
            if isinstance(html, bytes):
                from .dataset import decode_bytes

                html = decode_bytes(html)
            if isinstance(html, str):
                todo.append((row, Page(id=ids[row], source=html, format="html")))
            else:
                errors[row] = "no html"
        for batch in _batched(todo, batch_size):
            try:
                results = list(extractor.extract_many([p for _, p in batch]))
            except Exception as exc:  # never lose a whole batch: one page at a time
                results = [_extract_one(extractor, p, exc) for _, p in batch]
            for (row, _), result in zip(batch, results, strict=True):
                texts[row] = None if result.error else result.text
                errors[row] = result.error
        yield pd.DataFrame({"id": ids, "text": texts, "error": errors}, dtype=object)


def _extract_one(extractor: Extractor, page: Any, batch_error: Exception) -> Any:
    from .modeling.predict import Extraction

    try:
        return next(iter(extractor.extract_many([page])))
    except Exception as exc:
        return Extraction(id=page.id, text="", error=f"{type(exc).__name__}: {exc}")


@dataclass
class WarcCounters:
    """Spark accumulators of a WARC job (read them after an action has run)."""

    warcs_done: Accumulator
    warcs_failed: Accumulator
    pages: Accumulator
    pages_failed: Accumulator
    model_loads: Accumulator

    @classmethod
    def create(cls, sc: SparkContext) -> WarcCounters:
        return cls(*(sc.accumulator(0) for _ in range(5)))

    def values(self) -> dict[str, int]:
        return {name: getattr(self, name).value for name in self.__dataclass_fields__}


def _process_warcs(
    uris: Iterable[str],
    model: str | None,
    options: dict,
    max_bytes: int,
    batch_size: int,
    counters: WarcCounters,
) -> Iterator[tuple]:
    """mapPartitions body: WARC URIs -> page rows. A damaged WARC keeps the pages read before
    the damage and counts as failed; the task goes on with the next WARC."""
    extractor, loaded = get_extractor(model, **options)
    if loaded:
        counters.model_loads.add(1)
    for uri in uris:
        started, n_pages = time.time(), 0
        failure: list[BaseException] = []
        try:
            for batch in _batched(_pages_until_error(uri, max_bytes, failure), batch_size):
                try:
                    results = list(extractor.extract_many([wp.page() for wp in batch]))
                except Exception as exc:
                    results = [_extract_one(extractor, wp.page(), exc) for wp in batch]
                for wp, result in zip(batch, results, strict=True):
                    n_pages += 1
                    counters.pages.add(1)
                    if result.error:
                        counters.pages_failed.add(1)
                    text = None if result.error else result.text
                    yield (uri, wp.record_id, wp.url, wp.date, text, result.error)
        except Exception as exc:  # anything else: log, count, go on with the next WARC
            failure.append(exc)
        if failure:
            counters.warcs_failed.add(1)
            exc = failure[0]
            reason = exc if isinstance(exc, WarcError) else f"{uri}: {type(exc).__name__}: {exc}"
            print(f"linesift.spark: failed WARC after {n_pages} pages: {reason}", file=sys.stderr)
            continue
        counters.warcs_done.add(1)
        print(
            f"linesift.spark: {uri}: {n_pages} pages in {time.time() - started:.1f} s",
            file=sys.stderr,
        )


def _pages_until_error(uri: str, max_bytes: int, failure: list) -> Iterator[Any]:
    """The pages of one WARC; a read error ends them and goes to ``failure``, so the pages
    before the damage are still extracted."""
    try:
        yield from iter_warc_pages(uri, max_bytes=max_bytes)
    except Exception as exc:
        failure.append(exc)


# ---------------------------------------------------------------- driver side


def _options(threshold: float | None, favor: str, **extra: Any) -> dict:
    options: dict[str, Any] = {"favor": favor}
    if threshold is not None:
        options["threshold"] = threshold
    options.update({k: v for k, v in extra.items() if v is not None})
    return options


def extract_frame(
    df: DataFrame,
    *,
    id_col: str = "id",
    html_col: str = "html",
    model: str | None = None,
    threshold: float | None = None,
    favor: str = "balanced",
    batch_size: int = 64,
) -> DataFrame:
    """(id, html) rows -> (id string, text string, error string) rows, one per input row, by
    ``mapInPandas``. ``html`` may be string or binary (decoded like a page file); a page that
    fails has ``text`` null and ``error`` set."""
    from pyspark.sql import functions as F

    options = _options(threshold, favor)

    def run(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        return _extract_pandas(frames, model, options, batch_size)

    pairs = df.select(F.col(id_col).cast("string").alias("id"), F.col(html_col).alias("html"))
    return pairs.mapInPandas(run, PAGE_SCHEMA)


def extract_warcs(
    spark: SparkSession,
    uris: list[str],
    *,
    model: str | None = None,
    threshold: float | None = None,
    favor: str = "balanced",
    max_bytes: int = MAX_PAGE_BYTES,
    batch_size: int = 64,
) -> tuple[DataFrame, WarcCounters]:
    """WARC/ARC paths or URIs -> a DataFrame of their HTML pages (``WARC_SCHEMA``), one WARC
    per task, and the job's counters (filled in once an action on the DataFrame has run)."""
    sc = spark.sparkContext
    counters = WarcCounters.create(sc)
    options = _options(threshold, favor)

    def run(part: Iterable[str]) -> Iterator[tuple]:
        return _process_warcs(part, model, options, max_bytes, batch_size, counters)

    rdd = sc.parallelize(uris, max(1, len(uris))).mapPartitions(run)
    return spark.createDataFrame(rdd, WARC_SCHEMA), counters


def resolve_input(spec: str, base_url: str = "") -> list[str]:
    """``--input``: a glob or a path/URI of one WARC, or a manifest (a text file of WARC
    paths/URIs, one per line; blank lines and ``#`` comments ignored). Manifest entries
    without a scheme are joined to ``base_url`` when it is given."""
    from .warc import open_uri

    if is_warc_path(spec):
        if "://" in spec and not spec.startswith("file://"):
            return [spec]
        matches = sorted(glob.glob(spec)) if glob.has_magic(spec) else [spec]
        if not matches:
            raise FileNotFoundError(f"{spec}: no WARC file matches")
        return [os.path.abspath(m) if "://" not in m else m for m in matches]
    matches = sorted(glob.glob(spec)) if glob.has_magic(spec) else [spec]
    uris: list[str] = []
    for manifest in matches:
        try:
            with open_uri(manifest) as fh:
                raw = fh.read()
        except (OSError, WarcError) as exc:
            raise FileNotFoundError(f"{manifest}: cannot read the manifest: {exc}") from exc
        if manifest.endswith(".gz"):
            import gzip

            raw = gzip.decompress(raw)
        for line in raw.decode("utf-8").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if base_url and "://" not in line and not os.path.isabs(line):
                line = base_url.rstrip("/") + "/" + line.lstrip("/")
            uris.append(line)
    if not uris:
        raise FileNotFoundError(f"{spec}: no WARC paths in the manifest")
    return uris


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m linesift.spark",
        description="Extract the main text of the HTML pages of WARC/ARC files with Spark; "
        "write Parquet (warc, record_id, url, date, text, error).",
    )
    parser.add_argument(
        "--input",
        required=True,
        help="WARC glob ('warcs/*.warc.gz'), one WARC path/URI, or a manifest: a text file "
        "(optionally .gz) of WARC paths/URIs, one per line; one WARC per task",
    )
    parser.add_argument("--output", required=True, help="output directory (Parquet)")
    parser.add_argument(
        "--input-base-url",
        default="",
        help="prefix for relative manifest entries (e.g. s3://commoncrawl/ or "
        "https://data.commoncrawl.org/)",
    )
    parser.add_argument("--model", help="html model directory (readable on every executor)")
    parser.add_argument("--threshold", type=float, help="content probability threshold")
    parser.add_argument("--favor", choices=("balanced", "precision", "recall"), default="balanced")
    parser.add_argument(
        "--max-bytes", type=int, default=MAX_PAGE_BYTES, help="skip larger pages (default 10 MB)"
    )
    parser.add_argument(
        "--num-output-partitions", type=int, default=0, help="coalesce the output (0: one per WARC)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    parser.add_argument(
        "--master", help="Spark master when not run by spark-submit (default local[*])"
    )
    return parser


def run(spark: SparkSession, args: argparse.Namespace) -> dict[str, int]:
    """The job: resolve ``--input``, extract, write Parquet; returns the counters."""
    uris = resolve_input(args.input, args.input_base_url)
    df, counters = extract_warcs(
        spark,
        uris,
        model=args.model,
        threshold=args.threshold,
        favor=args.favor,
        max_bytes=args.max_bytes,
    )
    if args.num_output_partitions > 0:
        df = df.coalesce(args.num_output_partitions)
    df.write.mode("overwrite" if args.overwrite else "errorifexists").parquet(args.output)
    return {"warcs": len(uris), **counters.values()}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.threshold is not None and not 0 <= args.threshold <= 1:
        print("linesift.spark: error: --threshold must be between 0 and 1", file=sys.stderr)
        return EXIT_USAGE
    # executors' Python must be one with linesift + pyarrow installed: by default this one
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    try:
        from pyspark.errors import AnalysisException
        from pyspark.sql import SparkSession
    except ImportError:
        print(
            "linesift.spark: error: needs pyspark: pip install 'linesift[spark]'", file=sys.stderr
        )
        return EXIT_USAGE
    builder = SparkSession.builder.appName("linesift-warc")
    if "PYSPARK_GATEWAY_PORT" not in os.environ:  # not launched by spark-submit
        builder = builder.master(args.master or "local[*]")
    spark = builder.getOrCreate()
    started = time.time()
    try:
        counts = run(spark, args)
    except FileNotFoundError as exc:
        print(f"linesift.spark: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except AnalysisException as exc:  # --output exists (without --overwrite), bad path, ...
        print(f"linesift.spark: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        spark.stop()
    print(
        "linesift.spark: {warcs} WARCs: {warcs_done} done, {warcs_failed} failed; "
        "{pages} pages, {pages_failed} failed; model loaded {model_loads} times; ".format(**counts)
        + f"{time.time() - started:.1f} s -> {args.output}",
        file=sys.stderr,
    )
    return EXIT_FAILED if counts["warcs_failed"] or counts["pages_failed"] else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
