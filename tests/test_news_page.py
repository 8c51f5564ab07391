"""The user's own example: a news page saved as plain-text lines (tests/fixtures/news-page.txt,
copied from the user's example). The text model must keep the article - its title and every
paragraph - and drop the headline ticker above it and the category/PREV/NEXT lines below."""

from __future__ import annotations

from pathlib import Path

import pytest

from linesift.modeling.predict import Extractor

PAGE = Path(__file__).parent / "fixtures" / "news-page.txt"


@pytest.fixture(scope="module")
def kept() -> list[str]:
    text = Extractor().extract(PAGE.read_text(encoding="utf-8"), format="text")
    return text.splitlines()


def _page_lines() -> list[str]:
    return [line.strip() for line in PAGE.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_keeps_title_and_every_paragraph(kept):
    lines = _page_lines()
    title = lines.index("How Russia Is Reacting to the Downfall of Syria’s Assad")
    end = lines.index("AFP contributed reporting.")
    article = [line for line in lines[title:end] if len(line.split()) >= 8]
    assert len(article) == 15
    assert lines[title] in kept
    for paragraph in article:
        assert paragraph in kept, paragraph
    assert "HTS took Damascus on Sunday." in kept


def test_drops_category_and_prev_next_lines(kept):
    lines = _page_lines()
    footer = [line for line in lines if line.startswith(("PREV ", "NEXT ")) or line == "Morocco"]
    assert len(footer) == 3
    for line in footer:
        assert line not in kept, line


def test_drops_ticker(kept):
    lines = _page_lines()
    title = lines.index("How Russia Is Reacting to the Downfall of Syria’s Assad")
    ticker = lines[:title]
    assert len(ticker) >= 7
    for line in ticker:
        assert line not in kept, line
