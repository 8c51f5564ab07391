"""glibc malloc tuning (linesift.malloc_tuning): freed batch memory is reused, not refaulted."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="mallopt is glibc's (Linux)"
)

# Ten rounds of what a batch does to the heap: 640 blocks of 64 KB (40 MB) allocated, written
# and freed; reports the minor page faults taken. Under glibc's defaults the freed heap top
# goes back to the system once it is over the trim threshold (128 KB, raised to at most
# twice the largest mmap'ed block freed so far), and each round faults its 10,240 pages in
# again; tuned, the first round's pages are reused.
_PROBE = """
import json, resource, sys
import numpy as np
from linesift.modeling.predict import Extractor
from linesift import malloc_tuning
Extractor()  # what tunes malloc in a real run
np.ones(1 << 20).sum()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    blocks = [np.ones(8192) for _ in range(640)]  # 64 KB each
    del blocks
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(json.dumps({"tuned": malloc_tuning._done, "faults": faults}))
"""


def _probe(defaults: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "LINESIFT_MALLOC_DEFAULTS"}
    if defaults:
        env["LINESIFT_MALLOC_DEFAULTS"] = "1"
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_extractor_tunes_malloc_so_freed_memory_is_reused() -> None:
    tuned, default = _probe(defaults=False), _probe(defaults=True)
    assert tuned["tuned"] is True
    assert default["tuned"] is False
    # defaults: ~10 x 10,240 faults; tuned: about the first round's
    assert default["faults"] > 5 * 10240
    assert tuned["faults"] < 2 * 10240


def test_opt_out_leaves_glibc_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from linesift import malloc_tuning

    monkeypatch.setattr(malloc_tuning, "_done", False)
    monkeypatch.setenv("LINESIFT_MALLOC_DEFAULTS", "1")
    assert malloc_tuning.tune_malloc() is False
