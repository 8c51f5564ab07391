"""linesift: learned line-level main-content extraction for web pages.

>>> import linesift
>>> text = linesift.extract(html)                 # shipped html model
>>> ex = linesift.Extractor(model="models:/linesift-html@champion")
>>> for result in ex.extract_many(pages): ...
"""

from .dataset import Page
from .modeling.predict import Extraction, Extractor, Line, extract

__all__ = ["Extraction", "Extractor", "Line", "Page", "extract"]
__version__ = "0.1.0"
