"""``linesift extract`` end to end on real WCXB pages: every input kind, every output format,
exit codes, errors.jsonl, limits. In-process (``cli.main``) where possible; as a subprocess
for stdin and the exit codes of the installed command."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from linesift import cli, config
from linesift.dataset import Page, load_wcxb
from linesift.modeling.predict import Extractor
from linesift.scoring import word_f1

LINESIFT = str(Path(sys.executable).with_name("linesift"))
# Small real pages, with headings and list items in their main content.
PAGE_IDS = ("0014", "0412", "0490", "2740")
KNOWN_SENTENCE = {
    "0014": "The instructor can usually be reached by Canvas discussion, e-mail, and/or "
    "instant messaging.",
    "0490": "Rust has officially graduated.",
}


def wcxb_sample(tmp: Path, ids=PAGE_IDS) -> dict[str, Page]:
    """The given WCXB pages via the real loader (a WCXB-shaped root of symlinks)."""
    root = tmp / "wcxb"
    for sub in ("html", "ground-truth"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for pid in ids:
        for sub, name in (("html", f"{pid}.html.gz"), ("ground-truth", f"{pid}.json")):
            target = root / sub / name
            if not target.exists():
                target.symlink_to(config.WCXB_DIR / sub / name)
    return {p.id.split("/")[1]: p for p in load_wcxb(root)}


def text_page(page: Page) -> str:
    """A plain-text page: the gold main text between navigation-like lines."""
    nav = ["Home | News | Sport | Weather | Contact", "Sign in", "Subscribe to our newsletter"]
    foot = ["Privacy policy | Terms of use | Cookies", "Copyright 2025 Example Media Ltd."]
    return "\n".join(nav + page.gold.splitlines() + foot)


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Page]:
    return wcxb_sample(tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor()


@pytest.fixture(scope="module")
def tree(tmp_path_factory, pages) -> Path:
    """An input tree with every input kind:
    in/a/0014.html, in/a/b/0412.html.gz, in/0490.htm, in/notes.txt, in/crawl.jsonl (two good
    records, one without html/text, one not JSON), in/readme.pdf (not a page: ignored)."""
    root = tmp_path_factory.mktemp("in")
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "0014.html").write_text(pages["0014"].source, encoding="utf-8")
    with gzip.open(root / "a" / "b" / "0412.html.gz", "wt", encoding="utf-8") as fh:
        fh.write(pages["0412"].source)
    (root / "0490.htm").write_text(pages["0490"].source, encoding="utf-8")
    (root / "notes.txt").write_text(text_page(pages["0014"]), encoding="utf-8")
    records = [
        json.dumps({"id": "p2740", "html": pages["2740"].source}),
        json.dumps({"id": "t0490", "text": text_page(pages["0490"])}),
        json.dumps({"id": "empty-record", "url": "https://example.com/"}),
        "{not json",
    ]
    (root / "crawl.jsonl").write_text("\n".join(records) + "\n", encoding="utf-8")
    (root / "readme.pdf").write_bytes(b"%PDF-1.4")
    return root


def extract(*argv) -> int:
    """``linesift extract ARGV`` in-process, one worker, no progress bar."""
    return cli.main(["extract", *map(str, argv), "--workers", "1", "-q"])


def run(argv: list[str], capsys=None) -> tuple[int, str, str]:
    code = cli.main(argv)
    if capsys is None:
        return code, "", ""
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def outputs(out: Path, pattern: str = "*.txt") -> set[str]:
    return {str(p.relative_to(out)) for p in out.rglob(pattern)}


# ---------------------------------------------------------------- text output, every input kind


@pytest.fixture(scope="module")
def text_run(tree, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "text"
    code = cli.main(["extract", str(tree), "-o", str(out), "--workers", "1", "-q"])
    return code, out


def test_directory_recursion_writes_one_output_per_page_at_its_relative_path(text_run):
    code, out = text_run
    assert code == cli.EXIT_PAGES_FAILED  # two bad JSONL records
    assert outputs(out) == {
        "a/0014.txt",
        "a/b/0412.txt",
        "0490.txt",
        "notes.txt",
        "crawl/p2740.txt",
        "crawl/t0490.txt",
    }
    assert not list(out.rglob("*.tmp"))


def test_extracted_text_matches_the_gold(text_run, pages):
    _, out = text_run
    for rel, pid in (("a/0014", "0014"), ("a/b/0412", "0412"), ("0490", "0490")):
        text = (out / f"{rel}.txt").read_text("utf-8")
        assert word_f1(text, pages[pid].gold) >= 0.5, rel
    assert KNOWN_SENTENCE["0014"] in (out / "a/0014.txt").read_text("utf-8")
    assert KNOWN_SENTENCE["0490"] in (out / "0490.txt").read_text("utf-8")
    # JSONL html record and a plain-text page (text model)
    assert word_f1((out / "crawl/p2740.txt").read_text("utf-8"), pages["2740"].gold) >= 0.5
    notes = (out / "notes.txt").read_text("utf-8")
    assert word_f1(notes, pages["0014"].gold) >= 0.5
    assert KNOWN_SENTENCE["0014"] in notes


def test_gz_output_equals_plain_extraction(text_run, pages, extractor):
    _, out = text_run
    expected = extractor.extract(pages["0412"].source, format="html")
    assert (out / "a/b/0412.txt").read_text("utf-8") == expected + "\n"


def test_errors_jsonl_lists_the_failed_records(text_run, tree):
    _, out = text_run
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert len(errors) == 2
    by_id = {e["id"]: e for e in errors}
    missing = by_id["empty-record"]
    assert missing["source"] == f"{tree / 'crawl.jsonl'}:3"
    assert "no 'html' or 'text'" in missing["error"]
    not_json = by_id[f"{tree / 'crawl.jsonl'}:4"]
    assert "not JSON" in not_json["error"]


def test_glob_and_single_file_inputs(tree, tmp_path):
    out = tmp_path / "out"
    code = extract(tree / "**" / "*.html.gz", tree / "0490.htm", "-o", out)
    assert code == cli.EXIT_OK
    assert outputs(out) == {"0412.txt", "0490.txt"}
    assert not (out / "errors.jsonl").exists()


# ---------------------------------------------------------------- formats


def test_jsonl_format_has_lines_with_probabilities_and_model(tree, tmp_path, pages):
    out_file = tmp_path / "pages.jsonl"
    code = extract(tree / "a", tree / "notes.txt", "--format", "jsonl", "-o", out_file)
    assert code == cli.EXIT_OK
    records = {r["id"]: r for r in map(json.loads, out_file.read_text("utf-8").splitlines())}
    assert set(records) == {"0014.html", "b/0412.html.gz", "notes.txt"}
    for rid, kind in (("0014.html", "html"), ("b/0412.html.gz", "html"), ("notes.txt", "text")):
        rec = records[rid]
        card = json.loads((config.model_dir(kind) / "card.json").read_text())
        assert rec["model"] == f"linesift-{kind}"
        assert rec["model_version"] == card["version"]
        assert rec["format"] == kind
        threshold = card["thresholds"]["balanced"]
        assert rec["lines"], rid
        for line in rec["lines"]:
            assert 0.0 <= line["probability"] <= 1.0
            assert line["label"] == int(line["probability"] >= threshold)
        kept = [ln["text"] for ln in rec["lines"] if ln["label"]]
        assert rec["text"] == "\n".join(kept)
        assert 0 < len(kept) < len(rec["lines"])
    assert records["0014.html"]["source"] == str(tree / "a" / "0014.html")
    assert word_f1(records["b/0412.html.gz"]["text"], pages["0412"].gold) >= 0.5


def test_favor_precision_uses_the_precision_threshold(tree, tmp_path):
    out_file = tmp_path / "p.jsonl"
    argv = [tree / "0490.htm", "--format", "jsonl", "-o", out_file]
    assert extract(*argv, "--favor", "precision") == 0
    (rec,) = map(json.loads, out_file.read_text().splitlines())
    card = json.loads((config.model_dir("html") / "card.json").read_text())
    precision = card["thresholds"]["precision"]
    assert precision != card["thresholds"]["balanced"]
    assert all(ln["label"] == int(ln["probability"] >= precision) for ln in rec["lines"])
    assert extract(*argv, "--threshold", "0.99") == 0
    (strict,) = map(json.loads, out_file.read_text().splitlines())
    assert sum(ln["label"] for ln in strict["lines"]) < sum(ln["label"] for ln in rec["lines"])


def test_markdown_keeps_headings_and_list_items(tree, tmp_path, extractor, pages):
    out = tmp_path / "md"
    code = extract(tree / "crawl.jsonl", "--format", "markdown", "-o", out)
    assert code == cli.EXIT_PAGES_FAILED  # the two bad records again
    md = (out / "crawl" / "p2740.md").read_text("utf-8")
    lines = extractor.predict_lines(pages["2740"].source)
    heading = next(ln for ln in lines if ln.label and ln.tag in ("h1", "h2"))
    item = next(ln for ln in lines if ln.label and ln.tag == "li")
    paragraphs = md.split("\n\n")
    assert "#" * int(heading.tag[1]) + " " + heading.text in paragraphs
    assert "- " + item.text in paragraphs
    assert not any(p.startswith(("#", "- ")) and p.lstrip("#- ") == "" for p in paragraphs)


# ---------------------------------------------------------------- failures, limits, encodings


def test_a_page_over_a_limit_fails_alone_with_a_clear_message(tree, tmp_path, pages):
    out = tmp_path / "out"
    small = tmp_path / "in"
    small.mkdir()
    shutil.copy(tree / "a" / "b" / "0412.html.gz", small / "big.html.gz")
    (small / "tiny.html").write_text("<html><body><p>" + "word " * 40 + "</p></body></html>")
    limit = 5_000
    assert len(pages["0412"].source.encode()) > limit
    code = extract(small, "-o", out, "--max-bytes", limit)
    assert code == cli.EXIT_PAGES_FAILED
    assert outputs(out) == {"tiny.txt"}
    (error,) = map(json.loads, (out / "errors.jsonl").read_text().splitlines())
    assert error["id"] == "big.html.gz"
    assert "--max-bytes" in error["error"] and "5,000" in error["error"]

    out2 = tmp_path / "out2"
    code = extract(tree / "0490.htm", "-o", out2, "--max-lines", 5)
    assert code == cli.EXIT_PAGES_FAILED
    (error,) = map(json.loads, (out2 / "errors.jsonl").read_text().splitlines())
    assert "over the limit of 5" in error["error"] and "max-lines" in error["error"]
    assert not (out2 / "0490.txt").exists()


def test_unreadable_and_oddly_encoded_files_never_stop_the_batch(tmp_path, pages):
    src = tmp_path / "in"
    src.mkdir()
    (src / "truncated.html.gz").write_bytes(gzip.compress(pages["0490"].source.encode())[:300])
    cp1252 = pages["0490"].source.replace('<meta charset="utf-8">', '<meta charset="windows-1252">')
    (src / "cp1252.html").write_bytes(cp1252.encode("cp1252", errors="xmlcharrefreplace"))
    (src / "bom.html").write_bytes(b"\xef\xbb\xbf" + pages["0490"].source.encode("utf-8"))
    (src / "garbage.html").write_bytes(b"<html><body><p>" + bytes(range(128, 256)) * 20)
    out = tmp_path / "out"
    assert extract(src, "-o", out) == 1
    assert outputs(out) == {"cp1252.txt", "bom.txt", "garbage.txt"}
    bom = (out / "bom.txt").read_text("utf-8")
    assert KNOWN_SENTENCE["0490"] in bom and "’" in bom  # curly quotes decoded
    assert (out / "cp1252.txt").read_text("utf-8") == bom
    (error,) = map(json.loads, (out / "errors.jsonl").read_text().splitlines())
    assert error["id"] == "truncated.html.gz" and "cannot read" in error["error"]


def test_two_inputs_with_the_same_output_path_do_not_overwrite_each_other(tmp_path, pages):
    src = tmp_path / "in"
    src.mkdir()
    (src / "page.html").write_text(pages["0490"].source)
    (src / "page.htm").write_text(pages["0014"].source)
    out = tmp_path / "out"
    assert extract(src, "-o", out) == 1
    # inputs are taken in sorted order: page.htm (0014) first, page.html is refused
    assert KNOWN_SENTENCE["0014"] in (out / "page.txt").read_text("utf-8")
    (error,) = map(json.loads, (out / "errors.jsonl").read_text().splitlines())
    assert error["id"] == "page.html" and "also the output of" in error["error"]
    assert error["error"].endswith(str(src / "page.htm"))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["extract", "/nonexistent/page.html"], "no such file"),
        (["extract", "{tree}/nothing-*.html"], "no such file"),
        (["extract", "{empty}"], "no input pages"),
        (["extract", "{tree}/0490.htm", "--model", "{empty}"], "unusable model"),
        (["extract", "{tree}/0490.htm", "--model", "{text_model}"], "expected a 'html'"),
        (["extract", "{tree}/0490.htm", "--resume"], "--resume needs -o"),
        (["extract", "{tree}/0490.htm", "--resume", "--format", "jsonl", "-o", "{out}"], "jsonl"),
    ],
)
def test_usage_errors_exit_2(argv, message, tree, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    values = {
        "tree": tree,
        "empty": tmp_path / "empty",
        "out": tmp_path / "o",
        "text_model": config.model_dir("text"),
    }
    code, _, err = run([a.format(**values) for a in argv], capsys)
    assert code == cli.EXIT_USAGE
    assert message in err


def test_bad_option_values_exit_2(tree):
    for bad in (["--threshold", "1.5"], ["--max-bytes", "-1"], ["--format", "pdf"]):
        with pytest.raises(SystemExit) as exc:
            cli.main(["extract", str(tree / "0490.htm"), *bad])
        assert exc.value.code == cli.EXIT_USAGE


def test_tampered_model_is_a_usage_error(tree, tmp_path, capsys):
    model = tmp_path / "model"
    shutil.copytree(config.model_dir("html"), model)
    with open(model / "model.skops", "ab") as fh:
        fh.write(b"\0")
    code, _, err = run(["extract", str(tree / "0490.htm"), "--model", str(model)], capsys)
    assert code == cli.EXIT_USAGE and "sha256" in err


# ---------------------------------------------------------------- the installed command


def _env() -> dict[str, str]:
    return dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")


def test_stdin_and_jsonl_to_stdout_exit_1(tree, pages, extractor):
    """The installed command: a page on stdin (with a BOM) and a JSONL file with two bad
    records, records to stdout, exit 1, each failure named on stderr, a summary line."""
    data = b"\xef\xbb\xbf" + pages["0490"].source.encode("utf-8")
    proc = subprocess.run(
        [LINESIFT, "extract", "-", str(tree / "crawl.jsonl"), "--format=jsonl", "--workers=2"],
        input=data,
        capture_output=True,
        env=_env(),
        timeout=300,
    )
    stderr = proc.stderr.decode()
    assert proc.returncode == 1, stderr
    records = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [r["id"] for r in records] == ["stdin", "p2740", "t0490"]
    assert records[0]["source"] == "<stdin>"
    assert records[0]["text"] == extractor.extract(pages["0490"].source)
    assert records[2]["model"] == "linesift-text"
    assert f"{tree / 'crawl.jsonl'}:3: record has no 'html' or 'text' string" in stderr
    summary = stderr.strip().splitlines()[-1]
    assert summary.startswith("linesift: 5 pages, 2 failed, ") and "pages/s" in summary


def test_missing_input_exits_2_from_the_command(tmp_path):
    proc = subprocess.run(
        [LINESIFT, "extract", str(tmp_path / "missing.html"), "-o", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )
    assert proc.returncode == 2
    assert "no such file or directory" in proc.stderr
