"""glibc's malloc, tuned for batch extraction (Linux with glibc only; a no-op elsewhere).

A batch parses its pages into libxml2 trees and builds arrays of a few MB, then frees them
all. With glibc's defaults, freed memory at the top of the heap beyond 128 KB goes back to
the system (``M_TRIM_THRESHOLD``), and blocks over the dynamic mmap threshold are mapped and
unmapped each time: the next page faults the same memory in again, zeroed by the kernel -
~150 minor page faults a WCXB page. Keeping up to ``TRIM_THRESHOLD`` of freed heap and taking
blocks under ``MMAP_THRESHOLD`` from the heap leaves ~1 a page. The memory kept is what the
largest batch used, which the process holds at its peak anyway: on 10,479 WCXB pages one
process peaked at 313 MB RSS (311 MB with the defaults), two workers at 498 MB summed PSS
(483 MB) before the CLI froze the GC before forking (README, "Speed").

``Extractor`` calls ``tune_malloc`` once per process; ``LINESIFT_MALLOC_DEFAULTS=1`` in the
environment leaves glibc's settings alone (for a host process that tunes malloc itself).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

# mallopt(3) parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

TRIM_THRESHOLD = 64 << 20  # freed heap top kept, bytes
MMAP_THRESHOLD = 32 << 20  # blocks from this size up are mmap'ed (glibc's own maximum)

_done = False


def tune_malloc() -> bool:
    """Apply the settings above once per process; True if they are in effect."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux") or os.environ.get("LINESIFT_MALLOC_DEFAULTS"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # setting either turns glibc's dynamic thresholds off; both are needed (either alone
    # still left ~80-220 faults a page)
    _done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    return _done
