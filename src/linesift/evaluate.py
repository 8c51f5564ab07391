"""Stage ``evaluate``: predictions -> metrics (metrics/*.json) and plots (plots/*.png).

Reports, for the shipped thresholds: grouped-CV mean word F1 of the html model on WCXB
(overall, per page type, per fold), the same model on the held-out readability pages, the
text model on each plain-text rendering, the oracle F1 of the segmentation, line-level
precision/recall/ROC-AUC, and the worst pages. Everything is also logged to the MLflow run
that trained the models.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import config
from .atomic import write_json
from .modeling.model_io import load_model
from .modeling.stack import select_lines
from .modeling.train import attach_text, page_scorer, page_view_key

log = logging.getLogger(__name__)


def page_scores(
    pred: pd.DataFrame,
    texts: pd.Series,
    pages: pd.DataFrame,
    threshold: float,
    prob_columns: tuple[str, ...] = ("prob",),
) -> list[pd.DataFrame]:
    """For each column of ``prob_columns``: one row per (page, view) with the precision,
    recall and F1 of the lines kept at ``threshold`` (``select_lines``: probability >=
    threshold, or the empty-page rule's ``fallback`` lines) - one scorer for all."""
    scorer, rows = page_scorer(pred, texts, pages)
    base = rows[["page_id", "view", "dataset", "page_type", "domain", "oracle_f1"]]
    fold = pred.groupby(page_view_key(pred), sort=False)["fold"].first()
    fallback = pred["fallback"].to_numpy(dtype=bool) if "fallback" in pred else None
    tables = []
    for column in prob_columns:
        kept = select_lines(pred[column].to_numpy(), threshold, scorer.page, fallback)
        p, r, f1 = scorer.score(kept)
        tables.append(base.assign(precision=p, recall=r, f1=f1, fold=fold.to_numpy()))
    return tables


def peer_scores_on(
    scores: pd.DataFrame, path: Path | None = None, resamples: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Each peer extractor's mean word F1, overall and per page type, on exactly the pages of
    ``scores`` it was scored on (config.PEER_SCORES_FILE, written by ``make bench``), with
    linesift's F1 on the same pages and a bootstrap interval of linesift's gain over the peer
    (paired: the same resampled pages for both). Empty when the file is missing."""
    path = path or config.PEER_SCORES_FILE
    if not path.exists():
        log.info("no peer scores at %s: run `make bench` to compare with the peers", path)
        return {}
    peers = pd.read_csv(path, usecols=["extractor", "page_id", "f1"])
    ours = scores[["page_id", "page_type", "f1"]]
    out: dict[str, Any] = {}
    for name, part in peers.groupby("extractor"):
        both = ours.merge(part[["page_id", "f1"]], on="page_id", suffixes=("", "_peer"))
        if both.empty:
            continue
        both["f1_peer"] = both["f1_peer"].fillna(0.0)  # a page the peer failed on scores 0
        out[str(name)] = {
            "pages": len(both),
            "f1": both.f1_peer.mean(),
            "linesift_f1": both.f1.mean(),
            "gain_ci95": bootstrap_ci(both.f1 - both.f1_peer, resamples, seed),
            "per_page_type": {t: g.f1_peer.mean() for t, g in both.groupby("page_type")},
        }
    return out


def bootstrap_ci(
    values: Any, resamples: int = 1000, seed: int = 0, level: float = 0.95
) -> list[float]:
    """Percentile interval of the mean of ``values`` (one per page) over resamples of the
    pages with replacement: how far a mean over this many pages moves with which pages happen
    to be in the sample. For paired differences pass the per-page differences."""
    v = np.asarray(values, dtype=float)
    if len(v) == 0:
        return [float("nan"), float("nan")]
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    for start in range(0, resamples, 100):  # 100 resamples at a time bounds the memory
        stop = min(start + 100, resamples)
        means[start:stop] = v[rng.integers(0, len(v), size=(stop - start, len(v)))].mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return [float(low), float(high)]


def line_metrics(pred: pd.DataFrame, threshold: float) -> dict[str, float]:
    from sklearn.metrics import precision_score, recall_score, roc_auc_score

    y, prob = pred["label"].to_numpy(), pred["prob"].to_numpy()
    hat = prob >= threshold
    return {
        "line_precision": float(precision_score(y, hat, zero_division=0)),
        "line_recall": float(recall_score(y, hat, zero_division=0)),
        "line_roc_auc": float(roc_auc_score(y, prob)) if len(set(y)) == 2 else float("nan"),
    }


def evaluate(params: dict[str, Any]) -> dict[str, Any]:
    lines = pd.read_parquet(config.LINES_FILE, columns=["page_id", "view", "line_no", "text"])
    pages = pd.read_parquet(config.PAGES_FILE)
    train_sets = params["train"]["train_datasets"]
    resamples = params["evaluate"].get("bootstrap_resamples", 1000)
    seed = params["train"]["seed"]
    metrics: dict[str, Any] = {}
    tables: dict[str, pd.DataFrame] = {}
    for kind in config.MODEL_KINDS:
        model = load_model(config.model_dir(kind))
        pred = pd.read_parquet(config.predictions_file(kind))
        texts = attach_text(pred, lines).reset_index(drop=True)
        scores, final = page_scores(
            pred, texts, pages, model.threshold, prob_columns=("prob", "prob_final")
        )
        tables[kind] = scores
        m: dict[str, Any] = {"threshold": model.threshold}
        # what the first stage alone scores out of fold (the second stage's gain is the rest)
        m["stage1_cv_f1_all_views"] = model.card.get("stage1_cv_mean_page_f1")
        m["cv_f1_all_views"] = model.card.get("cv_mean_page_f1")  # the comparable pair
        m["unaligned_page_views_excluded"] = model.card["training_data"].get(
            "unaligned_page_views_excluded", 0
        )
        cv = scores[scores.dataset.isin(train_sets)]
        for view, part in scores.groupby("view"):
            tag = "cv" if view in ("html",) else f"cv_{view}"
            cv_part = part[part.dataset.isin(train_sets)]
            if len(cv_part):
                m[f"{tag}_f1"] = cv_part.f1.mean()
                m[f"{tag}_f1_ci95"] = bootstrap_ci(cv_part.f1, resamples, seed)
                m[f"{tag}_precision"] = cv_part.precision.mean()
                m[f"{tag}_recall"] = cv_part.recall.mean()
                m[f"{tag}_oracle_f1"] = cv_part.oracle_f1.mean()
            for dataset, dpart in part[~part.dataset.isin(train_sets)].groupby("dataset"):
                suffix = "" if view == "html" else f"_{view}"
                m[f"{dataset}{suffix}_f1"] = dpart.f1.mean()
                m[f"{dataset}{suffix}_f1_ci95"] = bootstrap_ci(dpart.f1, resamples, seed)
                m[f"{dataset}{suffix}_oracle_f1"] = dpart.oracle_f1.mean()
        wcxb = cv[cv.dataset == "wcxb"]
        m["cv_f1_wcxb"] = wcxb.f1.mean() if len(wcxb) else float("nan")
        m["cv_f1_all_views"] = cv.f1.mean()
        m["per_page_type"] = {
            t: {
                "f1": g.f1.mean(),
                "f1_ci95": bootstrap_ci(g.f1, resamples, seed),
                "precision": g.precision.mean(),
                "recall": g.recall.mean(),
                "oracle_f1": g.oracle_f1.mean(),
                "pages": len(g),
            }
            for t, g in wcxb.groupby("page_type")
        }
        if kind == "html":
            m["peers"] = peer_scores_on(wcxb, resamples=resamples, seed=seed)
        m["per_fold_f1"] = {int(k): v for k, v in cv.groupby("fold").f1.mean().items()}
        m.update(line_metrics(pred[pred.dataset.isin(train_sets)], model.threshold))
        # the shipped (final) model on its own training pages, as `linesift extract` runs it
        final = final[
            (final.dataset == "wcxb") & (final.view == ("html" if kind == "html" else "text"))
        ]
        m["shipped_model_train_f1_wcxb"] = final.f1.mean()
        metrics[kind] = _rounded(m)
    _write(metrics, tables, params)
    _plots(tables, metrics, params["evaluate"])
    return metrics


def _rounded(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, float | np.floating):
        return round(float(value), 4)
    return value


def _write(metrics: dict[str, Any], tables: dict[str, pd.DataFrame], params: dict) -> None:
    config.METRICS_DIR.mkdir(parents=True, exist_ok=True)
    flat = {
        "html_cv_f1": metrics["html"]["cv_f1_wcxb"],
        "html_oracle_f1": metrics["html"].get("cv_oracle_f1"),
        "readability_f1": metrics["html"].get("readability_f1"),
        "readability_oracle_f1": metrics["html"].get("readability_oracle_f1"),
        "html_cv_f1_ci95_low": metrics["html"].get("cv_f1_ci95", [None, None])[0],
        "html_cv_f1_ci95_high": metrics["html"].get("cv_f1_ci95", [None, None])[1],
        "readability_f1_ci95_low": metrics["html"].get("readability_f1_ci95", [None, None])[0],
        "readability_f1_ci95_high": metrics["html"].get("readability_f1_ci95", [None, None])[1],
        "text_cv_f1": metrics["text"].get("cv_text_f1"),
        "text_rows_cv_f1": metrics["text"].get("cv_text-rows_f1"),
        "text_para_cv_f1": metrics["text"].get("cv_text-para_f1"),
        "text_browser_cv_f1": metrics["text"].get("cv_text-browser_f1"),
        # every rendering together, as the training stage scores it: next to text_stage1_cv_f1
        "text_cv_f1_all_views": metrics["text"].get("cv_f1_all_views"),
        "html_stage1_cv_f1": metrics["html"].get("stage1_cv_f1_all_views"),
        "text_stage1_cv_f1": metrics["text"].get("stage1_cv_f1_all_views"),
        "html_line_roc_auc": metrics["html"]["line_roc_auc"],
        "html_shipped_model_train_f1": metrics["html"]["shipped_model_train_f1_wcxb"],
        "html_unaligned_pages_excluded": metrics["html"]["unaligned_page_views_excluded"],
    }
    for t, v in metrics["html"]["per_page_type"].items():
        flat[f"html_cv_f1_{t}"] = v["f1"]
        flat[f"oracle_f1_{t}"] = v["oracle_f1"]
    for name, peer in metrics["html"].get("peers", {}).items():
        flat[f"peer_{name}_f1"] = peer["f1"]
    write_json(config.METRICS_DIR / "metrics.json", flat)
    write_json(config.METRICS_DIR / "details.json", metrics)
    worst = tables["html"][tables["html"].dataset == "wcxb"].nsmallest(
        params["evaluate"]["worst_pages"], "f1"
    )
    worst.to_csv(config.METRICS_DIR / "worst_pages.csv", index=False, float_format="%.4f")
    scores = pd.concat(tables.values(), ignore_index=True)
    scores.to_csv(config.METRICS_DIR / "page_scores.csv", index=False, float_format="%.4f")


def _plots(tables: dict[str, pd.DataFrame], metrics: dict[str, Any], ep: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plots import feature_importance, plot_f1_per_type, plot_feature_importance

    config.PLOTS_DIR.mkdir(parents=True, exist_ok=True)
    per_type = metrics["html"]["per_page_type"]
    series: dict[str, Any] = {"linesift (CV)": per_type}
    peer = metrics["html"].get("peers", {}).get(config.PLOT_PEER)
    if peer:
        series[f"{config.PLOT_PEER} (same pages)"] = peer["per_page_type"]
    series["oracle (line ceiling)"] = {t: v["oracle_f1"] for t, v in per_type.items()}
    plot_f1_per_type(series, config.PLOTS_DIR / "f1_per_page_type.png")

    from sklearn.metrics import precision_recall_curve

    fig, ax = plt.subplots(figsize=(4.5, 4))
    for kind in config.MODEL_KINDS:
        pred = pd.read_parquet(config.predictions_file(kind), columns=["label", "prob", "fold"])
        pred = pred[pred.fold >= 0]
        p, r, _ = precision_recall_curve(pred.label, pred.prob)
        ax.plot(r, p, label=kind)
    ax.set_xlabel("line recall")
    ax.set_ylabel("line precision")
    ax.legend()
    fig.tight_layout()
    fig.savefig(config.PLOTS_DIR / "precision_recall.png", dpi=100)
    plt.close(fig)

    pred = pd.read_parquet(config.predictions_file("html"), columns=["label", "prob", "fold"])
    pred = pred[pred.fold >= 0]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.hist(
        [pred.prob[pred.label == 1], pred.prob[pred.label == 0]],
        bins=40,
        label=["content", "boilerplate"],
        log=True,
    )
    ax.set_xlabel("predicted probability (out of fold)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(config.PLOTS_DIR / "probability_by_class.png", dpi=100)
    plt.close(fig)

    # Permutation importance of the shipped first stage on a sample of its training lines
    # (in-sample: good for ranking features, not for judging them).
    model = load_model(config.model_dir("html"))
    table = pd.read_parquet(config.features_file("html"))
    importance = feature_importance(
        model,
        table,
        table["label"],
        n_repeats=ep["importance_repeats"],
        sample=ep["importance_sample"],
        n_jobs=ep["importance_jobs"],
    )
    importance.to_csv(config.METRICS_DIR / "feature_importance.csv", index=False)
    plot_feature_importance(importance, config.PLOTS_DIR / "feature_importance.png")


def log_to_mlflow(metrics: dict[str, Any]) -> None:
    """Add the evaluation to the MLflow run that trained the shipped models."""
    import mlflow

    run_id = load_model(config.model_dir("html")).card.get("mlflow_run_id")
    if not run_id:
        log.info("models have no MLflow run id; metrics not logged to MLflow")
        return
    mlflow.set_tracking_uri(config.MLFLOW_TRACKING_URI)
    with mlflow.start_run(run_id=run_id):
        flat = json.loads((config.METRICS_DIR / "metrics.json").read_text("utf-8"))
        mlflow.log_metrics({k: v for k, v in flat.items() if v is not None})
        for kind, m in metrics.items():
            for fold, f1 in m["per_fold_f1"].items():
                mlflow.log_metric(f"{kind}_fold_f1", f1, step=fold)
            for key in ("line_precision", "line_recall", "line_roc_auc"):
                mlflow.log_metric(f"{kind}_{key}", m[key])
        mlflow.log_artifacts(str(config.PLOTS_DIR), "plots")
        mlflow.log_artifacts(str(config.METRICS_DIR), "metrics")


def summary(metrics: dict[str, Any]) -> str:
    html, text = metrics["html"], metrics["text"]
    nan = float("nan")

    def ci(key: str, where: dict = html) -> str:
        low, high = where.get(key, [nan, nan])
        return f"[95% CI {low:.3f}-{high:.3f}]"

    rows = [
        f"html model, grouped 5-fold CV on WCXB dev: word F1 {html['cv_f1_wcxb']:.4f} "
        f"{ci('cv_f1_ci95')} (P {html.get('cv_precision', nan):.4f} "
        f"R {html.get('cv_recall', nan):.4f}), oracle F1 {html.get('cv_oracle_f1', nan):.4f}",
        f"  first stage alone: {html.get('stage1_cv_f1_all_views') or nan:.4f}",
        f"readability pages (held out): F1 {html.get('readability_f1', nan):.4f} "
        f"{ci('readability_f1_ci95')}, oracle {html.get('readability_oracle_f1', nan):.4f}",
        "per page type (F1 / oracle):",
    ]
    peer = html.get("peers", {}).get(config.PLOT_PEER, {}).get("per_page_type", {})
    for t, v in sorted(html["per_page_type"].items()):
        vs = f", {config.PLOT_PEER} {peer[t]:.4f}" if t in peer else ""
        rows.append(
            f"  {t:<14} {v['f1']:.4f} {ci('f1_ci95', v)} / {v['oracle_f1']:.4f}"
            f"  ({v['pages']} pages{vs})"
        )
    for name, p in sorted(html.get("peers", {}).items()):
        low, high = p.get("gain_ci95", [nan, nan])
        rows.append(
            f"peer {name} on the same {p['pages']} pages: F1 {p['f1']:.4f}; linesift's gain "
            f"{p['linesift_f1'] - p['f1']:+.4f} [95% CI {low:+.3f} to {high:+.3f}]"
        )
    for key, value in sorted(text.items()):
        if key.startswith("cv_text") and key.endswith("_f1") and "oracle" not in key:
            rows.append(f"text model {key}: {value:.4f}")
    return "\n".join(rows)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    params = config.load_params()
    metrics = evaluate(params)
    print(summary(metrics))
    log_to_mlflow(metrics)


if __name__ == "__main__":
    main()
