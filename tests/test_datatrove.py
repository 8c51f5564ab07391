"""linesift as a datatrove step: WarcReader -> LinesiftExtractor -> JsonlWriter end to end, with
the text equal to ``Extractor`` on the same HTML."""

from __future__ import annotations

import gzip
import json
import pickle
import time

import pytest
from test_warc import build_warc

pytest.importorskip("datatrove", reason="datatrove not installed: pip install -e '.[datatrove]'")

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import WarcReader
from datatrove.pipeline.writers import JsonlWriter

from linesift.integrations.datatrove import LinesiftExtractor
from linesift.modeling.predict import Extractor


@pytest.fixture(scope="module")
def step() -> LinesiftExtractor:
    return LinesiftExtractor()


def test_warmup_is_fast_and_step_pickles(step):
    started = time.perf_counter()
    assert step.extract("") == "" and step.extract("  \n") == ""
    assert time.perf_counter() - started < 0.01  # datatrove's warm-up call
    html = "<html><body><article><h1>Title</h1><p>" + "Some real words here. " * 30
    html += "</p></article><footer><a href='/'>Home</a> | <a href='/c'>Contact</a></footer>"
    clone = pickle.loads(pickle.dumps(step))
    assert clone.extractor.model("html") is not None  # travels loaded: no reload in a worker
    assert clone.extract(html) == step.extract(html) == Extractor().extract(html)
    assert "Some real words here." in step.extract(html)


def test_pipeline_end_to_end(tmp_path, step):
    warcs, out = tmp_path / "warcs", tmp_path / "out"
    warcs.mkdir()
    expected = build_warc(warcs / "crawl.warc.gz")
    LocalPipelineExecutor(
        pipeline=[
            WarcReader(str(warcs), glob_pattern="*.warc.gz"),
            step,
            JsonlWriter(str(out)),
        ],
        tasks=1,
        workers=1,
        logging_dir=str(tmp_path / "logs"),
    ).run()
    docs = []
    for file in sorted(out.glob("*.jsonl.gz")):
        with gzip.open(file, "rt", encoding="utf-8") as fh:
            docs.extend(json.loads(line) for line in fh)
    by_url = {d["metadata"]["url"]: d for d in docs}
    extractor = Extractor()
    # datatrove's WarcReader keeps every HTML response (it has no status filter); the 404 page
    # (a site menu around "Not Found") has no main text, so linesift returns "" and the
    # document is dropped
    assert set(by_url) == set(expected)
    for url, want in expected.items():
        doc = by_url[url]
        assert doc["text"] == extractor.extract(want["html"])
        assert doc["id"] == want["record_id"]
        assert doc["metadata"]["date"] == want["date"]
    stats = json.loads((tmp_path / "logs" / "stats.json").read_text())
    step_stats = next(s for s in stats if "linesift" in s["name"])
    assert step_stats["stats"]["total"] == len(expected) + 1  # + the 404 page
    assert step_stats["stats"]["forwarded"] == len(expected)
    assert step_stats["stats"]["dropped"] == 1
    assert "timeout" not in step_stats["stats"]
