"""The page-type model: what kind of page a line is on, as a second-stage input.

An article's "related stories" list and a listing page's items look alike line by line; the
gold keeps the second and drops the first. The second stage (``stack.py``) therefore sees
the probabilities of WCXB's page types (article, collection, documentation, forum,
listing, product, service) for the line's page, predicted from ``features.page_type_inputs``
by a multinomial logistic regression. It is fitted out of fold on the same domain-grouped
folds as the line models, so the second stage learns from types predicted for unseen sites.

A linear model kept as plain arrays in the model card: predicting it is one matrix product,
and loading it needs neither scikit-learn nor skops.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..features import PAGE_TYPE_INPUTS


def fit_page_type(X: np.ndarray, page_types: Sequence[str], C: float, seed: int) -> dict[str, Any]:
    """Fit on one row of ``PAGE_TYPE_INPUTS`` per page and the pages' types; returns the
    model as a JSON-able dict (the card's ``stack.page_type``)."""
    from sklearn.linear_model import LogisticRegression

    X = np.asarray(X, dtype=float)
    mean = np.nanmean(X, axis=0) if len(X) else np.zeros(X.shape[1])
    mean = np.nan_to_num(mean)
    scale = np.nanstd(X, axis=0) if len(X) else np.ones(X.shape[1])
    scale = np.where(np.nan_to_num(scale) > 0, scale, 1.0)
    Z = _standardize(X, mean, scale)
    model = LogisticRegression(C=C, max_iter=5000, random_state=seed).fit(Z, list(page_types))
    coef, intercept = model.coef_, model.intercept_
    if len(model.classes_) == 2:  # scikit-learn keeps one row for two classes
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    return {
        "inputs": list(PAGE_TYPE_INPUTS),
        "classes": [str(c) for c in model.classes_],
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "coef": coef.tolist(),
        "intercept": intercept.tolist(),
        "C": C,
    }


def page_type_probabilities(model: Mapping[str, Any], X: np.ndarray) -> np.ndarray:
    """Rows of class probabilities (``model["classes"]`` order) for rows of inputs."""
    mean, scale, coef_t, intercept = _arrays(model)
    Z = _standardize(np.asarray(X, dtype=float), mean, scale)
    logits = Z @ coef_t + intercept
    logits -= logits.max(axis=1, keepdims=True) if len(logits) else 0.0
    odds = np.exp(logits)
    return odds / odds.sum(axis=1, keepdims=True)


def _arrays(model: Mapping[str, Any]) -> tuple[np.ndarray, ...]:
    """The model's lists as arrays, made once per model dict (a page predicted alone would
    otherwise convert them on every call)."""
    key = id(model)
    cached = _ARRAYS.get(key)
    if cached is None or cached[0] is not model:
        if list(model["inputs"]) != list(PAGE_TYPE_INPUTS):
            raise ValueError("the page-type model was fitted on other inputs than this code's")
        arrays = (
            np.asarray(model["mean"], dtype=float),
            np.asarray(model["scale"], dtype=float),
            np.asarray(model["coef"], dtype=float).T.copy(),
            np.asarray(model["intercept"], dtype=float),
        )
        cached = (model, arrays)
        if len(_ARRAYS) >= 16:  # models come and go in tests and notebooks
            _ARRAYS.clear()
        _ARRAYS[key] = cached
    return cached[1]


_ARRAYS: dict[int, tuple[Mapping[str, Any], tuple[np.ndarray, ...]]] = {}


def page_type_columns(classes: Sequence[str]) -> list[str]:
    """The second stage's column names for the page-type probabilities."""
    return [f"page_type_{c}" for c in classes]


def _standardize(X: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Inputs centred and scaled; a missing value is the training mean (0)."""
    Z = (X - mean) / scale
    Z[np.isnan(Z)] = 0.0
    return Z
