"""Hyperparameter search: trials of the train stage's cross-validation, tracked in MLflow.

``make tune`` (after ``make train`` has made the features) runs ``tune.trials`` trials of
``fit_line_model`` for ``tune.kind``: trial 0 with params.yaml as it is, the others with
values drawn from ``tune.space`` (dotted params.yaml keys -> candidate values). Each trial
is a child run of one parent run in the MLflow experiment ``linesift-tune`` (apart from the
training runs that ``linesift runs`` lists), with its overrides as params and its CV F1
overall, per page type, of the first stage alone and on the held-out pages as metrics. The
parent logs the table of trials and the best one's overrides. Nothing is shipped: copy the
winning values into params.yaml and run ``make train``.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import logging
import random
import time
from typing import Any

import numpy as np
import pandas as pd

from .. import config
from ..atomic import write_text
from .train import attach_text, fit_line_model

log = logging.getLogger(__name__)

TUNE_EXPERIMENT = "linesift-tune"


def set_dotted(params: dict[str, Any], key: str, value: Any) -> None:
    """``params["a"]["b"]["c"] = value`` for ``key`` "a.b.c"; the path must exist."""
    *parents, last = key.split(".")
    node = params
    for part in parents:
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"tune.space: {key!r} is not a params.yaml key")
        node = node[part]
    if not isinstance(node, dict) or last not in node:
        raise KeyError(f"tune.space: {key!r} is not a params.yaml key")
    node[last] = value


def draw_trials(space: dict[str, list[Any]], trials: int, seed: int) -> list[dict[str, Any]]:
    """Trial 0: no overrides (the current params); then up to ``trials - 1`` distinct random
    points of the grid ``space`` (all of it, in random order, when it is that small)."""
    keys = sorted(space)
    grid = list(itertools.product(*(space[k] for k in keys)))
    random.Random(seed).shuffle(grid)
    points = [dict(zip(keys, values, strict=True)) for values in grid[: max(trials - 1, 0)]]
    return [{}, *points]


def trial_metrics(result: dict[str, Any], table: pd.DataFrame, pages: pd.DataFrame) -> dict:
    """CV F1 of one trial (overall, per page type, first stage alone) and held-out F1."""
    from ..evaluate import page_scores

    model = result["model"]
    pred = result["predictions"]
    (scores,) = page_scores(pred, attach_text(pred, table), pages, model.threshold)
    metrics = {
        "cv_f1": model.card["cv_mean_page_f1"],
        "stage1_cv_f1": model.card.get("stage1_cv_mean_page_f1", np.nan),
        "threshold": model.threshold,
        "fit_seconds": result["fit_seconds"],
    }
    cv = scores[scores.fold >= 0]
    for page_type, part in cv.groupby("page_type"):
        metrics[f"cv_f1_{page_type}"] = part.f1.mean()
    for dataset, part in scores[scores.fold < 0].groupby("dataset"):
        metrics[f"{dataset}_f1"] = part.f1.mean()
    return {k: round(float(v), 4) for k, v in metrics.items()}


def tune(
    params: dict[str, Any], table: pd.DataFrame, pages: pd.DataFrame, description: str = ""
) -> pd.DataFrame:
    """Run the trials of ``params["tune"]`` on ``table`` (features plus ``text``), log them
    to MLflow (parent run + one child per trial) and return one row per trial."""
    import mlflow

    tp = params["tune"]
    kind = tp["kind"]
    trials = draw_trials(tp["space"], tp["trials"], tp.get("seed", 0))
    mlflow.set_tracking_uri(config.MLFLOW_TRACKING_URI)
    mlflow.set_experiment(TUNE_EXPERIMENT)
    rows = []
    with mlflow.start_run(description=description or f"tune {kind}: {len(trials)} trials"):
        mlflow.log_params({"kind": kind, "trials": len(trials), "seed": tp.get("seed", 0)})
        for number, overrides in enumerate(trials):
            trial_params = copy.deepcopy(params)
            for key, value in overrides.items():
                set_dotted(trial_params, key, value)
            started = time.time()
            result = fit_line_model(kind, table, pages, trial_params)
            metrics = trial_metrics(result, table, pages)
            with mlflow.start_run(run_name=f"trial-{number}", nested=True):
                mlflow.log_params(overrides or {"baseline": "params.yaml"})
                mlflow.log_metrics(metrics)
            rows.append({"trial": number, **overrides, **metrics})
            log.info(
                "trial %d %s: CV F1 %.4f (%.0f s)",
                number,
                overrides or "(params.yaml)",
                metrics["cv_f1"],
                time.time() - started,
            )
        frame = pd.DataFrame(rows)
        best = frame.loc[frame["cv_f1"].idxmax()]
        mlflow.log_metrics(
            {"best_cv_f1": float(best["cv_f1"]), "baseline_cv_f1": float(frame["cv_f1"].iloc[0])}
        )
        mlflow.log_params({f"best.{k}": best[k] for k in tp["space"] if k in best})
        mlflow.log_text(frame.to_csv(index=False), "trials.csv")
    return frame


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Hyperparameter search (see tune in params.yaml).")
    parser.add_argument("--description", default="", help="one line for the parent MLflow run")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    params = config.load_params()
    kind = params["tune"]["kind"]
    lines = pd.read_parquet(config.LINES_FILE, columns=["page_id", "view", "line_no", "text"])
    pages = pd.read_parquet(config.PAGES_FILE)
    table = pd.read_parquet(config.features_file(kind))
    table["text"] = attach_text(table, lines)
    frame = tune(params, table, pages, args.description)
    config.METRICS_DIR.mkdir(parents=True, exist_ok=True)
    write_text(config.METRICS_DIR / f"tune_{kind}.csv", frame.to_csv(index=False))
    best = frame.loc[frame["cv_f1"].idxmax()]
    log.info(
        "best: trial %d, CV F1 %.4f (params.yaml as is: %.4f); table in %s",
        best["trial"],
        best["cv_f1"],
        frame["cv_f1"].iloc[0],
        config.METRICS_DIR / f"tune_{kind}.csv",
    )


if __name__ == "__main__":
    main()
