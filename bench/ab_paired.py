"""Paired A/B CPU time of two linesift source trees in one process, batch by batch.

    OMP_NUM_THREADS=1 python bench/ab_paired.py OLD_SRC NEW_SRC [--pages 300] [--rounds 5]

On a shared machine the CPU time of a process drifts with its neighbours; running both
trees on the same batch one right after the other (alternating which goes first) pairs
the measurements. The old tree is imported as package ``linesift_old``. Per batch of 64
WCXB pages and tree: segment, featurize (``lines_frame`` + ``featurize``), first-stage
predict, stack features, second-stage predict (the reference path through DataFrames and
scikit-learn), then ``Extractor.extract_many`` over the batch as one batch (the overall
time: the production path, including the per-line results). ``--overall-only`` times just
that. Reported: the median over rounds of each stage's ms/page, and the median of the
per-round new/old ratios.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import statistics
import sys
import tempfile
import time

# numba caches compiled functions beside their source file, under the importing module's
# name: the old tree's functions cached as ``linesift_old.*`` would later fail to load in a
# plain ``import linesift`` of that tree ("No module named 'linesift_old'"). A fresh cache
# directory keeps this script's compilations to itself.
os.environ.setdefault("NUMBA_CACHE_DIR", tempfile.mkdtemp(prefix="linesift-ab-numba-"))

STAGES = ("segment", "featurize", "predict1", "stack", "predict2", "overall")


def _import_tree(src: str, name: str):
    package = os.path.join(src, "linesift")
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(package, "__init__.py"), submodule_search_locations=[package]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _tree(src: str, name: str) -> dict:
    _import_tree(src, name)
    tree = _load(name)
    # A Cython module also enters itself in sys.modules under its compiled-in name: the old
    # tree's ``linesift_old._cwalk`` is ``linesift._cwalk`` there too, and the new tree would
    # import it instead of its own (and rebind its globals by its ``init``).
    own = sys.modules.get(f"{name}._cwalk")
    if name != "linesift" and own is not None and sys.modules.get("linesift._cwalk") is own:
        del sys.modules["linesift._cwalk"]
    return tree


def _load(name: str) -> dict:
    features = importlib.import_module(f"{name}.features")
    predict = importlib.import_module(f"{name}.modeling.predict")
    stack = importlib.import_module(f"{name}.modeling.stack")
    dataset = importlib.import_module(f"{name}.dataset")
    ext = predict.Extractor()
    return {"ext": ext, "model": ext.model("html"), "F": features, "S": stack, "D": dataset}


def _run(tree: dict, pages: list, t: dict, overall_only: bool = False) -> None:
    clock = time.process_time
    ext, model, F, S = tree["ext"], tree["model"], tree["F"], tree["S"]
    if overall_only:
        t0 = clock()
        list(ext.extract_many(pages, batch_size=len(pages)))
        t["overall"] += clock() - t0
        return
    t0 = clock()
    segs = [ext._segment(p) for p in pages]
    t1 = clock()
    frame = F.lines_frame([s for s in segs if len(s)])
    X = F.featurize(frame, "html")
    t2 = clock()
    prob = model.estimator.predict_proba(X[model.features])[:, 1]
    t3 = clock()
    context = frame[list(S.CONTEXT_COLUMNS["html"])]
    base = model.card["stack"]["base_features"]
    page = frame["page"].to_numpy()
    # the page-type probabilities the second stage takes (trees from before them: none)
    types = (
        S.predicted_page_types(model, X, context, page)
        if hasattr(S, "predicted_page_types")
        else ()
    )
    stacked = S.stack_features("html", prob, page, X, context, base, *types)
    t4 = clock()
    model.stack_estimator.predict_proba(stacked)
    t5 = clock()
    list(ext.extract_many(pages, batch_size=len(pages)))
    t6 = clock()
    for key, dt in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5), strict=True):
        t[key] += dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--pages", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--overall-only", action="store_true", help="time extract_many only")
    args = ap.parse_args()
    trees = {"old": _tree(args.old, "linesift_old"), "new": _tree(args.new, "linesift")}
    for name, tree in trees.items():
        print(name, "=", tree["F"].__file__, flush=True)
    walks = [sys.modules[f"{name}.segment"]._cwalk for name in ("linesift_old", "linesift")]
    if None not in walks and walks[0] is walks[1]:
        raise SystemExit("both trees use one compiled walk: the A/B would not compare them")
    load = trees["new"]["D"].load_wcxb
    pages = list(load(limit=args.pages + 16))
    warm, pages = pages[args.pages :], pages[: args.pages]
    for tree in trees.values():
        tree["ext"]._run_batch(warm)
        # each tree's own Page class (extract_many takes no other tree's)
        tree["pages"] = [
            dataclasses.replace(tree["D"].Page(id="", source=""), **vars(p)) for p in pages
        ]
    runs: dict[str, list[dict]] = {"old": [], "new": []}
    for r in range(args.rounds):
        t = {name: dict.fromkeys(STAGES, 0.0) for name in trees}
        for b, start in enumerate(range(0, len(pages), args.batch)):
            order = ("old", "new") if (r + b) % 2 == 0 else ("new", "old")
            for name in order:
                batch = trees[name]["pages"][start : start + args.batch]
                _run(trees[name], batch, t[name], args.overall_only)
        for name in trees:
            runs[name].append({k: 1000 * v / len(pages) for k, v in t[name].items()})
        print(
            f"round {r}: "
            + " ".join(f"{k} {runs['old'][-1][k]:.2f}/{runs['new'][-1][k]:.2f}" for k in STAGES),
            flush=True,
        )
    print(f"\nCPU ms/page, {args.pages} WCXB pages, {args.rounds} rounds (median over rounds)")
    print(f"{'stage':<12}{'old':>8}{'new':>8}{'new/old':>9}{'speedup':>9}")
    rows = ("overall",) if args.overall_only else (*STAGES, "predict", "stages sum")

    def value(run: dict, key: str) -> float:
        if key == "predict":
            return run["predict1"] + run["stack"] + run["predict2"]
        if key == "stages sum":
            return sum(run[k] for k in STAGES if k != "overall")
        return run[key]

    for key in rows:
        old = statistics.median(value(x, key) for x in runs["old"])
        new = statistics.median(value(x, key) for x in runs["new"])
        ratio = statistics.median(
            value(n, key) / value(o, key) for o, n in zip(runs["old"], runs["new"], strict=True)
        )
        print(f"{key:<12}{old:>8.2f}{new:>8.2f}{ratio:>9.3f}{1 / ratio:>8.2f}x")


if __name__ == "__main__":
    main()
