"""The Python API: ``linesift.extract``, ``Extractor.predict_lines`` / ``extract_many`` (one
model call per batch), failures and limits per page, and loading a registered MLflow model."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time

import numpy as np
import pytest
from test_cli import KNOWN_SENTENCE, text_page, wcxb_sample
from test_warc import not_found_page

import linesift
from linesift import config
from linesift.dataset import Page, load_readability
from linesift.modeling import predict, stack
from linesift.modeling.model_io import TRUSTED_TYPES
from linesift.scoring import word_f1


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Page]:
    return wcxb_sample(tmp_path_factory.mktemp("sample"), ("0014", "0490", "2740"))


@pytest.fixture(scope="module")
def extractor() -> linesift.Extractor:
    return linesift.Extractor()


def test_extract_one_page(pages):
    text = linesift.extract(pages["0490"].source)
    assert isinstance(text, str)
    assert KNOWN_SENTENCE["0490"] in text
    assert word_f1(text, pages["0490"].gold) >= 0.5
    assert linesift.extract(pages["0490"].source, format="html") == text


def test_extract_plain_text_page_uses_the_text_model(pages, extractor):
    page = text_page(pages["0014"])
    text = linesift.extract(page, format="text")
    assert KNOWN_SENTENCE["0014"] in text
    assert word_f1(text, pages["0014"].gold) >= 0.5
    assert "Copyright 2025 Example Media Ltd." not in text.splitlines()
    assert linesift.extract(page) == text  # no markup: guessed as text
    (result,) = extractor.extract_many([page])
    assert result.model == "linesift-text" and result.format == "text"


def test_extract_rejects_an_unknown_format(pages):
    with pytest.raises(ValueError, match="format"):
        linesift.extract(pages["0490"].source, format="pdf")


def test_predict_lines_gives_probabilities_and_labels(pages, extractor):
    lines = extractor.predict_lines(pages["2740"].source)
    assert all(isinstance(ln, linesift.Line) for ln in lines)
    probs = np.array([ln.probability for ln in lines])
    assert ((probs >= 0) & (probs <= 1)).all()
    threshold = extractor.threshold_for("html")
    assert (
        threshold == json.loads((config.model_dir("html") / "card.json").read_text())["threshold"]
    )
    assert [ln.label for ln in lines] == [int(p >= threshold) for p in probs]
    assert 0 < sum(ln.label for ln in lines) < len(lines)
    kept = "\n".join(ln.text for ln in lines if ln.label)
    assert kept == extractor.extract(pages["2740"].source)


def test_threshold_and_favor(pages, extractor):
    source = pages["2740"].source
    base = extractor.predict_lines(source)
    high = linesift.Extractor(threshold=0.9).predict_lines(source)
    recall = linesift.Extractor(favor="recall").predict_lines(source)
    assert [ln.probability for ln in high] == [ln.probability for ln in base]
    assert [ln.label for ln in high] == [int(ln.probability >= 0.9) for ln in base]
    assert sum(ln.label for ln in recall) >= sum(ln.label for ln in base)
    with pytest.raises(ValueError):
        linesift.Extractor(favor="speed")
    with pytest.raises(ValueError):
        linesift.Extractor(threshold=1.5)


def test_extract_many_predicts_each_batch_in_one_model_call(pages, extractor, monkeypatch):
    singles = {pid: extractor.extract(p.source) for pid, p in pages.items()}
    text = text_page(pages["0490"])
    single_text = extractor.extract(text, format="text")
    calls = []
    first_stage = {id(extractor.model(kind).first_stage): kind for kind in ("html", "text")}
    original = stack._probability

    def counting(estimator, columns, names):
        if id(estimator) in first_stage:
            calls.append((first_stage[id(estimator)], len(columns[names[0]])))
        return original(estimator, columns, names)

    monkeypatch.setattr(stack, "_probability", counting)
    batch = [Page(id=pid, source=p.source, format="html") for pid, p in pages.items()] + [
        Page(id="txt", source=text, format="text")
    ]
    results = list(extractor.extract_many(batch))
    assert [r.id for r in results] == [*pages, "txt"]
    assert sorted(kind for kind, _ in calls) == ["html", "text"]  # one call per model kind
    html_rows = next(n for kind, n in calls if kind == "html")
    assert html_rows == sum(len(r.lines) for r in results[:-1])
    for result in results[:-1]:
        assert result.error is None and result.text == singles[result.id]
    assert results[-1].text == single_text


def test_extract_accepts_bytes_in_any_declared_charset(pages, extractor):
    source = pages["0490"].source
    expected = extractor.extract(source)
    assert linesift.extract(source.encode("utf-8")) == expected
    assert extractor.extract(source.encode("utf-8"), format="html") == expected
    latin = (
        "<html><head><meta charset='windows-1252'></head><body><p>Caf\u00e9 cr\u00e8me"
        " br\u00fbl\u00e9e, a long sentence of plain words for the reader.</p></body></html>"
    )
    (result,) = extractor.extract_many([latin.encode("windows-1252")])
    assert result.error is None
    assert [ln.text for ln in result.lines] == [ln.text for ln in extractor.predict_lines(latin)]
    (as_page,) = extractor.extract_many([Page(id="b", source=source.encode("utf-8"))])
    assert as_page.id == "b" and as_page.error is None and as_page.text == expected
    with pytest.raises(TypeError, match="str, bytes or Page"):
        list(extractor.extract_many([12345]))


def test_a_batch_ends_at_its_page_or_character_budget(pages, extractor, monkeypatch):
    sizes = {pid: len(p.source) for pid, p in pages.items()}
    batches = []
    original = extractor._run_batch

    def recording(batch):
        batches.append([p.id for p in batch])
        return original(batch)

    monkeypatch.setattr(extractor, "_run_batch", recording)
    batch = [Page(id=pid, source=p.source, format="html") for pid, p in pages.items()]
    pulled = []

    def lazily():
        for page in batch:
            pulled.append(page.id)
            yield page

    # a budget the first page alone reaches: every page is its own batch, and a page is
    # read only when the batch before it is done
    results = extractor.extract_many(lazily(), batch_chars=min(sizes.values()))
    first = next(results)
    assert pulled == [first.id] == [batches[0][0]]
    rest = list(results)
    assert batches == [[pid] for pid in pages]
    # the page count still bounds a batch; a budget no batch reaches leaves one batch
    batches.clear()
    texts = [r.text for r in extractor.extract_many(batch, batch_size=2)]
    assert batches == [list(pages)[:2], list(pages)[2:]]
    assert texts == [first.text, *(r.text for r in rest)]
    batches.clear()
    list(extractor.extract_many(batch, batch_chars=sum(sizes.values()) + 1))
    assert batches == [list(pages)]


def test_a_failing_page_costs_only_itself(pages, extractor, monkeypatch):
    real_segment = predict.segment

    def slow_on_marker(source, fmt):
        if "SLOW-PAGE" in source:
            time.sleep(5)
        return real_segment(source, fmt)

    monkeypatch.setattr(predict, "segment", slow_on_marker)
    limited = linesift.Extractor(page_timeout=0.3, max_lines=2000)
    huge = "<html><body>" + "<p>line of words here</p>" * 2500 + "</body></html>"
    batch = [
        Page(id="ok1", source=pages["0490"].source),
        Page(id="slow", source="<html><body><p>SLOW-PAGE</p></body></html>"),
        Page(id="bad-format", source="x", format="pdf"),
        Page(id="too-long", source=huge),
        Page(id="ok2", source=pages["0014"].source),
    ]
    started = time.time()
    results = {r.id: r for r in limited.extract_many(batch)}
    assert time.time() - started < 4.5  # the slow page was cut off, not waited for
    assert "page_timeout" in results["slow"].error
    assert "format" in results["bad-format"].error
    assert "over the limit of 2,000" in results["too-long"].error
    assert results["ok1"].error is None and KNOWN_SENTENCE["0490"] in results["ok1"].text
    assert results["ok2"].error is None and KNOWN_SENTENCE["0014"] in results["ok2"].text
    with pytest.raises(ValueError, match="page_timeout"):
        limited.predict_lines("<html><body><p>SLOW-PAGE</p></body></html>")


def test_garbage_collection_pauses_only_while_a_batch_runs(pages, extractor, monkeypatch):
    """Off during a batch (also one that fails), back as it was after it: on, or left off
    when the caller had turned it off."""
    import gc

    seen = []
    real_segment = predict.segment

    def recording(source, fmt):
        seen.append(gc.isenabled())
        if "FAIL-PAGE" in source:
            raise RuntimeError("boom")
        return real_segment(source, fmt)

    monkeypatch.setattr(predict, "segment", recording)
    batch = [pages["0490"], Page(id="bad", source="<p>FAIL-PAGE</p>"), pages["0014"]]
    assert gc.isenabled()
    results = list(extractor.extract_many(batch))
    assert results[1].error == "RuntimeError: boom" and KNOWN_SENTENCE["0014"] in results[2].text
    assert seen and not any(seen)
    assert gc.isenabled()
    gc.disable()
    try:
        list(extractor.extract_many(batch[:1]))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_registered_mlflow_model_by_alias(pages, tmp_path, monkeypatch):
    """``models:/linesift-html@champion`` from a local sqlite registry, offline."""
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setattr(config, "MLFLOW_TRACKING_URI", uri)
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("api-test", artifact_location=str(tmp_path / "art"))
    shipped = predict.resolve_model(None, "html")  # the shipped model (cached in-process)
    with mlflow.start_run(experiment_id=experiment):
        mlflow.sklearn.log_model(
            shipped.estimator,
            name="html_model",
            serialization_format="skops",
            skops_trusted_types=TRUSTED_TYPES,
            registered_model_name="linesift-html",
            pip_requirements=["scikit-learn", "skops"],  # skip slow requirement inference
        )
        mlflow.log_dict(shipped.card, "html/card.json")
        mlflow.log_artifact(str(config.model_dir("html") / "stack.skops"), artifact_path="html")
    MlflowClient().set_registered_model_alias("linesift-html", "champion", "1")

    registered = linesift.Extractor(model="models:/linesift-html@champion")
    assert registered.model("html").version == "linesift-html/1"
    source = pages["2740"].source
    got = registered.predict_lines(source)
    want = linesift.Extractor().predict_lines(source)
    assert [(ln.text, ln.probability, ln.label) for ln in got] == [
        (ln.text, ln.probability, ln.label) for ln in want
    ]
    with pytest.raises(predict.ModelError, match="linesift-html"):
        predict.resolve_model("models:/linesift-html@nobody", "html")


def test_extraction_needs_neither_scikit_learn_nor_skops(pages, tmp_path):
    """The shipped models predict from their flat trees: a fresh process extracts an HTML
    and a text page without importing scikit-learn or skops (seconds of start-up, ~90 MB)."""
    import subprocess
    import sys

    code = (
        "import sys, linesift\n"
        "html = open(sys.argv[1], encoding='utf-8').read()\n"
        "a = linesift.extract(html)\n"
        "b = linesift.extract('A line of text.\\n\\n' + a, format='text')\n"
        "assert a and b, (a, b)\n"
        "print(sorted(m for m in ('sklearn', 'skops') if m in sys.modules))\n"
    )
    path = tmp_path / "page.html"
    path.write_text(pages["0490"].source, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_extraction_lines_are_the_page_lines_with_their_labels(pages, extractor):
    """``Extraction.lines`` (made when first read) holds every line, in order, with its
    probability and label; the text is exactly the labelled lines."""
    (result,) = extractor.extract_many([pages["2740"].source])
    n = len(result.lines)  # before any Line exists
    lines = list(result.lines)
    assert n == len(lines) > 20
    assert result.lines == lines and result.lines[-1] == lines[-1]
    assert [ln.text for ln in result.lines[:3]] == [ln.text for ln in lines[:3]]
    assert result.text == "\n".join(ln.text for ln in lines if ln.label)
    threshold = extractor.threshold_for("html")
    assert all(
        (ln.probability >= threshold) == bool(ln.label)
        for ln in lines
        if abs(ln.probability - threshold) > 1e-4
    )
    assert 0 < sum(ln.label for ln in lines) < n
    assert lines == extractor.predict_lines(pages["2740"].source)


def _with_rules(model, **rules):
    """The model with its card's rules changed (a shallow copy: the same trees)."""
    changed = copy.copy(model)
    changed.card = {**model.card, "rules": {**model.card.get("rules", {}), **rules}}
    return changed


def test_a_page_of_one_paragraph_returns_it(tmp_path):
    """readability's ``ol`` page is one 17-word paragraph in a list: the model alone scores
    it ~0.01 and the page came out empty; the empty-page rule returns its visible body."""
    pages = {p.id.split("/")[1]: p for p in load_readability()}
    shipped = predict.resolve_model(None, "html")
    assert shipped.card["rules"]["empty_page_fallback_words"] == 50
    with_rule = linesift.Extractor(_with_rules(shipped, empty_page_fallback_words=50))
    without = linesift.Extractor(_with_rules(shipped, empty_page_fallback_words=0))
    for name in ("ol", "js-link-replacement", "invalid-attributes"):
        page = pages[name]
        assert without.extract(page) == ""
        text = with_rule.extract(page)
        assert word_f1(text, page.gold) == 1.0, (name, text)
    # the title ("Lorem Ipsum") is no part of the body it returns
    body = "Lorem ipsum dolor sit amet, consectetur adipiscing elit."
    assert with_rule.extract(pages["invalid-attributes"]) == body
    lines = with_rule.predict_lines(pages["ol"])
    assert [line.label for line in lines] == [1] and lines[0].probability < 0.4


def test_the_empty_page_rule_keeps_titles_hidden_text_and_larger_pages_empty(tmp_path):
    with_rule = linesift.Extractor(
        _with_rules(predict.resolve_model(None, "html"), empty_page_fallback_words=50)
    )
    # WCXB 4681: a page whose text is all rendered by script - only its <title> (gold empty)
    (title_only,) = wcxb_sample(tmp_path, ("4681",)).values()
    assert title_only.gold == ""
    assert with_rule.extract(title_only) == ""
    paragraph = "Deep fake phishing is still rare, and most attacks still start with a password."
    for body in (
        f"<p hidden>{paragraph}</p>",
        f'<p style="display: none">{paragraph}</p>',
        f"<noscript><p>{paragraph}</p></noscript>",
    ):
        html = f"<html><head><title>A page</title></head><body>{body}</body></html>"
        assert with_rule.extract(html, format="html") == "", body
    shown = f"<html><head><title>A page</title></head><body><p>{paragraph}</p></body></html>"
    assert with_rule.extract(shown, format="html") == paragraph
    # the rule knows no error pages: a bare 404 of two short lines returns them (a crawl
    # filters by HTTP status, as linesift's WARC reader does); one with its site's menu does not
    bare = "<html><body><h1>Not Found</h1><p>No such page here.</p></body></html>"
    assert with_rule.extract(bare, format="html") == "Not Found\nNo such page here."
    assert with_rule.extract(not_found_page(), format="html") == ""


def test_warm_up_loads_the_compiled_code_of_both_kinds():
    """In a fresh process: after ``warm_up`` every numba function of the features and the
    trees is compiled (a forked worker then shares them; a page's first structured data
    no longer compiles its code mid-run), except the helpers that only compiled code
    calls (compiled into their callers)."""
    code = (
        "import numba\n"
        "from linesift import features\n"
        "from linesift.modeling import predict, tree_predict\n"
        "inner = {'_gram_slot', '_same_span'}\n"
        "fns = {f'{m.__name__}.{k}': v for m in (features, tree_predict)\n"
        "       for k, v in vars(m).items()\n"
        "       if isinstance(v, numba.core.registry.CPUDispatcher) and k not in inner}\n"
        "assert len(fns) >= 12 and not any(f.signatures for f in fns.values())\n"
        "e = predict.Extractor()\n"
        "e.warm_up()\n"
        "missed = sorted(k for k, f in fns.items() if not f.signatures)\n"
        "assert not missed, missed\n"
        "assert set(e._models) == {'html', 'text'}\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
