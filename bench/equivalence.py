"""Equivalence of two linesift source trees on the WCXB and readability pages.

    python bench/equivalence.py dump OUT.pkl          # run with PYTHONPATH=<tree>/src
    python bench/equivalence.py compare OLD.pkl NEW.pkl

``dump`` segments every page, builds the feature frame and the final probabilities the way
``Extractor._run_batch`` does (batches of 64 pages, shipped models), for every page as HTML
and for the first 300 pages' lines again as a plain-text page; ``compare`` checks that the
lines are identical, every feature of both stages is equal (NaN == NaN, tolerance 1e-9)
and so are the probabilities.
"""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pandas as pd

PAGES = "/tmp/sp/pages.pkl"  # [(id, html)] of load_wcxb() + load_readability()
BATCH = 64
TOL = 1e-9


def _text_page(lines: list[str], number: int) -> str:
    # blank-line gaps of 0, 1 and 2+ lines, so that the gap features are exercised
    seps = ("\n", "\n\n", "\n\n\n", "\n")
    return "".join(t + seps[(number + i) % 4] for i, t in enumerate(lines))


def _pages() -> list[tuple[str, str]]:
    """``[(id, html)]`` of all WCXB and readability pages, cached in PAGES: both trees must
    see the very same strings."""
    import os

    if not os.path.exists(PAGES):
        from linesift.dataset import load_readability, load_wcxb

        pages = [(p.id, p.source) for p in (*load_wcxb(), *load_readability())]
        os.makedirs(os.path.dirname(PAGES), exist_ok=True)
        with open(PAGES, "wb") as fh:
            pickle.dump(pages, fh, protocol=5)
    with open(PAGES, "rb") as fh:
        return pickle.load(fh)


def dump(out: str) -> None:
    import linesift
    from linesift.features import featurize, lines_frame
    from linesift.modeling.predict import Extractor
    from linesift.modeling.stack import (
        CONTEXT_COLUMNS,
        line_probabilities,
        predicted_page_types,
        stack_features,
    )
    from linesift.segment import segment

    print("linesift from", linesift.__file__, file=sys.stderr)
    pages = _pages()
    ext = Extractor()
    result = {}
    for kind in ("html", "text"):
        if kind == "html":
            sources = [html for _, html in pages]
        else:
            sources = [_text_page(result["html"]["lines"][i], i) for i in range(300)]
        model = ext.model(kind)
        frames, feats, stacks, probs, lines = [], [], [], [], []
        for start in range(0, len(sources), BATCH):
            segs = [segment(s, kind) for s in sources[start : start + BATCH]]
            lines.extend(list(s.text) for s in segs)
            segs = [s for s in segs if len(s)]
            frame = lines_frame(segs)
            X = featurize(frame, kind)
            context = frame[list(CONTEXT_COLUMNS[kind])]
            texts = frame["text"].tolist()
            p = line_probabilities(model, X, frame["page"].to_numpy(), context, texts)
            p1 = model.estimator.predict_proba(X[model.features])[:, 1]
            base = model.card["stack"]["base_features"]
            page = frame["page"].to_numpy()
            types = predicted_page_types(model, X, context, page)
            stacks.append(stack_features(kind, p1, page, X, context, base, *types))
            frame["page"] += start
            frames.append(frame)
            feats.append(X)
            probs.append(p)
        result[kind] = {
            "lines": lines,
            "frame": pd.concat(frames, ignore_index=True),
            "features": pd.concat(feats, ignore_index=True),
            "stack": pd.concat(stacks, ignore_index=True),
            "prob": np.concatenate(probs),
        }
    with open(out, "wb") as fh:
        pickle.dump(result, fh, protocol=5)


def _equal(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Rows where ``a`` and ``b`` differ (NaN == NaN; floats within TOL)."""
    x, y = a.to_numpy(), b.to_numpy()
    if x.dtype.kind in "fiub" and y.dtype.kind in "fiub":
        x, y = x.astype(float), y.astype(float)
        same = (np.isnan(x) & np.isnan(y)) | (np.abs(x - y) <= TOL)
        return ~same
    return np.array([u != v for u, v in zip(x, y, strict=True)], bool)


def compare(old_file: str, new_file: str) -> int:
    with open(old_file, "rb") as fh:
        old = pickle.load(fh)
    with open(new_file, "rb") as fh:
        new = pickle.load(fh)
    bad = 0
    for kind in old:
        o, n = old[kind], new[kind]
        pages = len(o["lines"])
        n_lines = sum(map(len, o["lines"]))
        print(f"[{kind}] {pages} pages, {n_lines} lines")
        if o["lines"] != n["lines"]:
            diff = [
                i for i, (a, b) in enumerate(zip(o["lines"], n["lines"], strict=True)) if a != b
            ]
            print(f"  LINES DIFFER on {len(diff)} pages, e.g. {diff[:5]}")
            bad += 1
            continue
        for what in ("frame", "features", "stack"):
            a, b = o[what], n[what]
            if list(a.columns) != list(b.columns) or len(a) != len(b):
                print(f"  {what}: columns/length differ")
                bad += 1
                continue
            worst = []
            for col in a.columns:
                rows = np.flatnonzero(_equal(a[col], b[col]))
                if len(rows):
                    worst.append((col, len(rows), rows[0]))
                if a[col].dtype != b[col].dtype:
                    print(f"  {what}.{col}: dtype {a[col].dtype} vs {b[col].dtype}")
                    bad += 1
            for col, count, row in worst:
                print(
                    f"  {what}.{col}: {count} rows differ, first row {row}: "
                    f"{a[col].iloc[row]!r} vs {b[col].iloc[row]!r}"
                )
            bad += len(worst)
            print(
                f"  {what}: {a.shape[1]} columns x {len(a)} rows compared, "
                f"{len(worst)} columns differ"
            )
        dp = np.abs(o["prob"] - n["prob"])
        print(f"  prob: max |diff| {dp.max():.3g} over {len(dp)} lines")
        bad += int(dp.max() > TOL)
    print("EQUIVALENT" if not bad else f"{bad} DIFFERENCES")
    return int(bool(bad))


if __name__ == "__main__":
    if sys.argv[1] == "dump":
        dump(sys.argv[2])
    else:
        sys.exit(compare(sys.argv[2], sys.argv[3]))
