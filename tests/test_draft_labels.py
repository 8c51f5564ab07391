"""`linesift label`: draft labels with the shipped model, edit the TSV, apply, train on them."""

from __future__ import annotations

import copy
import json
import shutil

import pytest

from linesift import cli, config
from linesift.dataset import load_native
from linesift.draft_labels import (
    LabelError,
    add_to_params,
    apply_tsv,
    draft_files,
    escape,
    page_url,
    read_tsv,
)
from linesift.features import featurize_lines
from linesift.modeling.predict import Extractor
from linesift.modeling.train import fit_line_model
from linesift.prepare import TEXT_VIEWS, load_training_pages, prepare
from linesift.segment import segment


@pytest.fixture(scope="module")
def extractor():
    return Extractor()  # the shipped models in models/


@pytest.fixture
def drafted(tmp_path, wcxb_pages, extractor):
    """Three WCXB pages saved as files and drafted into labeled.jsonl + labeled.tsv."""
    page_dir = tmp_path / "pages"
    page_dir.mkdir()
    chosen = [wcxb_pages[i] for i in (1, 7, 13)]
    for page in chosen:
        (page_dir / f"{page.id.split('/')[1]}.html").write_text(page.source, encoding="utf-8")
    out = tmp_path / "labeled.jsonl"
    jsonl, tsv, n = draft_files([page_dir], out, page_type="article", extractor=extractor)
    return {"jsonl": jsonl, "tsv": tsv, "n": n, "pages": chosen, "dir": page_dir}


def _flip(tsv, edits: dict[int, list[int]]) -> dict[str, list[int]]:
    """Flip the labels of the given line indexes of the n-th page; return the new labels."""
    out, labels, page_no, line_no = [], {}, -1, 0
    current = None
    for raw in tsv.read_text("utf-8").splitlines(keepends=True):
        if raw.startswith("# page "):
            page_no += 1
            line_no = 0
            current = labels.setdefault(raw[7:].rstrip("\n"), [])
        elif not raw.startswith("#"):
            label, prob, text = raw.split("\t", 2)
            if line_no in edits.get(page_no, []):
                label = str(1 - int(label))
                prob = "0.5"  # the probability column is ignored on apply
            current.append(int(label))
            raw = f"{label}\t{prob}\t{text}"
            line_no += 1
        out.append(raw)
    tsv.write_text("".join(out), encoding="utf-8")
    return labels


def test_draft_writes_native_jsonl_and_tsv(drafted, extractor):
    assert drafted["n"] == 3
    assert drafted["tsv"] == drafted["jsonl"].with_suffix(".tsv")
    records = [json.loads(x) for x in drafted["jsonl"].read_text("utf-8").splitlines()]
    tsv_pages = read_tsv(drafted["tsv"])
    assert list(tsv_pages) == [r["id"] for r in records]
    by_name = {p.id.split("/")[1]: p for p in drafted["pages"]}
    for rec in records:
        page = by_name[rec["id"].rsplit("/", 1)[1]]
        assert rec["format"] == "html" and rec["html"] == page.source
        assert rec["page_type"] == "article" and rec["dataset"] == "native"
        lines = segment(page.source, "html").text
        predicted = extractor.predict_lines(page.source, "html")
        assert rec["labels"] == [ln.label for ln in predicted]
        assert len(rec["labels"]) == len(lines)
        assert 0 < sum(rec["labels"]) < len(lines)
        rows = tsv_pages[rec["id"]]
        assert [text for _, _, text in rows] == [escape(t) for t in lines]
        assert [label for _, label, _ in rows] == rec["labels"]
        assert rec["gold"] == "\n".join(
            t for t, lab in zip(lines, rec["labels"], strict=True) if lab
        )
    text = drafted["tsv"].read_text("utf-8")
    first = text.split("# page ", 2)[1].splitlines()[1].split("\t")
    assert first[0] in ("0", "1") and 0 <= float(first[1]) <= 1


def test_edited_labels_train_a_model(drafted, wcxb_pages, params):
    edited = _flip(drafted["tsv"], {0: [0, 1, 2, 3], 1: [5], 2: list(range(10))})
    pages = apply_tsv(drafted["tsv"], drafted["jsonl"])
    assert {p.id: p.labels for p in pages} == edited
    native = list(load_native(drafted["jsonl"]))
    assert {p.id: p.labels for p in native} == edited
    assert all(p.dataset == "native" for p in native)

    # the params.yaml route: data.labeled names the JSONL, prepare loads it
    p = copy.deepcopy(params)
    p["data"] = {"wcxb": False, "readability": False, "labeled": [str(drafted["jsonl"])]}
    assert [x.id for x in load_training_pages(p)] == [x.id for x in native]

    slice_ = [pg for i, pg in enumerate(wcxb_pages) if i % 3 == 0][:15]
    page_frame, lines = prepare(slice_ + native, p["prepare"] | {"labels": p["labels"]}, workers=1)
    html = lines[lines.view == "html"]
    for page_id, labels in edited.items():
        assert html[html.page_id == page_id].sort_values("line_no").label.tolist() == labels
    # gold = the edited content lines, so the text views are labeled from it too
    assert set(lines[lines.page_id.isin(edited)].view) == {"html", *TEXT_VIEWS}

    table = featurize_lines(html, "html")
    table["text"] = html["text"].to_numpy()
    p["train"].update(cv_folds=2, n_jobs=1)
    p["train"]["hgb"]["max_iter"] = 20
    result = fit_line_model("html", table, page_frame, p)
    card = result["model"].card
    assert card["training_data"]["datasets"] == ["native", "wcxb"]
    assert card["training_data"]["pages"] == 18
    pred = result["predictions"]
    native_pred = pred[pred.page_id.isin(edited)]
    assert (native_pred.fold >= 0).all()  # training pages, predicted out of fold
    for page_id, labels in edited.items():
        rows = native_pred[native_pred.page_id == page_id].sort_values("line_no")
        assert rows.label.tolist() == labels


def test_apply_refuses_changed_lines(drafted):
    tsv = drafted["tsv"]
    original = tsv.read_text("utf-8")
    rows = original.splitlines(keepends=True)
    first_page = next(i for i, r in enumerate(rows) if r.startswith("# page "))
    page_id = rows[first_page][7:].strip()

    # a line's text edited
    bad = rows.copy()
    label, prob, _ = bad[first_page + 3].split("\t", 2)
    bad[first_page + 3] = f"{label}\t{prob}\tsomething else\n"
    tsv.write_text("".join(bad), encoding="utf-8")
    with pytest.raises(LabelError, match=rf"page {page_id} line 3: text changed"):
        apply_tsv(tsv, drafted["jsonl"])

    # a line removed
    tsv.write_text("".join(rows[: first_page + 2] + rows[first_page + 3 :]), encoding="utf-8")
    with pytest.raises(LabelError, match=rf"page {page_id} line 2: text changed"):
        apply_tsv(tsv, drafted["jsonl"])

    # the last line of a page removed: a count mismatch
    next_page = next(i for i, r in enumerate(rows) if i > first_page and r.startswith("# page "))
    tsv.write_text("".join(rows[: next_page - 1] + rows[next_page:]), encoding="utf-8")
    with pytest.raises(LabelError, match=rf"page {page_id} has \d+ lines but the TSV has"):
        apply_tsv(tsv, drafted["jsonl"])

    # a label that is not 0/1
    bad = rows.copy()
    bad[first_page + 1] = "x" + bad[first_page + 1][1:]
    tsv.write_text("".join(bad), encoding="utf-8")
    with pytest.raises(LabelError, match=rf":{first_page + 2}: label must be 0 or 1"):
        apply_tsv(tsv, drafted["jsonl"])

    # a page missing
    tsv.write_text("".join(rows[:first_page] + rows[next_page:]), encoding="utf-8")
    with pytest.raises(LabelError, match=rf"page {page_id} is missing"):
        apply_tsv(tsv, drafted["jsonl"])

    # nothing was written by the failed applies
    assert [p.labels for p in load_native(drafted["jsonl"])] == [
        [int(r.split("\t")[0]) for r in block.splitlines()[1:] if r and not r.startswith("#")]
        for block in original.split("# page ")[1:]
    ]


def test_add_to_params_keeps_comments_and_is_idempotent(tmp_path):
    params_file = tmp_path / "params.yaml"
    shutil.copy(config.PARAMS_FILE, params_file)
    before = params_file.read_text("utf-8")
    (tmp_path / "data").mkdir()
    target = tmp_path / "data" / "mine.jsonl"
    assert add_to_params(target, params_file) is True
    assert add_to_params(target, params_file) is False
    after = params_file.read_text("utf-8")
    assert config.load_params(params_file)["data"]["labeled"] == ["data/mine.jsonl"]
    # every comment line survives, and only the labeled line changed
    changed = [
        (a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b
    ]
    assert len(changed) == 1 and "labeled:" in changed[0][1]
    assert "# native labeled-page JSONL files" in changed[0][1]
    outside = tmp_path.parent / "elsewhere.jsonl"
    add_to_params(outside, params_file)
    assert config.load_params(params_file)["data"]["labeled"][-1] == str(outside.resolve())


def test_cli_draft_apply_and_errors(tmp_path, wcxb_pages, capsys):
    page = tmp_path / "one.html"
    page.write_text(wcxb_pages[2].source, encoding="utf-8")
    out = tmp_path / "out" / "labeled.jsonl"
    assert cli.main(["label", str(page), "-o", str(out)]) == 0
    assert "drafted 1 pages" in capsys.readouterr().err
    tsv = out.with_suffix(".tsv")
    labels = _flip(tsv, {0: [0]})
    assert cli.main(["label", "--apply", str(tsv), "-o", str(out)]) == 0
    assert [p.labels for p in load_native(out)] == list(labels.values())

    tsv.write_text(tsv.read_text("utf-8").replace("\t", "\tX", 3), encoding="utf-8")
    assert cli.main(["label", "--apply", str(tsv), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"page {tmp_path / 'one'} line" in err and "text changed" in err
    assert cli.main(["label", "-o", str(out)]) == 2
    assert cli.main(["label", str(tmp_path / "missing.html"), "-o", str(out)]) == 2


def test_page_url():
    html = '<html><head><link rel="canonical" href="https://news.example.co.uk/a"></head>'
    assert page_url(html) == "https://news.example.co.uk/a"
    assert page_url('<meta property="og:url" content="https://x.org/b">') == "https://x.org/b"
    assert page_url("<p>no url</p>") == ""
