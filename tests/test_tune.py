"""`make tune`: trials of the train stage's CV as MLflow child runs of one parent run, in a
temporary store (never the repo's mlflow.db)."""

from __future__ import annotations

import copy

import pytest

from linesift import config
from linesift.modeling.tune import TUNE_EXPERIMENT, draw_trials, set_dotted, tune


def test_draw_trials_starts_with_params_yaml_and_never_repeats():
    space = {"train.hgb.max_iter": [10, 20], "train.stack.hgb.max_leaf_nodes": [7, 15, 31]}
    trials = draw_trials(space, 20, seed=3)
    assert trials[0] == {}
    assert len(trials) == 1 + 6  # the whole grid, once
    assert len({tuple(sorted(t.items())) for t in trials[1:]}) == 6
    assert draw_trials(space, 3, seed=3) == trials[:3]  # reproducible
    p = copy.deepcopy(config.load_params())
    set_dotted(p, "train.stack.hgb.max_leaf_nodes", 7)
    assert p["train"]["stack"]["hgb"]["max_leaf_nodes"] == 7
    with pytest.raises(KeyError, match=r"train\.hgb\.max_itr"):
        set_dotted(p, "train.hgb.max_itr", 7)


def test_trials_are_child_runs_with_their_params_and_scores(
    tmp_path, monkeypatch, feature_tables, prepared, params
):
    import mlflow
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setattr(config, "MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    mlflow.create_experiment(TUNE_EXPERIMENT, artifact_location=(tmp_path / "art").as_uri())
    pages, _ = prepared
    table = feature_tables["html"]
    keep = set(table.page_id.drop_duplicates().iloc[::2])
    table = table[table.page_id.isin(keep)].reset_index(drop=True)
    p = copy.deepcopy(params)
    p["train"].update(cv_folds=2, n_jobs=1)
    p["train"]["hgb"]["max_iter"] = 15
    p["tune"] = {
        "kind": "html",
        "trials": 3,
        "seed": 0,
        "space": {"train.hgb.max_leaf_nodes": [7, 31], "train.hgb.learning_rate": [0.3]},
    }
    frame = tune(p, table, pages, "test tune")
    assert frame["trial"].tolist() == [0, 1, 2]
    assert frame["train.hgb.max_leaf_nodes"].isna()[0]  # trial 0: params.yaml as it is
    assert sorted(frame["train.hgb.max_leaf_nodes"][1:]) == [7, 31]
    assert frame["cv_f1"].between(0.3, 1).all()
    assert frame["cv_f1"].nunique() > 1  # the overrides reached the fits
    assert {"cv_f1_article", "readability_f1", "stage1_cv_f1"} <= set(frame.columns)

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(TUNE_EXPERIMENT)
    found = client.search_runs([experiment.experiment_id])
    parents = [r for r in found if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in found if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 3
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parents[0].info.run_id}
    by_name = {c.data.tags["mlflow.runName"]: c for c in children}
    assert by_name["trial-1"].data.metrics["cv_f1"] == pytest.approx(frame["cv_f1"][1], abs=1e-4)
    assert by_name["trial-2"].data.params["train.hgb.learning_rate"] == "0.3"
    best = parents[0].data.metrics["best_cv_f1"]
    assert best == pytest.approx(frame["cv_f1"].max(), abs=1e-4)
    assert parents[0].data.metrics["baseline_cv_f1"] == pytest.approx(frame["cv_f1"][0], abs=1e-4)
