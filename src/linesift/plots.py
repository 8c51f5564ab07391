"""Plots a training run logs beside the evaluate stage's: feature importance, F1 vs a peer."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def feature_importance(
    model: Any,
    X: pd.DataFrame,
    y: np.ndarray | pd.Series,
    n_repeats: int = 5,
    *,
    sample: int = 5000,
    seed: int = 0,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Permutation importance (drop in line ROC-AUC when a feature is shuffled) on a sample of
    at most ``sample`` rows. ``model``: a ``LineModel`` (its features are used) or a fitted
    estimator. Returns columns feature, importance, std; most important first."""
    from sklearn.inspection import permutation_importance

    estimator = getattr(model, "estimator", model)
    features = list(getattr(model, "features", X.columns))
    X = X[features]
    y = np.asarray(y)
    if len(X) > sample:
        rows = np.random.default_rng(seed).choice(len(X), sample, replace=False)
        X, y = X.iloc[np.sort(rows)], y[np.sort(rows)]
    result = permutation_importance(
        estimator, X, y, scoring="roc_auc", n_repeats=n_repeats, random_state=seed, n_jobs=n_jobs
    )
    frame = pd.DataFrame(
        {
            "feature": features,
            "importance": result.importances_mean,
            "std": result.importances_std,
        }
    )
    return frame.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


def plot_feature_importance(df: pd.DataFrame, path: str | Path, top: int = 25) -> Path:
    """Horizontal bars of the ``top`` most important features (from ``feature_importance``)."""
    shown = df.head(top).iloc[::-1]
    fig, ax = _figure((6, 0.25 * len(shown) + 1.2))
    ax.barh(shown["feature"], shown["importance"], xerr=shown["std"], color="tab:blue")
    ax.set_xlabel("drop in line ROC-AUC when shuffled")
    ax.set_title("permutation feature importance")
    return _save(fig, path)


def plot_f1_per_type(series: Mapping[str, Mapping[str, Any]], path: str | Path) -> Path:
    """Grouped bars of mean word F1 per page type, one bar per named series (linesift, a peer
    extractor, the oracle...). Values are floats or ``{"f1": ...}`` dicts (metrics/details.json
    ``per_page_type``); a type a series lacks is left empty."""
    names = sorted(set().union(*(set(per_type) for per_type in series.values())))
    x = np.arange(len(names))
    width = 0.8 / max(len(series), 1)
    fig, ax = _figure((max(5, 0.9 * len(names) + 2), 3.5))
    for i, (label, per_type) in enumerate(series.items()):
        offset = (i - (len(series) - 1) / 2) * width
        ax.bar(x + offset, [_f1(per_type.get(n)) for n in names], width, label=label)
    ax.set_xticks(x, names, rotation=30, ha="right")
    ax.set_ylim(0, 1.2)  # room for the legend above the bars
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("mean word F1")
    ax.legend(fontsize="small", loc="upper center", ncol=len(series), frameon=False)
    return _save(fig, path)


def plot_f1_vs_peer(
    per_type_linesift: Mapping[str, Any],
    per_type_peer: Mapping[str, Any],
    peer_name: str,
    path: str | Path,
) -> Path:
    """Mean word F1 per page type, linesift beside one peer extractor."""
    return plot_f1_per_type({"linesift": per_type_linesift, peer_name: per_type_peer}, path)


def _f1(value: Any) -> float:
    if value is None:
        return float("nan")
    if isinstance(value, Mapping):
        return float(value.get("f1", float("nan")))
    return float(value)


def _figure(size: tuple[float, float]) -> tuple[Any, Any]:
    # a bare Figure: no pyplot state, no backend switch (safe inside notebooks and workers)
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    return fig, fig.subplots()


def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
