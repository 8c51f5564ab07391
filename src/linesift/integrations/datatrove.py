"""linesift as a datatrove extractor: a drop-in for ``Trafilatura()`` in a pipeline.

    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers import JsonlWriter
    from linesift.integrations.datatrove import LinesiftExtractor

    LocalPipelineExecutor(
        pipeline=[WarcReader("crawl/"), LinesiftExtractor(), JsonlWriter("out/")], tasks=4
    ).run()

datatrove runs ``extract`` in a forked worker that it kills when a document takes longer than
``timeout`` seconds, after a warm-up ``extract("")`` that must finish within the timeout. So the
model is loaded (and one page extracted, to import everything) in ``__init__``, before any
fork: the worker inherits it and the warm-up returns at once. The step pickles with its loaded
model (a few MB), so executors that pickle the pipeline (multiprocess pools, Slurm) get a
ready extractor too. An empty result drops the document, as with Trafilatura.
"""

from __future__ import annotations

from typing import Any

from datatrove.pipeline.extractors.base import BaseExtractor

from ..modeling.predict import Extractor


class LinesiftExtractor(BaseExtractor):
    """datatrove extractor step backed by linesift.

    Args:
        model: html model directory or MLflow URI (default: the shipped model).
        threshold: content probability threshold (default: the model's).
        favor: "balanced", "precision" or "recall" threshold.
        format: "html" (default), "text" for plain-text line pages, or None to guess per
            document.
        markdown: return the main text with headings and list items marked up.
        timeout: seconds per document before datatrove kills the worker and skips it. linesift
            takes ~0.05-0.5 s for a typical page on one core and longer for multi-MB pages,
            so the default is 5 s rather than Trafilatura's 1 s.
    """

    name = "✂️ linesift"

    def __init__(
        self,
        model: Any = None,
        *,
        threshold: float | None = None,
        favor: str = "balanced",
        format: str | None = "html",
        markdown: bool = False,
        timeout: float = 5.0,
    ) -> None:
        super().__init__(timeout)
        self.format = format
        self.markdown = markdown
        self.extractor = Extractor(model, threshold=threshold, favor=favor)
        self.extractor.warm_up(("html",) if format == "html" else ("html", "text"))

    def extract(self, text: str) -> str:
        """The main text of one document ("" for an empty one, which datatrove drops)."""
        if not text or not text.strip():
            return ""
        result = next(iter(self.extractor.extract_many([text], format=self.format)))
        if result.error:
            raise ValueError(result.error)  # counted as clean_error; the document is skipped
        return result.markdown() if self.markdown else result.text
