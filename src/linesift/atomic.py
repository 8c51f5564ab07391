"""Atomic file writes: every output goes to a temp file beside its target and is renamed
into place, so a killed process never leaves a partial file where a finished one belongs."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# the temp files this module leaves behind only if the process is killed mid-write
TEMP_NAME_RE = re.compile(r"\..+\.\d+\.tmp")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temp path to write; on success it replaces ``path``, on error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    """Write UTF-8 text atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, data: Any) -> None:
    """Write indented, key-sorted JSON atomically."""
    write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
