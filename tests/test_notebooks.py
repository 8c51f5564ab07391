"""The notebooks run top to bottom on a small slice, and are committed without outputs."""

from __future__ import annotations

import os
import time

import pytest

from linesift import config

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK_DIR = config.ROOT / "notebooks"
NOTEBOOKS = ["01-data-exploration.ipynb", "02-error-analysis.ipynb"]
SLICE_PAGES = "14"  # two pages of each WCXB page type
BUDGET_SECONDS = 60


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_committed_without_outputs(name):
    nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    assert all(not c.outputs and c.execution_count is None for c in code)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs(name, monkeypatch):
    monkeypatch.setenv("LINESIFT_NB_PAGES", SLICE_PAGES)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=120,  # per cell; the whole notebook is checked against BUDGET_SECONDS below
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    started = time.time()
    client.execute()  # raises CellExecutionError naming the cell on any error
    seconds = time.time() - started
    text = "\n".join(
        out.get("text", "") + str(out.get("data", {}).get("text/plain", ""))
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
    )
    assert f"{SLICE_PAGES} pages:" in text  # the slice cell ran with the env's size
    assert "article" in text and "forum" in text  # page types taken in turn
    images = sum(
        "image/png" in out.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
    )
    assert images >= 2
    if name.startswith("02"):
        assert "mean word F1" in text and "false positive" in text
    # a generous bound on a shared 2-core machine; typically ~20 s
    limit = BUDGET_SECONDS * (3 if os.environ.get("CI") else 2)
    assert seconds < limit, f"{name} took {seconds:.0f} s"
