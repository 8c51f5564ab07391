"""Streaming memory and worker scaling of `linesift extract` on many pages.

    python bench/scale.py --copies 7 --workers 1 2

Builds a directory of ``--copies`` x the 1,497 WCXB dev pages (symlinks, one sub-directory
per copy) and runs `linesift extract DIR -o OUT --workers W` on it for each ``W``, as a
separate process. While it runs, the memory of the whole process tree (the CLI and its
workers) is sampled every 0.1 s. Prints, per run: pages, failed, wall seconds, pages/s,
the speed-up of each worker count over the first one, and the peaks of the tree's summed
PSS, its summed RSS and the RSS of its largest process (see ``_tree_memory``); then what
the host gives that many CPU-bound processes (``host_scaling``), the ceiling to read the
speed-up against.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from linesift import config


def _tree_memory(proc: psutil.Process) -> tuple[int, int, int]:
    """(summed PSS, summed RSS, largest RSS) of a process and its descendants, in bytes.

    Forked workers share the parent's pages (interpreter, libraries, models) until they
    write them: RSS counts a shared page in every process, PSS divides it among them, so
    the summed PSS is the memory the run really holds."""
    pss, rss = [], []
    for p in [proc, *proc.children(recursive=True)]:
        try:
            full = p.memory_full_info()
        except psutil.Error:  # a worker that just exited
            continue
        pss.append(full.pss)
        rss.append(full.rss)
    return sum(pss), sum(rss), max(rss, default=0)


def _run(pages_dir: Path, out_dir: Path, workers: int) -> dict:
    cmd = [
        sys.executable, "-m", "linesift.cli", "extract", str(pages_dir), "-o", str(out_dir),
        "--workers", str(workers), "--quiet",
    ]  # fmt: skip
    started = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc = psutil.Process(child.pid)
    peak_pss = peak_sum = peak_one = 0
    while child.poll() is None:
        pss, total, largest = _tree_memory(proc)
        peak_pss, peak_sum, peak_one = (
            max(peak_pss, pss),
            max(peak_sum, total),
            max(peak_one, largest),
        )
        time.sleep(0.1)
    wall = time.perf_counter() - started
    _, stderr = child.communicate()
    if child.returncode not in (0, 1):
        raise SystemExit(f"linesift extract failed ({child.returncode}):\n{stderr}")
    written = sum(1 for _ in out_dir.rglob("*.txt"))
    return {
        "workers": workers,
        "pages": written,
        "summary": stderr.strip().splitlines()[-1] if stderr.strip() else "",
        "wall": wall,
        "peak_pss_mb": peak_pss / 2**20,
        "peak_sum_mb": peak_sum / 2**20,
        "peak_one_mb": peak_one / 2**20,
    }


def _spin(n: int) -> None:
    total = 0
    for i in range(n):
        total += i * i


def host_scaling(processes: int, n: int = 30_000_000) -> float:
    """How much ``processes`` copies of a CPU-bound Python loop get done per second,
    relative to one copy: what this host gives a second process at best (vCPUs may share
    physical cores; the workers' speed-up is read against it)."""
    import multiprocessing

    def rate(k: int) -> float:
        started = time.perf_counter()
        procs = [multiprocessing.Process(target=_spin, args=(n,)) for _ in range(k)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        return k / (time.perf_counter() - started)

    return rate(processes) / rate(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=7, help="copies of the WCXB pages")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    sources = sorted((config.WCXB_DIR / "html").glob("*.html.gz"))
    with tempfile.TemporaryDirectory() as tmp:
        pages_dir = Path(tmp) / "pages"
        for copy in range(args.copies):
            sub = pages_dir / f"copy{copy}"
            sub.mkdir(parents=True)
            for src in sources:
                (sub / src.name).symlink_to(src.resolve())
        results = []
        for workers in args.workers:
            out_dir = Path(tmp) / f"out{workers}"
            results.append(_run(pages_dir, out_dir, workers))
            shutil.rmtree(out_dir)
    print(f"{len(sources) * args.copies} pages ({args.copies} x WCXB dev), one run per count")
    print("| workers | pages written | wall s | pages/s | speed-up | peak PSS, all processes MB "
          "| peak RSS, all processes MB | peak RSS, largest process MB |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    base = results[0]["pages"] / results[0]["wall"]
    for r in results:
        rate = r["pages"] / r["wall"]
        print(
            f"| {r['workers']} | {r['pages']} | {r['wall']:.1f} | {rate:.1f} | "
            f"{rate / base:.2f}x | {r['peak_pss_mb']:.0f} | {r['peak_sum_mb']:.0f} | "
            f"{r['peak_one_mb']:.0f} |"
        )
    for r in results:
        print(f"workers {r['workers']}: {r['summary']}")
    top = max(args.workers)
    if top > 1:
        print(f"host: a CPU-bound loop in {top} processes does {host_scaling(top):.2f}x one")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
