"""linesift: learned line-level main-content extraction for web pages.

>>> import linesift
>>> text = linesift.extract(html)                 # shipped html model
>>> ex = linesift.Extractor(model="models:/linesift-html@champion")
>>> for result in ex.extract_many(pages): ...
"""

from __future__ import annotations

from typing import Any

__all__ = ["Extraction", "Extractor", "Line", "Page", "extract"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # Imported lazily so that `python -m linesift.<stage>` and the CLI start fast and the
    # stage modules are not imported twice.
    if name == "Page":
        from .dataset import Page

        return Page
    if name in ("Extraction", "Extractor", "Line", "extract"):
        from .modeling import predict

        return getattr(predict, name)
    raise AttributeError(f"module 'linesift' has no attribute {name!r}")
