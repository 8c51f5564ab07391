"""A/B CPU time of two linesift source trees, per stage, interleaved in one run.

    OMP_NUM_THREADS=1 python bench/ab.py OLD_SRC NEW_SRC [--pages 300] [--rounds 5]

Each round runs one worker process per tree, alternating which goes first; a worker loads
the shipped models, warms up on 16 other pages, then extracts the same pages the way
``Extractor._run_batch`` does (batches of 64) and reports ``time.process_time`` per stage
(segment, featurize, predict = first stage + stack features + second stage) and for
``Extractor.extract_many`` as a whole. Pages: the first ``--pages`` WCXB pages.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

BATCH = 64


def worker(n_pages: int) -> None:
    from linesift.dataset import load_wcxb
    from linesift.features import featurize, lines_frame
    from linesift.modeling.predict import Extractor
    from linesift.modeling.stack import CONTEXT_COLUMNS, stack_features

    pages = list(load_wcxb(limit=n_pages + 16))
    warm, pages = pages[n_pages:], pages[:n_pages]
    ext = Extractor()
    model = ext.model("html")
    list(ext.extract_many(warm))
    clock = time.process_time
    t = dict.fromkeys(("segment", "featurize", "predict1", "stack", "predict2"), 0.0)
    for start in range(0, len(pages), BATCH):
        batch = pages[start : start + BATCH]
        t0 = clock()
        segs = [ext._segment(p) for p in batch]
        t1 = clock()
        frame = lines_frame([s for s in segs if len(s)])
        X = featurize(frame, "html")
        t2 = clock()
        prob = model.estimator.predict_proba(X[model.features])[:, 1]
        t3 = clock()
        stacked = stack_features(
            "html",
            prob,
            frame["page"].to_numpy(),
            X,
            frame[list(CONTEXT_COLUMNS["html"])],
            model.card["stack"]["base_features"],
        )
        t4 = clock()
        model.stack_estimator.predict_proba(stacked)
        t5 = clock()
        for key, dt in zip(t, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
            t[key] += dt
    t0 = clock()
    results = list(ext.extract_many(pages))
    t["extract_many"] = clock() - t0
    assert not any(r.error for r in results)
    print(json.dumps({k: 1000 * v / len(pages) for k, v in t.items()}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--pages", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    runs: dict[str, list[dict]] = {"old": [], "new": []}
    for r in range(args.rounds):
        order = ("old", "new") if r % 2 == 0 else ("new", "old")
        for name in order:
            src = getattr(args, name)
            out = subprocess.run(
                [sys.executable, __file__, "--worker", str(args.pages)],
                env=dict(env, PYTHONPATH=src),
                capture_output=True,
                text=True,
                check=True,
            )
            runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(
                f"round {r} {name}: " + " ".join(f"{k}={v:.2f}" for k, v in runs[name][-1].items()),
                flush=True,
            )
    print(f"\nmedian CPU ms/page over {args.rounds} rounds, {args.pages} WCXB pages")
    print(f"{'stage':<14}{'old':>9}{'new':>9}{'new/old':>9}{'speedup':>9}")
    keys = list(runs["old"][0])
    rows = [*keys, "predict", "sum of stages"]
    for key in rows:

        def value(run: dict, key: str = key) -> float:
            if key == "predict":
                return run["predict1"] + run["stack"] + run["predict2"]
            if key == "sum of stages":
                return sum(v for k, v in run.items() if k != "extract_many")
            return run[key]

        old = statistics.median(value(x) for x in runs["old"])
        new = statistics.median(value(x) for x in runs["new"])
        print(f"{key:<14}{old:>9.2f}{new:>9.2f}{new / old:>9.3f}{old / new:>8.2f}x")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        worker(int(sys.argv[2]))
    else:
        main()
