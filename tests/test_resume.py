"""Batches lose nothing: ``--resume`` skips complete outputs only, a SIGKILLed run resumed
gives exactly one complete output per input, and a worker that dies costs only its page."""

from __future__ import annotations

import gc
import multiprocessing
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from test_cli import LINESIFT, _env, outputs

from linesift import cli, config
from linesift.dataset import read_page_file
from linesift.modeling.predict import Extractor

PAGE_IDS = ("0014", "0412", "0490", "2740", "0525", "4619")


def copy_pages(root: Path, copies: int) -> dict[str, str]:
    """``copies`` copies of each real WCXB page as root/cNNN/ID.html.gz; returns each page's
    fresh single extraction (what every output must equal)."""
    extractor = Extractor()
    expected = {}
    for pid in PAGE_IDS:
        src = config.WCXB_DIR / "html" / f"{pid}.html.gz"
        expected[pid] = extractor.extract(read_page_file(src), format="html")
        for n in range(copies):
            (root / f"c{n:03d}").mkdir(parents=True, exist_ok=True)
            shutil.copy(src, root / f"c{n:03d}" / f"{pid}.html.gz")
    return expected


def check_outputs(out: Path, expected: dict[str, str]) -> int:
    """Every output is complete: it equals a fresh extraction of its page."""
    files = list(out.rglob("*.txt"))
    for file in files:
        assert file.read_text("utf-8") == expected[file.stem] + "\n", file
    return len(files)


def test_resume_skips_complete_outputs_and_redoes_the_rest(tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    expected = copy_pages(src, 2)
    args = ["extract", str(src), "-o", str(out), "--workers", "1", "-q"]
    assert cli.main(args) == 0
    assert check_outputs(out, expected) == 12
    (out / "c000" / "0014.txt").unlink()
    (out / "c001" / "0490.txt").write_text("SENTINEL\n")  # an existing output is not redone
    stale = out / "c000" / ".0412.txt.99999.tmp"  # left by a killed run
    stale.write_text("partial")
    (out / "errors.jsonl").write_text('{"id": "old", "error": "from an earlier run"}\n')
    capsys.readouterr()

    assert cli.main([*args, "--resume"]) == 0
    err = capsys.readouterr().err
    assert "linesift: 1 pages, 0 failed, 11 skipped" in err
    assert (out / "c000" / "0014.txt").read_text("utf-8") == expected["0014"] + "\n"
    assert (out / "c001" / "0490.txt").read_text() == "SENTINEL\n"
    assert not stale.exists()
    assert not (out / "errors.jsonl").exists()  # stale: this run had no failure
    assert len(outputs(out)) == 12


def _crash_on_boom(tasks: list[cli.Task], *args) -> list[dict]:
    if any(task.id == "boom" for task in tasks):
        os._exit(3)  # like a segfault or the OOM killer
    return [{"id": task.id, "source": task.source_name, "pid": os.getpid()} for task in tasks]


def test_a_worker_that_dies_costs_only_its_page(monkeypatch):
    monkeypatch.setattr(cli, "_EXTRACTOR", object())  # forked workers need no model here
    batches = [
        [cli.Task(id, id, id) for id in ids] for ids in (["a", "b"], ["boom", "c"], ["d"], ["e"])
    ]
    results = list(cli._pool_map(batches, 2, ({}, None), _crash_on_boom, ()))
    assert [[r["id"] for r in batch] for batch in results] == [
        ["a", "b"],
        ["boom", "c"],
        ["d"],
        ["e"],
    ]
    flat = {r["id"]: r for batch in results for r in batch}
    assert "worker process died" in flat["boom"]["error"]
    assert all("error" not in flat[i] for i in "abcde")


def _frozen_objects(tasks, *args):
    return [
        {"id": task.id, "source": task.source_name, "frozen": gc.get_freeze_count()}
        for task in tasks
    ]


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="workers are forked"
)
def test_workers_are_forked_with_the_parents_objects_frozen(monkeypatch):
    """A forked worker's garbage collections do not traverse (and so do not copy) the
    objects it shares with the parent; the parent collects its own again afterwards."""
    monkeypatch.setattr(cli, "_EXTRACTOR", object())
    assert gc.get_freeze_count() == 0
    batches = [[cli.Task(id, id, id)] for id in "abc"]
    results = [
        r for batch in cli._pool_map(batches, 2, ({}, None), _frozen_objects, ()) for r in batch
    ]
    assert [r["id"] for r in results] == ["a", "b", "c"]
    assert all(r["frozen"] > 1000 for r in results)  # the interpreter's, pytest's, linesift's
    assert gc.get_freeze_count() == 0


def test_the_parent_warms_up_before_it_forks_workers(tmp_path, monkeypatch):
    """With workers, the CLI extracts its built-in warm-up pages before the pool exists, so
    the compiled code a first page loads is shared by the forked workers; one process
    (--workers 1) has nothing to share and does not."""
    src = tmp_path / "in"
    copy_pages(src, 1)
    events: list[str] = []
    real_warm_up, real_pool_map = Extractor.warm_up, cli._pool_map

    def warm_up(self, *args, **kwargs):
        events.append("warm_up")
        return real_warm_up(self, *args, **kwargs)

    def pool_map(*args, **kwargs):
        events.append("pool")
        return real_pool_map(*args, **kwargs)

    monkeypatch.setattr(Extractor, "warm_up", warm_up)
    monkeypatch.setattr(cli, "_pool_map", pool_map)
    for workers, expected in (("2", ["warm_up", "pool"]), ("1", [])):
        events.clear()
        out = tmp_path / f"out{workers}"
        assert cli.main(["extract", str(src), "-o", str(out), "--workers", workers]) == 0
        assert events == expected
        assert len(outputs(out)) == 6


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")
def test_sigkill_then_resume_gives_exactly_one_complete_output_per_page(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    expected = copy_pages(src, 50)  # 300 pages
    argv = [LINESIFT, "extract", str(src), "-o", str(out), "--workers", "2"]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=_env(),
        start_new_session=True,  # its own process group: the kill takes the workers too
    )
    deadline = time.time() + 240
    try:
        while time.time() < deadline and proc.poll() is None:
            if out.exists() and sum(1 for _ in out.rglob("*.txt")) >= 20:
                break
            time.sleep(0.01)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    done = check_outputs(out, expected)
    assert 20 <= done < 300, done

    resumed = subprocess.run(
        [*argv, "--resume"], capture_output=True, text=True, env=_env(), timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    summary = resumed.stderr.strip().splitlines()[-1]
    assert summary.startswith(f"linesift: {300 - done} pages, 0 failed, {done} skipped"), summary
    assert check_outputs(out, expected) == 300
    assert len(outputs(out)) == 300 and {p.parent.name for p in out.rglob("*.txt")} == {
        f"c{n:03d}" for n in range(50)
    }
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert not (out / "errors.jsonl").exists()
