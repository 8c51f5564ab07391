"""`linesift runs` / `linesift promote` against a temporary MLflow store holding two real runs
(tiny models fitted on the session slice), never the repo's mlflow.db or models/."""

from __future__ import annotations

import copy
import io
import json

import numpy as np
import pandas as pd
import pytest

from linesift import cli, config, runs
from linesift.modeling.model_io import load_model, sha256_of
from linesift.modeling.predict import Extractor
from linesift.modeling.train import fit_line_model, log_to_mlflow

# metrics as the evaluate stage logs them (names from evaluate._write)
METRICS = {
    "run-a": {
        "html_cv_f1": 0.80,
        "html_cv_f1_article": 0.90,
        "html_cv_f1_forum": 0.60,
        "html_oracle_f1": 0.95,
        "readability_f1": 0.70,
        "text_cv_f1": 0.75,
    },
    "run-b": {
        "html_cv_f1": 0.85,
        "html_cv_f1_article": 0.88,
        "html_oracle_f1": 0.95,
        "readability_f1": 0.72,
        "text_cv_f1": 0.74,
    },
}


def _small_params(params: dict, max_iter: int, learning_rate: float) -> dict:
    p = copy.deepcopy(params)
    p["train"]["cv_folds"] = 2
    p["train"]["n_jobs"] = 1
    p["train"]["hgb"]["max_iter"] = max_iter
    p["train"]["hgb"]["learning_rate"] = learning_rate
    return p


@pytest.fixture(scope="module")
def store(tmp_path_factory, feature_tables, prepared, params):
    """A temporary MLflow store with run-a (older) and run-b (newer), each with registered
    html and text models and evaluate-like metrics."""
    import mlflow

    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    pages, _ = prepared
    # a third of the slice's pages: enough for real models, quick to fit four times
    keep = set(pages.page_id.drop_duplicates().iloc[::3])
    tables = {k: t[t.page_id.isin(keep)].reset_index(drop=True) for k, t in feature_tables.items()}
    fitted = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(config, "MLFLOW_TRACKING_URI", uri)
        mp.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        mp.setenv("DO_NOT_TRACK", "true")
        mlflow.set_tracking_uri(uri)
        # artifacts under the temporary root, not ./mlruns of the working directory
        mlflow.create_experiment(
            config.MLFLOW_EXPERIMENT, artifact_location=(root / "artifacts").as_uri()
        )
        client = runs.client(uri)
        ids = {}
        for name, (max_iter, lr) in {"run-a": (20, 0.08), "run-b": (30, 0.1)}.items():
            p = _small_params(params, max_iter, lr)
            results = {
                kind: fit_line_model(kind, tables[kind], pages, p) for kind in config.MODEL_KINDS
            }
            run_id = log_to_mlflow(results, p, f"test {name}")
            client.set_tag(run_id, "mlflow.runName", name)
            with mlflow.start_run(run_id=run_id):
                mlflow.log_metrics(METRICS[name])
            ids[name] = run_id
            fitted[name] = results
        yield {"uri": uri, "client": client, "ids": ids, "fitted": fitted, "root": root}


@pytest.fixture
def use_store(store, monkeypatch):
    monkeypatch.setattr(config, "MLFLOW_TRACKING_URI", store["uri"])
    return store


def test_table_newest_first_values_and_diff_against_newest(use_store):
    frame = runs.runs_frame()
    ids = use_store["ids"]
    assert frame["run_name"].tolist() == ["run-b", "run-a"]
    assert frame["run_id"].tolist() == [ids["run-b"], ids["run-a"]]
    assert frame["cv_f1"].tolist() == [0.85, 0.80]
    assert frame["cv_f1_article"].tolist() == [0.88, 0.90]
    assert np.isnan(frame.loc[0, "cv_f1_forum"]) and frame.loc[1, "cv_f1_forum"] == 0.60
    assert frame["oracle_f1"].tolist() == [0.95, 0.95]
    assert frame["readability_f1"].tolist() == [0.72, 0.70]
    assert frame["text_f1"].tolist() == [0.74, 0.75]
    assert frame["description"].tolist() == ["test run-b", "test run-a"]
    # training time = html + text fit seconds as logged by log_to_mlflow
    a = use_store["fitted"]["run-a"]
    expected = a["html"]["fit_seconds"] + a["text"]["fit_seconds"]
    assert frame.loc[1, "train_s"] == pytest.approx(expected, rel=1e-6)
    # no champion yet: diffs are against the newest run
    assert not frame["champion"].any()
    assert frame.loc[0, "changed"] == "(baseline)"
    assert frame.loc[1, "changed"] == (
        "train.hgb.learning_rate=0.08 (0.1), train.hgb.max_iter=20 (30)"
    )


def test_sort_limit_and_text_table(use_store, capsys):
    frame = runs.sort_runs(runs.runs_frame(), "text_cv_f1")  # MLflow metric name works too
    assert frame["run_name"].tolist() == ["run-a", "run-b"]
    frame = runs.sort_runs(runs.runs_frame(), "html_cv_f1_forum")  # NaN sorts last
    assert frame["run_name"].tolist() == ["run-a", "run-b"]
    assert runs.sort_runs(runs.runs_frame(), "cv_f1", limit=1)["run_name"].tolist() == ["run-b"]
    with pytest.raises(runs.RunsError, match="cannot sort by 'nope'"):
        runs.sort_runs(runs.runs_frame(), "nope")

    assert cli.main(["runs", "--sort", "readability_f1", "--limit", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2  # header + one run
    header, row = out[0].split(), out[1].split()
    assert header[:3] == ["run_id", "run_name", "date"]
    assert row[0] == use_store["ids"]["run-b"][:8] and row[1] == "run-b"
    assert "0.8500" in row and "0.7200" in row and "-" in row  # cv_f1, readability, no forum


def test_csv_output(use_store, capsys):
    assert cli.main(["runs", "--csv"]) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert frame["run_id"].tolist() == [use_store["ids"]["run-b"], use_store["ids"]["run-a"]]
    assert frame["cv_f1"].tolist() == [0.85, 0.80]
    assert frame["cv_f1_forum"].isna().tolist() == [True, False]
    assert frame.loc[1, "changed"].endswith("train.hgb.max_iter=20 (30)")


def test_promote_exports_loadable_model_that_predicts_like_the_run(
    use_store, tmp_path, wcxb_pages, capsys
):
    repo_cards = {k: sha256_of(config.model_dir(k) / "card.json") for k in config.MODEL_KINDS}
    run_a = use_store["ids"]["run-a"]
    out = tmp_path / "models"
    # a unique prefix of the id, as the table shows it
    assert cli.main(["promote", run_a[:8], "--models-dir", str(out)]) == 0
    client = use_store["client"]
    for kind in config.MODEL_KINDS:
        version = client.get_model_version_by_alias(f"linesift-{kind}", "champion")
        assert version.run_id == run_a
        card = json.loads((out / kind / "card.json").read_text())
        assert card["sha256"] == sha256_of(out / kind / "model.skops")
        assert card["mlflow_run_id"] == run_a
        assert card["kind"] == kind
        assert card["mlflow_model_version"] == f"linesift-{kind}/{version.version}"
        loaded = load_model(out / kind)
        trained = use_store["fitted"]["run-a"][kind]["model"]
        assert loaded.threshold == trained.threshold
        assert loaded.stack_estimator is not None  # the second stage came with it
        assert card["stack"]["sha256"] == sha256_of(out / kind / "stack.skops")
        # flat trees made again from the run's estimators, for extraction without them
        assert card["trees"]["sha256"] == sha256_of(out / kind / "trees.npz")
        assert card["stack"]["trees"]["sha256"] == sha256_of(out / kind / "stack_trees.npz")
        X = use_store["fitted"]["run-a"][kind]["X_example"]
        np.testing.assert_array_equal(
            loaded.estimator.predict_proba(X), trained.estimator.predict_proba(X)
        )
    html = wcxb_pages[3].source
    got = Extractor(model=out / "html", text_model=out / "text").predict_lines(html, "html")
    want = Extractor(
        model=use_store["fitted"]["run-a"]["html"]["model"],
        text_model=use_store["fitted"]["run-a"]["text"]["model"],
    ).predict_lines(html, "html")
    assert [ln.probability for ln in got] == [ln.probability for ln in want]
    assert not list(out.glob(".promote-*"))  # staging removed
    # the repo's shipped models are untouched
    assert repo_cards == {
        k: sha256_of(config.model_dir(k) / "card.json") for k in config.MODEL_KINDS
    }

    # the champion is now run-a: the table marks it and diffs run-b against it
    frame = runs.runs_frame()
    assert frame["champion"].tolist() == [False, True]
    assert frame.loc[1, "changed"] == "(champion)"
    assert frame.loc[0, "changed"] == (
        "train.hgb.learning_rate=0.1 (0.08), train.hgb.max_iter=30 (20)"
    )
    assert runs.format_table(frame).splitlines()[2].lstrip().startswith("*")

    # promoting the other run moves the alias and overwrites the export
    runs.promote(use_store["ids"]["run-b"], out)
    version = client.get_model_version_by_alias("linesift-html", "champion")
    assert version.run_id == use_store["ids"]["run-b"]
    assert load_model(out / "html").card["mlflow_run_id"] == use_store["ids"]["run-b"]


def test_promote_unknown_run_is_a_usage_error(use_store, tmp_path, capsys):
    assert cli.main(["promote", "ffffffff", "--models-dir", str(tmp_path)]) == 2
    assert "no run of experiment 'linesift' match 'ffffffff'" in capsys.readouterr().err
    with pytest.raises(runs.RunsError, match="no MLflow run"):
        runs.promote("f" * 32, tmp_path)
    assert not any(tmp_path.iterdir())


def test_param_diff():
    assert runs.param_diff({"a": "1", "b": "2"}, {"a": "1", "b": "3", "c": "x"}) == (
        "b=2 (3), c=- (x)"
    )
    assert runs.param_diff({"a": "1"}, {"a": "1"}) == ""


def test_missing_store_is_not_created(tmp_path, monkeypatch, capsys):
    uri = f"sqlite:///{tmp_path / 'none' / 'mlflow.db'}"
    monkeypatch.setattr(config, "MLFLOW_TRACKING_URI", uri)
    assert cli.main(["runs"]) == 0
    assert capsys.readouterr().out.strip() == "no runs"
    assert cli.main(["promote", "abc", "--models-dir", str(tmp_path / "models")]) == 2
    assert "no MLflow store at" in capsys.readouterr().err
    assert not (tmp_path / "none").exists() and not (tmp_path / "models").exists()
