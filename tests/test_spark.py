"""The Spark transformation and WARC job in local mode: outputs equal ``Extractor`` on the same
pages, bad WARCs are counted and skipped, the model loads once per Python worker."""

from __future__ import annotations

import os
import sys

import pyarrow.parquet as pq
import pytest
from test_warc import build_warc, wcxb_html

from linesift.modeling.predict import Extractor
from linesift.spark import build_parser, main, resolve_input, run

# mapInPandas works on pandas 3 (checked here); pyspark 4 still warns that it is untested
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas")


@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark", reason="pyspark not installed: pip install -e '.[spark]'")
    from pyspark.sql import SparkSession

    old = os.environ.get("PYSPARK_PYTHON")
    os.environ["PYSPARK_PYTHON"] = sys.executable  # workers need this venv (pyarrow, linesift)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("linesift-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    if old is None:
        os.environ.pop("PYSPARK_PYTHON", None)
    else:
        os.environ["PYSPARK_PYTHON"] = old


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor()


@pytest.fixture(scope="module")
def warcs(tmp_path_factory) -> dict:
    """Two good WARCs (gzip and plain), one truncated; expected pages by URI."""
    root = tmp_path_factory.mktemp("warcs")
    good = root / "a.warc.gz"
    expected = {"a": build_warc(good), "b": build_warc(root / "b.warc", gzipped=False)}
    data = good.read_bytes()
    (root / "c-truncated.warc.gz").write_bytes(data[: len(data) * 2 // 3])
    return {"root": root, "expected": expected}


def test_resolve_input(tmp_path, warcs):
    root = warcs["root"]
    assert resolve_input(str(root / "*.warc.gz")) == [
        str(root / "a.warc.gz"),
        str(root / "c-truncated.warc.gz"),
    ]
    manifest = tmp_path / "warc.paths"
    manifest.write_text(
        "# Common Crawl style\ncrawl-data/X/1.warc.gz\n\n/abs/2.warc.gz\nhttps://h/3.warc.gz\n"
    )
    assert resolve_input(str(manifest), "s3://commoncrawl/") == [
        "s3://commoncrawl/crawl-data/X/1.warc.gz",
        "/abs/2.warc.gz",
        "https://h/3.warc.gz",
    ]
    assert resolve_input("s3://bucket/x.warc.gz") == ["s3://bucket/x.warc.gz"]
    with pytest.raises(FileNotFoundError, match="no WARC file matches"):
        resolve_input(str(tmp_path / "none-*.warc.gz"))
    empty = tmp_path / "empty.paths"
    empty.write_text("# nothing\n")
    with pytest.raises(FileNotFoundError, match="no WARC paths"):
        resolve_input(str(empty))


def test_extract_frame_equals_extractor(spark, warcs, extractor):
    from linesift.spark import extract_frame

    pages = list(warcs["expected"]["a"].values())
    rows = [(f"p{i}", e["html"]) for i, e in enumerate(pages)] + [("none", None)]
    df = spark.createDataFrame(rows, "id string, html string").coalesce(1)  # one worker: fast
    out = {r.id: r for r in extract_frame(df).collect()}
    assert len(out) == len(rows)
    for i, e in enumerate(pages):
        assert out[f"p{i}"].error is None
        assert out[f"p{i}"].text == extractor.extract(e["html"])
    assert out["none"].text is None and out["none"].error == "no html"
    # a binary column is decoded like a page file; other column names
    latin = wcxb_html("0082")
    bin_df = spark.createDataFrame([(7, latin.encode("utf-8"))], "url_id long, page binary")
    bin_df = bin_df.coalesce(1)
    (row,) = extract_frame(bin_df, id_col="url_id", html_col="page").collect()
    assert row.id == "7" and row.text == extractor.extract(latin)


def test_warc_job_with_manifest(spark, warcs, tmp_path, extractor):
    root, expected = warcs["root"], warcs["expected"]
    manifest = tmp_path / "warc.paths"
    manifest.write_text("a.warc.gz\nb.warc\n# a comment\nc-truncated.warc.gz\n\nmissing.warc.gz\n")
    out = tmp_path / "out"
    args = build_parser().parse_args(
        ["--input", str(manifest), "--input-base-url", f"file://{root}", "--output", str(out)]
    )
    counts = run(spark, args)
    table = pq.read_table(out)
    assert table.column_names == ["warc", "record_id", "url", "date", "text", "error"]
    rows = table.to_pylist()
    assert counts["warcs"] == 4
    assert counts["warcs_done"] == 2 and counts["warcs_failed"] == 2
    assert counts["pages"] == len(rows) and counts["pages_failed"] == 0
    assert 1 <= counts["model_loads"] <= 2  # once per Python worker (local[2]), not per task
    for name, key in (("a.warc.gz", "a"), ("b.warc", "b")):
        part = [r for r in rows if r["warc"] == f"file://{root}/{name}"]
        assert [r["url"] for r in part] == list(expected[key])  # HTML 200 pages, in file order
        for row in part:
            want = expected[key][row["url"]]
            assert row["record_id"] == want["record_id"] and row["date"] == want["date"]
            assert row["error"] is None
            assert row["text"] == extractor.extract(want["html"])
    truncated = [r["url"] for r in rows if r["warc"].endswith("c-truncated.warc.gz")]
    assert 0 < len(truncated) < len(expected["a"])  # pages before the damage are kept
    assert truncated == list(expected["a"])[: len(truncated)]
    assert len(rows) == 2 * len(expected["a"]) + len(truncated)


def test_main_glob_job(spark, warcs, tmp_path, capsys):
    """The spark-submit entry point (last: main() stops the session it gets)."""
    root = warcs["root"]
    out = tmp_path / "job"
    code = main(["--input", str(root / "*.warc.gz"), "--output", str(out), "--master", "local[2]"])
    err = capsys.readouterr().err
    assert code == 1  # the truncated WARC failed; the good one was written
    assert "2 WARCs: 1 done, 1 failed" in err
    table = pq.read_table(out)
    assert set(table.column("warc").to_pylist()) == {
        str(root / "a.warc.gz"),
        str(root / "c-truncated.warc.gz"),
    }
