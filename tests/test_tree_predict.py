"""Row-wise tree prediction (modeling/tree_predict.py) gives scikit-learn's probabilities
bit for bit, and falls back to scikit-learn when it cannot."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from linesift.modeling import tree_predict
from linesift.modeling.predict import Extractor
from linesift.modeling.stack import CONTEXT_COLUMNS, predicted_page_types, stack_features
from linesift.modeling.tree_predict import content_probability


@pytest.mark.parametrize("kind", ["html", "text"])
def test_shipped_models_identical_on_real_pages(feature_tables, kind):
    table = feature_tables[kind]
    model = Extractor().model(kind)
    X = table[model.features]
    expected = model.estimator.predict_proba(X)[:, 1]
    got = content_probability(model.estimator, X)
    assert len(X) > 5000
    assert np.array_equal(got, expected)
    # the input matrix is built without scikit-learn's ColumnTransformer: the same matrix
    flat = tree_predict.FlatTrees.of(model.estimator)
    reference = model.estimator._preprocess_X(X, reset=False)
    assert np.array_equal(flat.matrix(X), reference, equal_nan=True)
    # the second stage, on the first stage's probabilities in context
    page = pd.factorize(table["page_id"] + "\x00" + table["view"])[0]
    base = model.card["stack"]["base_features"]
    context = table[list(CONTEXT_COLUMNS[kind])]
    page_types, page_type_prob = predicted_page_types(model, table, context, page)
    assert len(page_types) == (7 if kind == "html" else 0)
    stacked = stack_features(kind, got, page, table, context, base, page_types, page_type_prob)
    expected2 = model.stack_estimator.predict_proba(stacked)[:, 1]
    assert np.array_equal(content_probability(model.stack_estimator, stacked), expected2)
    assert 0.0 < expected2.mean() < 1.0
    # the shipped flat trees (what extraction predicts from) give the same, bit for bit
    assert np.array_equal(model.trees.probability(X), expected)
    assert np.array_equal(model.stack_trees.probability(stacked), expected2)
    # the second stage never scores a line lower because the first stage is surer of it
    # (train.stack.hgb.monotonic_cst), whatever the rest of its inputs
    rows = stacked.sample(300, random_state=0)
    sweep = np.array(
        [model.stack_trees.probability(rows.assign(p=v)) for v in np.linspace(0, 1, 21)]
    )
    assert np.all(np.diff(sweep, axis=0) >= 0)
    assert np.any(np.diff(sweep, axis=0) > 0.01)  # and it does rise


def test_checked_flat_trees_round_trip_and_catch_a_wrong_tree(tmp_path, monkeypatch):
    model, X = _categorical_model(seed=3)
    flat = tree_predict.FlatTrees.checked(model)
    flat.save(tmp_path / "trees.npz")
    again = tree_predict.FlatTrees.load(tmp_path / "trees.npz")
    assert again.columns == ["words", "tag", "ratio"]
    assert np.array_equal(again.probability(X), model.predict_proba(X)[:, 1])
    assert np.array_equal(again.probability(X.to_numpy()), model.predict_proba(X)[:, 1])
    # the probe rows take both sides of every split: one threshold moved by the smallest
    # step, and the check fails
    thresholds = flat.nodes["threshold"]  # what prediction reads
    split = np.flatnonzero((flat.nodes["flags"] & 5) == 0)  # not leaf, not categorical
    thresholds[split[len(split) // 2]] = np.nextafter(thresholds[split[len(split) // 2]], -np.inf)
    monkeypatch.setattr(tree_predict.FlatTrees, "of", classmethod(lambda cls, est: flat))
    with pytest.raises(ValueError, match="differ"):
        tree_predict.FlatTrees.checked(model)


def _categorical_model(seed: int = 0) -> tuple[HistGradientBoostingClassifier, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = 3000
    X = pd.DataFrame(
        {
            "words": rng.normal(10, 5, n),
            "tag": rng.integers(0, 12, n).astype(float),
            "ratio": rng.random(n),
        }
    )
    X.loc[rng.random(n) < 0.1, "words"] = np.nan
    y = ((X["tag"] % 3 == 0) ^ (X["words"].fillna(0) > 10) ^ (X["ratio"] > 0.8)).astype(int)
    model = HistGradientBoostingClassifier(
        max_iter=40, categorical_features=[False, True, False], random_state=seed
    ).fit(X, y)
    return model, X


def test_missing_unseen_and_negative_categories_follow_sklearn():
    model, X = _categorical_model()
    probe = X.head(400).copy()
    probe.loc[:50, "tag"] = 40.0  # a category never seen in training
    probe.loc[51:80, "tag"] = -3.0  # out of range
    probe.loc[81:120, "tag"] = np.nan
    probe.loc[121:160, "words"] = np.nan
    expected = model.predict_proba(probe)[:, 1]
    assert np.array_equal(content_probability(model, probe), expected)
    assert np.unique(expected.round(3)).size > 10  # a model that tells rows apart


def test_falls_back_to_sklearn_when_internals_differ(monkeypatch, caplog):
    model, X = _categorical_model(seed=1)
    real_of = tree_predict.FlatTrees.of

    def wrong_baseline(estimator):
        flat = real_of(estimator)
        flat.baseline += 1.0
        return flat

    monkeypatch.setattr(tree_predict.FlatTrees, "of", wrong_baseline)
    with caplog.at_level(logging.WARNING, logger="linesift.modeling.tree_predict"):
        got = content_probability(model, X)
    assert np.array_equal(got, model.predict_proba(X)[:, 1])
    assert "differs from predict_proba" in caplog.text
    assert tree_predict._COMPILED[model] is None  # later calls go straight to scikit-learn
    assert np.array_equal(
        content_probability(model, X.tail(7)), model.predict_proba(X.tail(7))[:, 1]
    )


def test_empty_input():
    model, X = _categorical_model(seed=2)
    assert content_probability(model, X.head(0)).shape == (0,)
