"""Stage ``train``: features -> cross-validated, tracked, shipped models (html and text).

For each model kind:
1. grouped K-fold CV (no registered domain in two folds) gives out-of-fold probabilities
   of the first-stage line model;
2. the second stage (``stack.py``) is cross-validated on the same folds, from those
   out-of-fold probabilities;
3. thresholds are chosen on its out-of-fold probabilities to maximise mean page word F1
   (and F-beta for the precision / recall settings);
4. both stages are fitted on every training page, saved to ``models/<kind>/`` with their
   card, and logged and registered in MLflow as ``linesift-<kind>``.

Lines are weighted by their share of the page's words (``sample_weight: page``): the metric
counts words and averages over pages.
"""

from __future__ import annotations

import argparse
import logging
import platform
import subprocess
import time
import zlib
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GroupKFold

from .. import config
from ..features import (
    CATEGORICAL,
    SCHEMA_VERSION,
    _page_starts,
    feature_names,
    page_type_inputs,
)
from ..prepare import write_parquet
from ..scoring import PageScorer
from .model_io import TRUSTED_TYPES, LineModel, save_model, sha256_of, write_card
from .page_type import fit_page_type, page_type_probabilities
from .stack import (
    CONTEXT_COLUMNS,
    apply_rules,
    empty_page_fallback,
    select_lines,
    stack_feature_names,
    stack_features,
)

log = logging.getLogger(__name__)


def make_estimator(
    hgb: dict[str, Any], features: list[str], seed: int
) -> HistGradientBoostingClassifier:
    categorical = [name in CATEGORICAL for name in features]
    return HistGradientBoostingClassifier(
        categorical_features=categorical if any(categorical) else None,
        random_state=seed,
        **hgb,
    )


def _fit_one(
    hgb: dict[str, Any],
    names: list[str],
    seed: int,
    X: pd.DataFrame,
    y: np.ndarray,
    w: np.ndarray,
    X_predict: pd.DataFrame,
) -> tuple[HistGradientBoostingClassifier, np.ndarray]:
    """Fit one model and predict ``X_predict`` with it, in the worker (predicting is serial
    work the main process would otherwise do after the fits)."""
    est = make_estimator(hgb, names, seed).fit(X, y, sample_weight=w)
    return est, est.predict_proba(X_predict)[:, 1] if len(X_predict) else np.zeros(0)


def page_view_key(frame: pd.DataFrame) -> pd.Series:
    """One string per row naming its (page, view): the unit every page-level figure is
    computed on (weights, scores, exclusions)."""
    return frame["page_id"] + "\x00" + frame["view"]


def _pages_kept(table: pd.DataFrame, share: float, seed: int) -> np.ndarray:
    """Which rows of a table to fit on: those of a random ``share`` of its (page, view)s
    (``train.fit_page_share``). Measured with it (html, seed 42, 2026-11-27): CV F1 0.8594
    fitting half of WCXB dev, 0.8681 three quarters, 0.8694 all (another random half: 0.8647)."""
    codes, keys = pd.factorize(page_view_key(table))
    return (np.random.default_rng(seed).random(len(keys)) < share)[codes]


def _views_kept(table: pd.DataFrame, per_page: int) -> np.ndarray:
    """Which rows of a text table to train on: ``per_page`` of the plain-text renderings of
    each page, rotating with a hash of the page id, so every rendering is learned from
    (on different pages) at a fraction of the training time."""
    views = sorted(table["view"].unique())
    position = table["view"].map({v: i for i, v in enumerate(views)}).to_numpy()
    codes, page_ids = pd.factorize(table["page_id"])
    page_offset = np.fromiter((zlib.crc32(p.encode()) % len(views) for p in page_ids), int)
    return ((position - page_offset[codes]) % len(views)) < per_page


def sample_weights(table: pd.DataFrame, mode: str) -> np.ndarray:
    """Per-line training weights (see module docstring)."""
    tokens = table["n_tokens"].to_numpy(dtype=float)
    if mode == "none":
        return np.ones(len(table))
    if mode == "words":
        return np.maximum(tokens, 1.0)
    if mode == "page":
        key = page_view_key(table)
        page_total = (
            tokens.sum()
            if len(table) == 0
            else pd.Series(tokens).groupby(key.to_numpy()).transform("sum").to_numpy()
        )
        n_pages = key.nunique()
        # lines of a page share one unit; 1 + tokens keeps wordless lines from weighing 0
        return (1.0 + tokens) / (page_total + 1.0) * len(table) / max(n_pages, 1) / 10
    raise ValueError(f"unknown sample_weight mode {mode!r}")


def page_scorer(
    table: pd.DataFrame, texts: pd.Series, pages: pd.DataFrame
) -> tuple[PageScorer, pd.DataFrame]:
    """A scorer for the pages of ``table`` (lines in page order) and those pages' rows."""
    codes, uniques = pd.factorize(page_view_key(table))
    page_index = pages.assign(key=page_view_key(pages)).set_index("key")
    page_rows = page_index.loc[uniques].reset_index(drop=True)
    scorer = PageScorer(texts.tolist(), codes, page_rows["gold"].tolist())
    return scorer, page_rows


def choose_thresholds(
    scorer: PageScorer,
    prob: np.ndarray,
    grid: list[float],
    beta_p: float,
    fallback: np.ndarray | None = None,
) -> tuple[dict[str, float], pd.DataFrame]:
    """Thresholds maximising mean page F1 (balanced), F-beta<1 (precision), F-beta>1 (recall),
    of the lines ``select_lines`` keeps (``fallback``: the empty-page rule's lines)."""
    rows = []
    for t in grid:
        p, r, f1 = scorer.score(select_lines(prob, t, scorer.page, fallback))
        rows.append(
            {
                "threshold": t,
                "precision": p.mean(),
                "recall": r.mean(),
                "f1": f1.mean(),
                "f_precision": _fbeta(p, r, beta_p).mean(),
                "f_recall": _fbeta(p, r, 1 / beta_p).mean(),
            }
        )
    curve = pd.DataFrame(rows)
    best = {
        "balanced": float(curve.loc[curve.f1.idxmax(), "threshold"]),
        "precision": float(curve.loc[curve.f_precision.idxmax(), "threshold"]),
        "recall": float(curve.loc[curve.f_recall.idxmax(), "threshold"]),
    }
    return best, curve


def _fbeta(p: np.ndarray, r: np.ndarray, beta: float) -> np.ndarray:
    b2 = beta * beta
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(p + r > 0, (1 + b2) * p * r / (b2 * p + r), 0.0)


def attach_text(table: pd.DataFrame, lines: pd.DataFrame) -> pd.Series:
    """The text of each row of a features table, looked up in the prepared lines."""
    key = page_view_key(lines) + "\x00" + lines["line_no"].astype(str)
    texts = pd.Series(lines["text"].to_numpy(), index=key)
    tkey = page_view_key(table) + "\x00" + table["line_no"].astype(str)
    return pd.Series(texts.loc[tkey].to_numpy(), index=table.index)


def unaligned_pages(table: pd.DataFrame, pages: pd.DataFrame, min_oracle_f1: float) -> pd.DataFrame:
    """The (page, view) pairs of ``table`` whose oracle F1 is below ``min_oracle_f1``: their
    gold text could not be aligned to their lines (main text only in scripts or images, or a
    gold from another version of the page), so their line labels are unreliable."""
    key = page_view_key(pages)
    present = key.isin(set(page_view_key(table)))
    low = pages[present & (pages["oracle_f1"] < min_oracle_f1)]
    return low.assign(key=key[low.index])[["key", "page_id", "view", "page_type", "oracle_f1"]]


def fit_line_model(
    kind: str, table: pd.DataFrame, pages: pd.DataFrame, params: dict[str, Any]
) -> dict[str, Any]:
    """Cross-validate, choose thresholds and fit the model of one kind (no files written).

    ``table``: features plus META_COLUMNS and ``text``; ``pages``: the prepare stage's pages.
    Returns the model, line predictions (out-of-fold for training pages, final-model for
    held-out ones) and the threshold curve.
    """
    tp = params["train"]
    names = feature_names(kind)
    page_meta = pages.drop_duplicates("page_id").set_index("page_id")
    table = table.assign(
        dataset=page_meta.loc[table["page_id"], "dataset"].to_numpy(),
        domain=page_meta.loc[table["page_id"], "domain"].to_numpy(),
        page_type=page_meta.loc[table["page_id"], "page_type"].to_numpy(),
    )
    is_train = table["dataset"].isin(tp["train_datasets"]).to_numpy()
    train = table[is_train].reset_index(drop=True)
    held_out = table[~is_train].reset_index(drop=True)
    X, y = train[names], train["label"].to_numpy()
    w = sample_weights(train, tp["sample_weight"])
    # integer codes in sorted order: the same folds as the domain strings, 20x faster to split
    groups = pd.factorize(train["domain"], sort=True)[0]
    min_oracle_f1 = tp.get("min_oracle_f1", 0.0)
    unaligned = unaligned_pages(train, pages, min_oracle_f1)
    # Pages whose gold the labels cannot follow teach noise: they are left out of every fit,
    # but still predicted and scored in CV, so the CV F1 stays comparable with the peers'.
    fittable = ~page_view_key(train).isin(unaligned["key"]).to_numpy()
    if kind == "text" and tp.get("text_views_per_page"):
        # fitted on some renderings of each page (time), predicted and scored on all of them
        fittable &= _views_kept(train, tp["text_views_per_page"])
    fit_page_share = float(tp.get("fit_page_share", 1.0))
    if fit_page_share < 1.0:  # a point of a learning curve: fewer pages fitted, all scored
        fittable &= _pages_kept(train, fit_page_share, tp["seed"])
    if len(unaligned):
        log.info(
            "%s: %d training page views below oracle F1 %.2f excluded from fitting (%s%s)",
            kind,
            len(unaligned),
            min_oracle_f1,
            ", ".join((unaligned["page_id"] + " " + unaligned["view"]).head(8)),
            ", ..." if len(unaligned) > 8 else "",
        )

    started = time.time()
    folds = GroupKFold(n_splits=tp["cv_folds"], shuffle=True, random_state=tp["seed"])
    splits = list(folds.split(X, y, groups))
    # CV folds and the final fit (all rows) run as independent jobs in worker processes.
    all_rows = np.arange(len(train))
    jobs = [*splits, (all_rows, all_rows)]  # the final fit predicts its own training lines
    jobs = [(fit_rows[fittable[fit_rows]], val_rows) for fit_rows, val_rows in jobs]
    fitted = Parallel(n_jobs=tp.get("n_jobs", 2))(
        delayed(_fit_one)(
            tp["hgb"], names, tp["seed"], X.iloc[fit], y[fit], w[fit], X.iloc[predict]
        )
        for fit, predict in jobs
    )
    oof = np.zeros(len(train))
    fold_of = np.full(len(train), -1)
    for fold, ((_, val_rows), (_, prob)) in enumerate(zip(splits, fitted, strict=False)):
        oof[val_rows] = prob
        fold_of[val_rows] = fold
    final, train_prob = fitted[-1]
    held_prob = final.predict_proba(held_out[names])[:, 1] if len(held_out) else np.zeros(0)
    # train_prob: the shipped model's own probabilities on its training pages, what
    # `linesift extract` must reproduce on those pages (the no-train/serve-skew check).
    stage1_oof, stage1_held = oof, held_prob
    stack = None
    stack_card = None
    if tp.get("stack"):
        stack, stack_card, oof, train_prob, held_prob = _fit_stack(
            kind, tp, train, held_out, y, w, jobs, splits, (oof, train_prob, held_prob)
        )
    rules = dict(tp.get("rules") or {})
    train_page = pd.factorize(page_view_key(train))[0]  # page codes, as page_scorer's
    held_page = pd.factorize(page_view_key(held_out))[0]
    if rules:  # as line_probabilities applies them at inference
        train_texts = train["text"].tolist()
        oof = apply_rules(rules, oof, train_texts, train_page)
        train_prob = apply_rules(rules, train_prob, train_texts, train_page)
        if len(held_out):
            held_prob = apply_rules(rules, held_prob, held_out["text"].tolist(), held_page)
    fit_seconds = time.time() - started
    log.info(
        "%s: %d folds + final fit on %d of %d lines in %.0f s",
        kind,
        len(splits),
        int(fittable.sum()),
        len(train),
        fit_seconds,
    )

    scorer, _ = page_scorer(train, train["text"], pages)
    # lines an otherwise empty page returns (apply_rules' sibling, applied on selection)
    fallback = empty_page_fallback(rules, kind, train, train_page)
    held_fallback = empty_page_fallback(rules, kind, held_out, held_page)
    thresholds, curve = choose_thresholds(
        scorer, oof, tp["threshold_grid"], tp["favor_precision_weight"], fallback
    )
    stage1_f1 = float(curve.f1.max())
    if stack is not None:  # what the first stage alone scores, for the record
        _, stage1_curve = choose_thresholds(scorer, stage1_oof, tp["threshold_grid"], 1.0, fallback)
        stage1_f1 = float(stage1_curve.f1.max())

    keep = ["page_id", "view", "line_no", "label", "n_tokens", "dataset"]
    predictions = pd.concat(
        [
            train[keep].assign(
                prob=oof,
                fold=fold_of,
                prob_final=train_prob,
                prob_stage1=stage1_oof,
                fallback=False if fallback is None else fallback,
            ),
            held_out[keep].assign(
                prob=held_prob,
                fold=-1,
                prob_final=held_prob,
                prob_stage1=stage1_held,
                fallback=False if held_fallback is None else held_fallback,
            ),
        ],
        ignore_index=True,
    )
    card = {
        "kind": kind,
        "version": time.strftime("%Y%m%d%H%M%S"),
        "schema_version": SCHEMA_VERSION,
        "features": names,
        "threshold": thresholds["balanced"],
        "thresholds": thresholds,
        "cv_mean_page_f1": round(float(curve.f1.max()), 4),
        "stage1_cv_mean_page_f1": round(stage1_f1, 4),
        "stack": stack_card,
        "rules": rules,
        "params": {
            "hgb": tp["hgb"],
            "sample_weight": tp["sample_weight"],
            "labels": params["labels"],
            "cv_folds": tp["cv_folds"],
            "seed": tp["seed"],
        },
        "training_data": {
            "datasets": sorted(train["dataset"].unique().tolist()),
            "pages": int(train["page_id"].nunique()),
            "lines": len(train),
            "lines_fitted": int(fittable.sum()),
            "views": sorted(train["view"].unique().tolist()),
            "min_oracle_f1": min_oracle_f1,
            "fit_page_share": fit_page_share,
            "unaligned_page_views_excluded": len(unaligned),
        },
        "libraries": _library_versions(),
        "fit_seconds": round(fit_seconds, 1),
    }
    return {
        "model": LineModel(estimator=final, card=card, stack_estimator=stack),
        "predictions": predictions,
        "curve": curve,
        "X_example": X.head(5),
        "fit_seconds": fit_seconds,
        "unaligned": unaligned.drop(columns="key"),
    }


def _fit_stack(
    kind: str,
    tp: dict[str, Any],
    train: pd.DataFrame,
    held_out: pd.DataFrame,
    y: np.ndarray,
    w: np.ndarray,
    jobs: list[tuple[np.ndarray, np.ndarray]],
    splits: list[tuple[np.ndarray, np.ndarray]],
    stage1: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[Any, dict[str, Any], np.ndarray, np.ndarray, np.ndarray]:
    """Cross-validate and fit the second stage on the same folds and rows as the first.

    Its training input is built from the first stage's out-of-fold probabilities; the final
    pipeline's probabilities (training pages, held-out pages) from the final first-stage
    model's, as at inference. Returns the estimator, its card entry, and the out-of-fold,
    final-on-training-pages and held-out probabilities."""
    oof1, train_prob1, held_prob1 = stage1
    base = list(tp["stack"]["base_features"][kind])
    context = list(CONTEXT_COLUMNS[kind])
    train_page = pd.factorize(page_view_key(train))[0]
    held_page = pd.factorize(page_view_key(held_out))[0]
    page_type = _fit_page_types(kind, tp, train, held_out, train_page, held_page, splits)
    classes = page_type["model"]["classes"] if page_type else []
    oof_types, final_types, held_types = (
        (page_type["oof"], page_type["final"], page_type["held"]) if page_type else (None,) * 3
    )
    names = stack_feature_names(kind, base, classes)
    X_oof = stack_features(kind, oof1, train_page, train, train[context], base, classes, oof_types)
    X_final = stack_features(
        kind, train_prob1, train_page, train, train[context], base, classes, final_types
    )
    if len(held_out):
        X_held = stack_features(
            kind, held_prob1, held_page, held_out, held_out[context], base, classes, held_types
        )
        X_final = pd.concat([X_final, X_held], ignore_index=True)
    hgb, seed = tp["stack"]["hgb"], tp["seed"]
    fit_jobs = [(fit, X_oof.iloc[val]) for (fit, _), (_, val) in zip(jobs, splits, strict=False)]
    fit_jobs.append((jobs[-1][0], X_final))
    fitted = Parallel(n_jobs=tp.get("n_jobs", 2))(
        delayed(_fit_one)(hgb, names, seed, X_oof.iloc[fit], y[fit], w[fit], X_predict)
        for fit, X_predict in fit_jobs
    )
    oof = np.zeros(len(train))
    for (_, val_rows), (_, prob) in zip(splits, fitted, strict=False):
        oof[val_rows] = prob
    stack, final_prob = fitted[-1]
    card = {"base_features": base, "features": names, "hgb": hgb}
    if page_type:
        card["page_type"] = page_type["model"]
        card["page_type_cv_accuracy"] = page_type["cv_accuracy"]
    return stack, card, oof, final_prob[: len(train)], final_prob[len(train) :]


def _fit_page_types(
    kind: str,
    tp: dict[str, Any],
    train: pd.DataFrame,
    held_out: pd.DataFrame,
    train_page: np.ndarray,
    held_page: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
) -> dict[str, Any] | None:
    """The page-type model (``page_type.py``) for the second stage, if ``train.stack.
    page_type`` names this kind: out-of-fold probabilities for the training pages (the
    line models' folds), the final model's for them and for the held-out pages. Pages of
    unknown type (native labeled pages without one) are predicted, not fitted on."""
    settings = tp["stack"].get("page_type") or {}
    if kind not in settings.get("kinds", []):
        return None
    context = list(CONTEXT_COLUMNS[kind])
    X = page_type_inputs(train, train[context], train_page)
    starts = np.flatnonzero(_page_starts(train_page)[0] == 0)  # each page's first row
    types = train["page_type"].to_numpy()[starts].astype(str)
    known = types != "unknown"
    if len(set(types[known])) < 2:
        log.info("%s: fewer than two known page types: no page-type model", kind)
        return None
    C, seed = float(settings.get("C", 0.1)), tp["seed"]
    final = fit_page_type(X[known], types[known], C, seed)
    oof = np.zeros((len(X), len(final["classes"])))
    for fit_rows, val_rows in splits:
        fit_pages = np.zeros(len(X), dtype=bool)
        fit_pages[np.unique(train_page[fit_rows])] = True
        val_pages = np.unique(train_page[val_rows])
        model = fit_page_type(X[fit_pages & known], types[fit_pages & known], C, seed)
        prob = page_type_probabilities(model, X[val_pages])
        # a class absent from a fold's pages gets probability 0 there
        columns = [
            model["classes"].index(c) if c in model["classes"] else -1 for c in final["classes"]
        ]
        oof[val_pages] = np.where(np.array(columns) >= 0, prob[:, columns], 0.0)
    predicted = np.array(final["classes"])[oof.argmax(axis=1)]
    accuracy = round(float((predicted == types)[known].mean()), 4)
    log.info(
        "%s: page-type model, out-of-fold accuracy %.3f over %d pages",
        kind,
        accuracy,
        int(known.sum()),
    )
    held = np.zeros((0, len(final["classes"])))
    if len(held_out):
        held = page_type_probabilities(
            final, page_type_inputs(held_out, held_out[context], held_page)
        )
    return {
        "model": final,
        "oof": oof,
        "final": page_type_probabilities(final, X),
        "held": held,
        "cv_accuracy": accuracy,
    }


def train_kind(
    kind: str,
    params: dict[str, Any],
    lines: pd.DataFrame,
    pages: pd.DataFrame,
    git_commit: str | None = None,
) -> dict[str, Any]:
    """Stage work for one kind: read its features, fit, write model and predictions.
    ``git_commit``: the checkout's commit, read before any model is written (a model written
    by this stage would otherwise mark the tree dirty for the next one)."""
    table = pd.read_parquet(config.features_file(kind))
    table["text"] = attach_text(table, lines)
    result = fit_line_model(kind, table, pages, params)
    model = result["model"]
    model.card["training_data"]["data_hash"] = _data_hash()
    model.card["git_commit"] = git_commit or _git_commit()
    write_parquet(result["predictions"], config.predictions_file(kind))
    save_model(model, config.model_dir(kind))
    log.info(
        "%s: thresholds %s, OOF mean page F1 %.4f; saved to %s",
        kind,
        model.card["thresholds"],
        model.card["cv_mean_page_f1"],
        config.model_dir(kind),
    )
    return result


def _data_hash() -> str:
    """sha256 over the raw data files' names and sizes and the label params (cheap, stable)."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(config.RAW_DIR.rglob("*")):
        if path.is_file():
            digest.update(f"{path.relative_to(config.RAW_DIR)}:{path.stat().st_size}\n".encode())
    return digest.hexdigest()


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=config.ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=config.ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _library_versions() -> dict[str, str]:
    import lxml
    import sklearn
    import skops

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "lxml": lxml.__version__,
        "skops": skops.__version__,
    }


def log_to_mlflow(
    results: dict[str, dict[str, Any]], params: dict[str, Any], description: str
) -> str:
    """One MLflow run for this training: params, models (registered), curves. Returns its id."""
    import mlflow
    from mlflow.models import infer_signature

    mlflow.set_tracking_uri(config.MLFLOW_TRACKING_URI)
    mlflow.set_experiment(config.MLFLOW_EXPERIMENT)
    with mlflow.start_run(description=description) as run:
        flat = (
            pd.json_normalize({k: params[k] for k in ("labels", "train", "prepare")}, sep=".")
            .iloc[0]
            .to_dict()
        )
        mlflow.log_params({k: str(v)[:500] for k, v in flat.items()})
        for kind, res in results.items():
            model: LineModel = res["model"]
            mlflow.log_metric(f"{kind}_fit_seconds", res["fit_seconds"])
            mlflow.log_metric(f"{kind}_threshold", model.threshold)
            mlflow.log_metric(f"{kind}_unaligned_pages_excluded", len(res["unaligned"]))
            mlflow.log_text(
                res["unaligned"].to_csv(index=False, float_format="%.4f"),
                f"{kind}/unaligned_pages.csv",
            )
            mlflow.log_text(res["curve"].to_csv(index=False), f"{kind}/threshold_curve.csv")
            card = model.card
            if model.stack_estimator is not None:
                card = _log_stack_file(model, kind)
            mlflow.log_dict(card, f"{kind}/card.json")
            example = res["X_example"]
            signature = infer_signature(example, model.estimator.predict_proba(example))
            mlflow.sklearn.log_model(
                model.estimator,
                name=f"{kind}_model",
                signature=signature,
                input_example=example,
                serialization_format="skops",
                skops_trusted_types=TRUSTED_TYPES,
                registered_model_name=f"linesift-{kind}",
            )
        return run.info.run_id


def _log_stack_file(model: LineModel, kind: str) -> dict[str, Any]:
    """Log the second stage as ``<kind>/stack.skops`` in the active run; returns the card to
    log beside it (its sha256 is that of the logged file)."""
    import tempfile
    from pathlib import Path

    import mlflow
    import skops.io as sio

    from .model_io import STACK_FILE

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / STACK_FILE
        sio.dump(model.stack_estimator, path, compression=8)
        mlflow.log_artifact(str(path), artifact_path=kind)
        return dict(model.card, stack=dict(model.card["stack"], sha256=sha256_of(path)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train the html and text line models.")
    parser.add_argument(
        "--description",
        default="make train",
        help="one line saying what this run tries (kept in MLflow)",
    )
    parser.add_argument("--no-mlflow", action="store_true", help="do not log an MLflow run")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    params = config.load_params()
    lines = pd.read_parquet(config.LINES_FILE, columns=["page_id", "view", "line_no", "text"])
    pages = pd.read_parquet(config.PAGES_FILE)
    commit = _git_commit()
    results = {kind: train_kind(kind, params, lines, pages, commit) for kind in config.MODEL_KINDS}
    if not args.no_mlflow:
        run_id = log_to_mlflow(results, params, args.description)
        for kind, res in results.items():
            model = res["model"]
            model.card["mlflow_run_id"] = run_id
            write_card(model.card, config.model_dir(kind))
        log.info("MLflow run %s", run_id)


if __name__ == "__main__":
    main()
