"""Every path the project uses, and params.yaml loading. Nothing else hard-codes a path."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

PACKAGE_DIR = Path(__file__).resolve().parent
# The project root when running from a checkout (src layout); overridable for installed use.
ROOT = Path(os.environ.get("LINESIFT_ROOT", PACKAGE_DIR.parents[1])).resolve()

DATA_DIR = ROOT / "data"
RAW_DIR = DATA_DIR / "raw"
WCXB_DIR = RAW_DIR / "wcxb"
READABILITY_DIR = RAW_DIR / "readability"
LABELED_DIR = RAW_DIR / "labeled"
INTERIM_DIR = DATA_DIR / "interim"
PROCESSED_DIR = DATA_DIR / "processed"
EXTERNAL_DIR = DATA_DIR / "external"
MODELS_DIR = ROOT / "models"
METRICS_DIR = ROOT / "metrics"
PLOTS_DIR = ROOT / "plots"
PARAMS_FILE = ROOT / "params.yaml"

# Stage outputs (dvc.yaml lists the same paths).
LINES_FILE = INTERIM_DIR / "lines.parquet"
PAGES_FILE = INTERIM_DIR / "pages.parquet"
MODEL_KINDS = ("html", "text")
# Per-page word F1 of the peer extractors on the shipped pages (written by `make bench`):
# the evaluate stage compares each run with them on the same pages.
PEER_SCORES_FILE = EXTERNAL_DIR / "peer_scores.csv.gz"
PLOT_PEER = "trafilatura"

MLFLOW_TRACKING_URI = os.environ.get("MLFLOW_TRACKING_URI", f"sqlite:///{ROOT / 'mlflow.db'}")
MLFLOW_EXPERIMENT = "linesift"

# Keep MLflow and DVC quiet and offline (they otherwise try telemetry lookups).
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
# One OpenMP thread per process: on shared 2-core machines OpenMP's busy-waiting made a
# HistGradientBoosting fit 20x slower under load (measured: 6 s with 1 thread, 117 s with 2).
# Training parallelises over CV folds with processes instead (train.n_jobs).
os.environ.setdefault("OMP_NUM_THREADS", "1")


def model_dir(kind: str) -> Path:
    """Directory of the shipped model of one kind ("html" or "text")."""
    return MODELS_DIR / kind


def features_file(kind: str) -> Path:
    """Feature matrix of the lines the model of ``kind`` learns from."""
    return PROCESSED_DIR / f"features_{kind}.parquet"


def predictions_file(kind: str) -> Path:
    """Out-of-fold (training pages) and held-out (other pages) line probabilities."""
    return PROCESSED_DIR / f"predictions_{kind}.parquet"


def load_params(path: Path | None = None) -> dict[str, Any]:
    """params.yaml as a dict (every tunable knob lives there)."""
    with open(path or PARAMS_FILE, encoding="utf-8") as fh:
        return yaml.safe_load(fh)
