"""Streaming memory and worker scaling of `linesift extract` on many pages.

    python bench/scale.py --copies 7 --workers 1 2 --rounds 3

Builds a directory of ``--copies`` x the 1,497 WCXB dev pages (symlinks, one sub-directory
per copy) and runs `linesift extract DIR -o OUT --workers W` on it for each ``W``, as a
separate process, ``--rounds`` times (the order of the worker counts reversed every other
round, so a drift of the host's load hits both). While a run goes, the memory of the whole
process tree (the CLI and its workers) is sampled: RSS every 0.1 s, PSS every second
(reading a process's PSS walks its page tables, ~3 ms a process under the process's memory
lock: at 10 Hz that took ~10 % of a core from the two-worker runs and none from the
one-worker runs, whose second core is idle). Prints, per run: pages, wall seconds, pages/s,
the CLI's own pages/s (start-up excluded), the CPU seconds of the process tree and of the
CLI itself, and the peaks of the tree's summed PSS, its summed RSS and the RSS of its
largest process (see ``_tree_memory``); then the speed-up of each worker count over the
first one, round by round and the median; then what the host gives that many CPU-bound
processes (``host_scaling``), the ceiling to read the speed-up against.
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from linesift import config

RSS_EVERY = 0.1  # seconds
PSS_EVERY = 1.0


def _tree_memory(proc: psutil.Process, with_pss: bool) -> tuple[int, int, int]:
    """(summed PSS, summed RSS, largest RSS) of a process and its descendants, in bytes; the
    PSS is 0 unless ``with_pss``.

    Forked workers share the parent's pages (interpreter, libraries, models) until they
    write them: RSS counts a shared page in every process, PSS divides it among them, so
    the summed PSS is the memory the run really holds."""
    pss, rss = [], []
    for p in [proc, *proc.children(recursive=True)]:
        try:
            if with_pss:
                full = p.memory_full_info()
                pss.append(full.pss)
                rss.append(full.rss)
            else:
                rss.append(p.memory_info().rss)
        except psutil.Error:  # a worker that just exited
            continue
    return sum(pss), sum(rss), max(rss, default=0)


def _cpu_seconds(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def _run(pages_dir: Path, out_dir: Path, workers: int) -> dict:
    cmd = [
        sys.executable, "-m", "linesift.cli", "extract", str(pages_dir), "-o", str(out_dir),
        "--workers", str(workers), "--quiet",
    ]  # fmt: skip
    children_before = _cpu_seconds(resource.getrusage(resource.RUSAGE_CHILDREN))
    started = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc = psutil.Process(child.pid)
    peak_pss = peak_sum = peak_one = 0
    own_cpu = 0.0
    next_pss = started
    while child.poll() is None:
        now = time.perf_counter()
        with_pss = now >= next_pss
        if with_pss:
            next_pss = now + PSS_EVERY
        pss, total, largest = _tree_memory(proc, with_pss)
        peak_pss, peak_sum, peak_one = (
            max(peak_pss, pss),
            max(peak_sum, total),
            max(peak_one, largest),
        )
        try:
            times = proc.cpu_times()  # the CLI's own, not its workers'
            own_cpu = times.user + times.system
        except psutil.Error:
            pass
        time.sleep(RSS_EVERY)
    wall = time.perf_counter() - started
    _, stderr = child.communicate()
    tree_cpu = _cpu_seconds(resource.getrusage(resource.RUSAGE_CHILDREN)) - children_before
    if child.returncode not in (0, 1):
        raise SystemExit(f"linesift extract failed ({child.returncode}):\n{stderr}")
    written = sum(1 for _ in out_dir.rglob("*.txt"))
    summary = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    reported = re.search(r"([\d.]+) pages/s", summary)
    return {
        "workers": workers,
        "pages": written,
        "summary": summary,
        "wall": wall,
        "rate": written / wall,
        "cli_rate": float(reported.group(1)) if reported else float("nan"),
        "tree_cpu": tree_cpu,
        "own_cpu": own_cpu,
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
    parser.add_argument("--rounds", type=int, default=1, help="runs of every worker count")
    args = parser.parse_args(argv)
    sources = sorted((config.WCXB_DIR / "html").glob("*.html.gz"))
    results: list[list[dict]] = []  # per round, in args.workers order
    with tempfile.TemporaryDirectory() as tmp:
        pages_dir = Path(tmp) / "pages"
        for copy in range(args.copies):
            sub = pages_dir / f"copy{copy}"
            sub.mkdir(parents=True)
            for src in sources:
                (sub / src.name).symlink_to(src.resolve())
        for round_no in range(args.rounds):
            order = args.workers if round_no % 2 == 0 else args.workers[::-1]
            runs = {}
            for workers in order:
                out_dir = Path(tmp) / f"out{workers}"
                runs[workers] = _run(pages_dir, out_dir, workers)
                shutil.rmtree(out_dir)
            results.append([runs[w] for w in args.workers])
    print(f"{len(sources) * args.copies} pages ({args.copies} x WCXB dev), {args.rounds} round(s)")
    print("| round | workers | pages written | wall s | pages/s | CLI's pages/s | CPU s, all "
          "| CPU s, CLI | peak PSS, all processes MB | peak RSS, all processes MB "
          "| peak RSS, largest process MB |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for round_no, runs in enumerate(results, 1):
        for r in runs:
            print(
                f"| {round_no} | {r['workers']} | {r['pages']} | {r['wall']:.1f} | "
                f"{r['rate']:.1f} | {r['cli_rate']:.1f} | {r['tree_cpu']:.1f} | "
                f"{r['own_cpu']:.1f} | {r['peak_pss_mb']:.0f} | {r['peak_sum_mb']:.0f} | "
                f"{r['peak_one_mb']:.0f} |"
            )
    for i, workers in enumerate(args.workers[1:], 1):
        wall = [runs[i]["rate"] / runs[0]["rate"] for runs in results]
        cli = [runs[i]["cli_rate"] / runs[0]["cli_rate"] for runs in results]
        print(
            f"speed-up of {workers} workers over {args.workers[0]}: wall "
            f"{', '.join(f'{x:.2f}x' for x in wall)} (median {statistics.median(wall):.2f}x); "
            f"CLI's timer {', '.join(f'{x:.2f}x' for x in cli)} "
            f"(median {statistics.median(cli):.2f}x)"
        )
    top = max(args.workers)
    if top > 1:
        print(f"host: a CPU-bound loop in {top} processes does {host_scaling(top):.2f}x one")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
