"""Time the shipped models' tree prediction: scikit-learn's ``predict_proba`` against
linesift's row-wise prediction (linesift.modeling.tree_predict), on the same feature rows.

    python bench/tree_predict.py --pages 640 --repeat 3

Pages are segmented and featurized as ``linesift extract`` does (batches of 64 pages); then
each batch's first and second stage are predicted both ways, alternating which goes first,
one thread (OMP_NUM_THREADS=1 is set before numpy loads). Prints CPU ms per page (median
over the rounds) for each stage and way, their ratio, and whether every probability agrees.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import statistics
import time

import numpy as np

from linesift import config
from linesift.dataset import load_wcxb
from linesift.features import featurize, lines_frame
from linesift.modeling.predict import Extractor
from linesift.modeling.stack import CONTEXT_COLUMNS, predicted_page_types, stack_features
from linesift.modeling.tree_predict import content_probability
from linesift.segment import segment

BATCH = 64


def _batches(n_pages: int) -> list[tuple]:
    pages = list(load_wcxb(config.WCXB_DIR, limit=n_pages))
    out = []
    for start in range(0, len(pages), BATCH):
        segmented = [segment(p.source, p.format) for p in pages[start : start + BATCH]]
        frame = lines_frame([s for s in segmented if len(s)])
        out.append((featurize(frame, "html"), frame))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=640, help="WCXB pages (default 640)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (default 3)")
    args = parser.parse_args(argv)
    model = Extractor().model("html")
    base = model.card["stack"]["base_features"]
    batches = _batches(args.pages)
    n_pages = sum(int(frame["page"].nunique()) for _, frame in batches)
    n_lines = sum(len(frame) for _, frame in batches)

    def stage1(X, way):
        rows = X[model.features]
        if way == "sklearn":
            return model.estimator.predict_proba(rows)[:, 1]
        return content_probability(model.estimator, rows)

    def stage2(stacked, way):
        if way == "sklearn":
            return model.stack_estimator.predict_proba(stacked)[:, 1]
        return content_probability(model.stack_estimator, stacked)

    stacked = []
    agree = True
    for X, frame in batches:  # warm-up: compile, first-call check, equality over every row
        p = stage1(X, "sklearn")
        agree &= bool(np.array_equal(p, stage1(X, "rowwise")))
        context = frame[list(CONTEXT_COLUMNS["html"])]
        page = frame["page"].to_numpy()
        s = stack_features(
            "html", p, page, X, context, base, *predicted_page_types(model, X, context, page)
        )
        stacked.append(s)
        agree &= bool(np.array_equal(stage2(s, "sklearn"), stage2(s, "rowwise")))

    times: dict[tuple[str, str], list[float]] = {}
    for round_no in range(args.repeat):
        ways = ("sklearn", "rowwise") if round_no % 2 == 0 else ("rowwise", "sklearn")
        for way in ways:
            for stage, fn, inputs in (
                ("stage 1", stage1, [X for X, _ in batches]),
                ("stage 2", stage2, stacked),
            ):
                started = time.process_time()
                for rows in inputs:
                    fn(rows, way)
                elapsed = time.process_time() - started
                times.setdefault((stage, way), []).append(elapsed * 1000 / n_pages)

    print(f"{n_pages} WCXB pages, {n_lines} lines, {args.repeat} rounds, CPU ms/page (median)")
    print("| stage | scikit-learn | row-wise | speed-up |")
    print("|---|---:|---:|---:|")
    for stage in ("stage 1", "stage 2"):
        slow = statistics.median(times[(stage, "sklearn")])
        fast = statistics.median(times[(stage, "rowwise")])
        print(f"| {stage} | {slow:.2f} | {fast:.2f} | {slow / fast:.2f}x |")
    print(f"probabilities identical on every line: {agree}")
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
