"""Shared fixtures: a small real slice of the shipped data, prepared once per session."""

from __future__ import annotations

import copy
import os

import pandas as pd
import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

from linesift import config
from linesift.dataset import load_readability, load_wcxb
from linesift.features import featurize_lines
from linesift.prepare import prepare

SLICE_PAGES = 60


@pytest.fixture(scope="session")
def params() -> dict:
    """params.yaml with training shrunk to test size."""
    p = copy.deepcopy(config.load_params())
    p["train"]["cv_folds"] = 3
    p["train"]["hgb"]["max_iter"] = 60
    p["prepare"]["workers"] = 1
    return p


@pytest.fixture(scope="session")
def wcxb_pages() -> list:
    # every 25th page: all page types, many domains
    return [p for i, p in enumerate(load_wcxb()) if i % 25 == 0][:SLICE_PAGES]


@pytest.fixture(scope="session")
def prepared(wcxb_pages, params) -> tuple[pd.DataFrame, pd.DataFrame]:
    pages = wcxb_pages + list(load_readability(limit=5))
    return prepare(pages, params["prepare"] | {"labels": params["labels"]}, workers=1)


@pytest.fixture(scope="session")
def feature_tables(prepared) -> dict[str, pd.DataFrame]:
    _, lines = prepared
    tables = {}
    for kind in config.MODEL_KINDS:
        subset = lines[lines.view == "html"] if kind == "html" else lines[lines.view != "html"]
        table = featurize_lines(subset, kind)
        table["text"] = subset["text"].to_numpy()
        tables[kind] = table
    return tables
