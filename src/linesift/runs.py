"""The experiment workflow over MLflow: compare training runs, promote one to champion.

``linesift runs`` lists the runs of experiment ``linesift`` (newest first) with the params
each changed against the champion (the run whose ``linesift-html`` version has the alias
``champion``; the newest run when there is none) and its scores. ``linesift promote RUN_ID``
moves the ``champion`` alias of ``linesift-html`` and ``linesift-text`` to the versions that
run logged and exports those models to ``models/`` (skops file + card with its sha256).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import config

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient

CHAMPION = "champion"
# table column -> MLflow metric (per page type columns are added as cv_f1_<type>)
METRIC_COLUMNS = {
    "cv_f1": "html_cv_f1",
    "oracle_f1": "html_oracle_f1",
    "readability_f1": "readability_f1",
    "text_f1": "text_cv_f1",
}
PER_TYPE_PREFIX = "html_cv_f1_"
NOTE_TAG = "mlflow.note.content"


class RunsError(RuntimeError):
    """A run, model version or artifact that cannot be used."""


def client(tracking_uri: str | None = None) -> MlflowClient:
    """An MLflow client on the project's store (``config.MLFLOW_TRACKING_URI``)."""
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri or config.MLFLOW_TRACKING_URI)


def store_exists(uri: str | None = None) -> bool:
    """False for a sqlite store whose file does not exist yet (opening it would create it)."""
    uri = uri or config.MLFLOW_TRACKING_URI
    if uri.startswith("sqlite:///"):
        return Path(uri.removeprefix("sqlite:///").split("?")[0]).exists()
    return True


def champion_run_id(mlflow_client: MlflowClient, name: str = "linesift-html") -> str | None:
    """The run that logged the model version with alias ``champion``, or None."""
    from mlflow.exceptions import MlflowException

    try:
        return mlflow_client.get_model_version_by_alias(name, CHAMPION).run_id
    except MlflowException:
        return None


def param_diff(params: dict[str, str], base: dict[str, str]) -> str:
    """``key=new (old)`` for every param that differs from ``base``; "-" marks a missing one."""
    changed = []
    for key in sorted(set(params) | set(base)):
        new, old = params.get(key, "-"), base.get(key, "-")
        if new != old:
            changed.append(f"{key}={new} ({old})")
    return ", ".join(changed)


def _search_runs(mlflow_client: MlflowClient, experiment: str) -> list[Any]:
    exp = mlflow_client.get_experiment_by_name(experiment)
    if exp is None:
        return []
    runs, token = [], None
    while True:
        page = mlflow_client.search_runs(
            [exp.experiment_id],
            order_by=["attributes.start_time DESC"],
            max_results=1000,
            page_token=token,
        )
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def runs_frame(
    mlflow_client: MlflowClient | None = None, experiment: str = config.MLFLOW_EXPERIMENT
) -> pd.DataFrame:
    """One row per run, newest first: id, name, date, champion flag, changed params, scores."""
    import pandas as pd

    if mlflow_client is None and not store_exists():
        runs = []
    else:
        mlflow_client = mlflow_client or client()
        runs = _search_runs(mlflow_client, experiment)
    champion = champion_run_id(mlflow_client) if runs else None
    by_id = {r.info.run_id: r for r in runs}
    base = by_id.get(champion) or (runs[0] if runs else None)
    types = sorted(
        {k[len(PER_TYPE_PREFIX) :] for r in runs for k in r.data.metrics if _is_type_metric(k)}
    )
    rows = []
    for run in runs:
        m = run.data.metrics
        info = run.info
        if "html_fit_seconds" in m and "text_fit_seconds" in m:
            train_s = m["html_fit_seconds"] + m["text_fit_seconds"]
        elif info.end_time and info.start_time:
            train_s = (info.end_time - info.start_time) / 1000
        else:
            train_s = float("nan")
        row: dict[str, Any] = {
            "run_id": info.run_id,
            "run_name": info.run_name or "",
            "date": time.strftime("%Y-%m-%d %H:%M", time.localtime(info.start_time / 1000)),
            "champion": info.run_id == champion,
            "description": run.data.tags.get(NOTE_TAG, ""),
        }
        for column, metric in METRIC_COLUMNS.items():
            row[column] = m.get(metric, float("nan"))
        for t in types:
            row[f"cv_f1_{t}"] = m.get(PER_TYPE_PREFIX + t, float("nan"))
        row["train_s"] = train_s
        if base is None or info.run_id == base.info.run_id:
            row["changed"] = "(champion)" if info.run_id == champion else "(baseline)"
        else:
            row["changed"] = param_diff(run.data.params, base.data.params)
        rows.append(row)
    columns = [
        "run_id",
        "run_name",
        "date",
        "champion",
        "description",
        *METRIC_COLUMNS,
        *(f"cv_f1_{t}" for t in types),
        "train_s",
        "changed",
    ]
    return pd.DataFrame(rows, columns=columns)


def _is_type_metric(name: str) -> bool:
    # html_cv_f1_<type>; the evaluate stage logs no other metric with this prefix
    return name.startswith(PER_TYPE_PREFIX)


def sort_runs(
    frame: pd.DataFrame, sort: str | None = None, limit: int | None = None
) -> pd.DataFrame:
    """Sort by a column or MLflow metric name (best first: descending, ``train_s`` ascending),
    keep the first ``limit`` rows."""
    if sort:
        column = _column_of(sort, frame)
        frame = frame.sort_values(
            column, ascending=column == "train_s", na_position="last", kind="stable"
        )
    if limit is not None:
        frame = frame.head(limit)
    return frame.reset_index(drop=True)


def _column_of(name: str, frame: pd.DataFrame) -> str:
    aliases = {metric: column for column, metric in METRIC_COLUMNS.items()}
    column = aliases.get(name, name)
    if column.startswith(PER_TYPE_PREFIX):
        column = "cv_f1_" + column[len(PER_TYPE_PREFIX) :]
    if column not in frame.columns or column in ("run_id", "description", "changed"):
        choices = [c for c in frame.columns if c.endswith(("_f1", "_s")) or "_f1_" in c]
        raise RunsError(f"cannot sort by {name!r}; choose one of {', '.join(choices)}")
    return column


def format_table(frame: pd.DataFrame) -> str:
    """The runs as an aligned text table (champion marked ``*``, run ids shortened)."""
    if frame.empty:
        return "no runs"
    shown = frame.drop(columns=["champion", "description"]).copy()
    shown.insert(0, "", ["*" if c else "" for c in frame["champion"]])
    shown["run_id"] = shown["run_id"].str[:8]
    for column in shown.columns:
        if column == "train_s":
            shown[column] = [_num(v, "{:.0f}") for v in shown[column]]
        elif column.endswith("_f1") or "_f1_" in column:
            shown[column] = [_num(v, "{:.4f}") for v in shown[column]]
    return shown.to_string(index=False, justify="left")


def _num(value: float, fmt: str) -> str:
    return "-" if value != value else fmt.format(value)


# ---------------------------------------------------------------- promote


def resolve_run_id(mlflow_client: MlflowClient, run_id: str) -> str:
    """A full run id from a full id or a unique prefix (as ``linesift runs`` shows)."""
    from mlflow.exceptions import MlflowException

    if len(run_id) == 32:
        try:
            return mlflow_client.get_run(run_id).info.run_id
        except MlflowException as exc:
            raise RunsError(f"no MLflow run {run_id}") from exc
    matches = [
        r.info.run_id
        for r in _search_runs(mlflow_client, config.MLFLOW_EXPERIMENT)
        if r.info.run_id.startswith(run_id)
    ]
    if len(matches) != 1:
        found = "no run" if not matches else f"{len(matches)} runs"
        raise RunsError(f"{found} of experiment {config.MLFLOW_EXPERIMENT!r} match {run_id!r}")
    return matches[0]


def model_version_of(mlflow_client: MlflowClient, name: str, run_id: str) -> Any:
    """The (newest) version of registered model ``name`` logged by ``run_id``."""
    versions = [
        v for v in mlflow_client.search_model_versions(f"run_id = '{run_id}'") if v.name == name
    ]
    if not versions:
        raise RunsError(f"run {run_id} registered no version of {name}")
    return max(versions, key=lambda v: int(v.version))


def promote(
    run_id: str,
    out_dir: str | Path | None = None,
    mlflow_client: MlflowClient | None = None,
) -> dict[str, Path]:
    """Make ``run_id``'s models the champion and export them to ``out_dir``/<kind>.

    Both kinds are downloaded and checked with ``load_model`` in a staging directory first;
    only then are the aliases set and the files moved into place (model, then card).
    Returns the exported model directories.
    """
    import mlflow

    from .modeling.model_io import (
        CARD_FILE,
        MODEL_FILE,
        STACK_FILE,
        ModelError,
        export_trees,
        load_model,
        sha256_of,
    )

    if mlflow_client is None and not store_exists():
        raise RunsError(f"no MLflow store at {config.MLFLOW_TRACKING_URI} (train first)")
    mlflow_client = mlflow_client or client()
    out_dir = Path(out_dir) if out_dir is not None else config.MODELS_DIR
    run_id = resolve_run_id(mlflow_client, run_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = out_dir / f".promote-{run_id[:8]}"
    shutil.rmtree(staging, ignore_errors=True)
    versions = {}
    try:
        for kind in config.MODEL_KINDS:
            name = f"linesift-{kind}"
            version = model_version_of(mlflow_client, name, run_id)
            versions[kind] = version
            kind_dir = staging / kind
            download = staging / f"{kind}-download"
            kind_dir.mkdir(parents=True)
            download.mkdir()
            model_root = Path(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=f"models:/{name}/{version.version}",
                    dst_path=str(download),
                    tracking_uri=mlflow_client.tracking_uri,
                    registry_uri=mlflow_client.tracking_uri,
                )
            )
            skops_files = sorted(model_root.rglob("*.skops"))
            if not skops_files:
                raise RunsError(f"{name} version {version.version} has no skops model file")
            card_file = mlflow.artifacts.download_artifacts(
                run_id=run_id,
                artifact_path=f"{kind}/card.json",
                dst_path=str(download),
                tracking_uri=mlflow_client.tracking_uri,
            )
            card = json.loads(Path(card_file).read_text("utf-8"))
            shutil.copyfile(skops_files[0], kind_dir / MODEL_FILE)
            if card.get("stack"):  # the second stage: a file of the run (its sha256 in the card)
                stack_file = mlflow.artifacts.download_artifacts(
                    run_id=run_id,
                    artifact_path=f"{kind}/{STACK_FILE}",
                    dst_path=str(download),
                    tracking_uri=mlflow_client.tracking_uri,
                )
                shutil.copyfile(stack_file, kind_dir / STACK_FILE)
            card.update(
                sha256=sha256_of(kind_dir / MODEL_FILE),
                model_file=MODEL_FILE,
                mlflow_run_id=run_id,
                mlflow_model_version=f"{name}/{version.version}",
            )
            # the run logs no flat trees: they are made again from the estimators
            card.pop("trees", None)
            if card.get("stack"):
                card["stack"].pop("trees", None)
            (kind_dir / CARD_FILE).write_text(
                json.dumps(card, indent=2, sort_keys=True) + "\n", encoding="utf-8"
            )
            try:
                export_trees(kind_dir)
                load_model(kind_dir)
            except ModelError as exc:
                raise RunsError(f"run {run_id}: {kind} model cannot be used: {exc}") from exc
        for version in versions.values():
            mlflow_client.set_registered_model_alias(version.name, CHAMPION, version.version)
        exported = {}
        for kind in config.MODEL_KINDS:
            target = out_dir / kind
            _install(staging / kind, target)
            load_model(target)
            exported[kind] = target
        return exported
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _install(source: Path, target: Path) -> None:
    """Move a checked model directory into place: each file via a temp name and rename, the
    card last."""
    from .modeling.model_io import (
        CARD_FILE,
        MODEL_FILE,
        STACK_FILE,
        STACK_TREES_FILE,
        TREES_FILE,
        write_card,
    )

    target.mkdir(parents=True, exist_ok=True)
    for name in (MODEL_FILE, STACK_FILE, TREES_FILE, STACK_TREES_FILE):
        if not (source / name).exists():
            (target / name).unlink(missing_ok=True)
            continue
        tmp = target / (name + ".tmp")
        shutil.copyfile(source / name, tmp)
        tmp.replace(target / name)
    write_card(json.loads((source / CARD_FILE).read_text("utf-8")), target)


# ---------------------------------------------------------------- CLI


def cmd_runs(args: argparse.Namespace) -> int:
    """``linesift runs``: print the runs table (or CSV)."""
    frame = _or_usage_error(lambda: sort_runs(runs_frame(), args.sort, args.limit))
    if args.csv:
        frame.to_csv(sys.stdout, index=False, float_format="%.4f")
    else:
        print(format_table(frame))
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    """``linesift promote RUN_ID``: set the champion alias and export the models."""
    exported = _or_usage_error(lambda: promote(args.run_id, args.models_dir))
    for kind, path in exported.items():
        print(f"{kind}: {path}", file=sys.stderr)
    return 0


def _or_usage_error(fn: Any) -> Any:
    from .cli import UsageError

    try:
        return fn()
    except RunsError as exc:
        raise UsageError(str(exc)) from exc


def add_parsers(sub: Any) -> None:
    """Register ``runs`` and ``promote`` on the ``linesift`` subparsers."""
    runs = sub.add_parser(
        "runs",
        help="compare MLflow training runs",
        description="MLflow runs of experiment 'linesift', newest first, with the params each "
        "changed against the champion and its scores.",
    )
    runs.add_argument(
        "--sort", metavar="METRIC", help="column or MLflow metric (cv_f1, html_cv_f1_article, ...)"
    )
    runs.add_argument("--limit", type=int, metavar="N", help="show the first N runs")
    runs.add_argument("--csv", action="store_true", help="CSV (full run ids) instead of a table")
    runs.set_defaults(func=cmd_runs)
    pro = sub.add_parser(
        "promote",
        help="make a run's models the champion and export them to models/",
        description="Set the 'champion' alias of linesift-html and linesift-text to the "
        "versions RUN_ID logged and export those models.",
    )
    pro.add_argument("run_id", metavar="RUN_ID", help="run id or a unique prefix of one")
    pro.add_argument(
        "--models-dir", type=Path, default=None, help="export directory (default: models/)"
    )
    pro.set_defaults(func=cmd_promote)
