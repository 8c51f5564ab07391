"""Stage prepare: every labeled HTML page becomes an html view and four plain-text views,
one of them rendered by another tool (inscriptis), each labeled by alignment with the gold."""

from __future__ import annotations

from linesift.prepare import TEXT_VIEWS, render_browser


def test_every_page_has_the_html_view_and_every_text_view(prepared) -> None:
    pages, lines = prepared
    views = pages.groupby("page_id").view.apply(set)
    assert (views == {"html", *TEXT_VIEWS}).all()
    assert set(lines.view) == {"html", *TEXT_VIEWS}


def test_browser_view_is_another_renderer_and_aligns_with_the_gold(prepared) -> None:
    pages, lines = prepared
    browser = lines[lines.view == "text-browser"]
    own = lines[lines.view == "text"]
    # inscriptis marks list items with bullets; linesift's own text view never does
    assert browser.text.str.match(r"[*+o] ").sum() > 100
    assert own.text.str.match(r"[*+o] ").sum() < browser.text.str.match(r"[*+o] ").sum() / 5
    # different line splits on most pages, yet the labels still reach the gold
    per_page = lines.groupby(["page_id", "view"]).size().unstack()
    assert (per_page["text-browser"] != per_page["text"]).mean() > 0.5
    wcxb = pages[(pages.dataset == "wcxb") & (pages.view == "text-browser")]
    assert wcxb.oracle_f1.mean() > 0.9
    assert 0.1 < browser.label.mean() < 0.6


def test_browser_rendering_of_a_small_page() -> None:
    text = render_browser("<ul><li>Home</li><li>News</li></ul><p>A <b>bold</b> claim.</p>")
    assert [line.strip() for line in text.splitlines() if line.strip()] == [
        "* Home",
        "* News",
        "A bold claim.",
    ]
    assert render_browser("") == ""
