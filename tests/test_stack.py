"""The second stage's inputs: computed within each page (a batch changes nothing), and saying
where a line lies relative to the page's confident content."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from linesift.features import CONTEXT_COLUMNS, dangling_separator_runs
from linesift.modeling.stack import (
    apply_rules,
    empty_page_fallback,
    select_lines,
    stack_feature_names,
    stack_features,
)
from linesift.segment import SOURCE_CODE

BASE = {"html": ["log_words", "link_density", "tag"], "text": ["log_words", "gap_before"]}


def _pages(table: pd.DataFrame, n: int) -> pd.DataFrame:
    ids = table.page_id.drop_duplicates().head(n)
    return table[table.page_id.isin(ids)].reset_index(drop=True)


def _rule_prob(table: pd.DataFrame) -> np.ndarray:
    """A stand-in first stage: long lines with few links are content."""
    links = table["link_density"].fillna(0).to_numpy() if "link_density" in table else 0.0
    score = np.tanh(table["n_words"].to_numpy(dtype=float) / 15) - links
    return np.clip(score, 0.01, 0.99)


def _codes(table: pd.DataFrame) -> np.ndarray:
    return pd.factorize(table.page_id + "\x00" + table.view)[0]


@pytest.mark.parametrize("kind", ["html", "text"])
def test_each_page_alone_gives_the_same_values_as_the_batch(feature_tables, kind):
    table = _pages(feature_tables[kind], 4)
    prob = _rule_prob(table)
    context = table[list(CONTEXT_COLUMNS[kind])]
    batch = stack_features(kind, prob, _codes(table), table, context, BASE[kind])
    assert list(batch.columns) == stack_feature_names(kind, BASE[kind])
    assert len(batch) == len(table)
    for _, rows in table.groupby(_codes(table)):
        part = table.loc[rows.index].reset_index(drop=True)
        alone = stack_features(
            kind,
            prob[rows.index],
            np.zeros(len(part), int),
            part,
            context.loc[rows.index],
            BASE[kind],
        )
        pd.testing.assert_frame_equal(alone, batch.loc[rows.index].reset_index(drop=True))


def test_position_relative_to_the_confident_span(feature_tables):
    page = _pages(feature_tables["html"], 1)
    n = len(page)
    assert n > 20
    prob = np.full(n, 0.1)
    prob[10:15] = 0.9  # the confident lines
    prob[12] = 0.3  # a doubtful line inside the span
    f = stack_features(
        "html", prob, np.zeros(n, int), page, page[list(CONTEXT_COLUMNS["html"])], []
    )
    span = f["lines_to_confident_span"].to_numpy()
    assert (span[:10] < 0).all() and (span[10:15] == 0).all() and (span[15:] > 0).all()
    assert span[0] == pytest.approx(-np.log1p(10))  # 10 lines above the first confident one
    nearest = f["lines_to_confident_line"].to_numpy()
    assert nearest[12] == pytest.approx(np.log1p(1)) and nearest[11] == 0
    assert f["p_-1"].isna()[0] and f["p_-1"][11] == pytest.approx(0.9)
    assert f["page_content_share"].nunique() == 1
    # a page without one confident line has no span to be near
    f = stack_features(
        "html", np.full(n, 0.2), np.zeros(n, int), page, page[list(CONTEXT_COLUMNS["html"])], []
    )
    assert f["lines_to_confident_span"].isna().all()
    assert f["lines_to_confident_line"].isna().all()


def test_lines_sharing_their_blocks_class_words_share_their_probabilities() -> None:
    """``attrs_p_*``: the lines whose blocks carry the same class/id/role words (the cards
    of one product list, in different containers), on their page only."""
    features = pd.DataFrame({"n_words": [10, 10, 5, 20, 1, 5, 10]})
    context = pd.DataFrame(
        {
            "container": [1, 2, 3, 4, 5, 6, 1],
            "path": ["html>body>div"] * 7,
            "tokens": ["card", "card", "nav", "card", "", "nav", "card"],
        }
    )
    prob = np.array([0.9, 0.5, 0.1, 0.2, 0.6, 0.3, 0.95])
    page = np.array([0, 0, 0, 0, 0, 0, 1])  # the last line: another page
    f = stack_features("html", prob, page, features, context, [])
    cards = (0.9 * 10 + 0.5 * 10 + 0.2 * 20) / 40
    assert f["attrs_p_wmean"].tolist()[:6] == pytest.approx([cards, cards, 0.2, cards, 0.6, 0.2])
    assert f["attrs_p_max"].tolist() == [0.9, 0.9, 0.3, 0.9, 0.6, 0.3, 0.95]
    assert f["attrs_p_wmean"][6] == pytest.approx(0.95)


def test_the_shape_of_the_page_probabilities(feature_tables):
    page = _pages(feature_tables["html"], 1)
    n = len(page)
    words = page["n_words"].to_numpy(dtype=float)
    prob = np.full(n, 0.1)
    prob[10:15] = [0.9, 0.6, 0.3, 0.85, 0.55]
    f = stack_features(
        "html", prob, np.zeros(n, int), page, page[list(CONTEXT_COLUMNS["html"])], []
    )
    total = max(words.sum(), 1)
    assert f["page_share_p20"][0] == pytest.approx(words[10:15].sum() / total)
    assert f["page_share_p80"][0] == pytest.approx(words[[10, 13]].sum() / total)
    assert f["page_share_p20"].nunique() == 1 and f["page_p_median"].nunique() == 1
    assert f["page_p_median"][0] == pytest.approx(np.median(prob))
    confident_mean = np.mean([0.9, 0.6, 0.85, 0.55])  # the lines at or above 0.5
    assert f["p_minus_confident_mean"][11] == pytest.approx(0.6 - confident_mean)
    assert f["p_minus_confident_mean"][0] == pytest.approx(0.1 - confident_mean)
    # no confident line: nothing to compare with
    f = stack_features(
        "html", np.full(n, 0.2), np.zeros(n, int), page, page[list(CONTEXT_COLUMNS["html"])], []
    )
    assert f["p_minus_confident_mean"].isna().all()
    assert f["page_share_p20"][0] == pytest.approx(words.sum() / total)
    # the text model's second stage does not take them
    assert "page_share_p20" not in stack_feature_names("text", [])


def test_dangling_separator_runs_count_one_separator_per_run():
    texts = [
        "Breaking news",
        "A couple and their dog saved from the flames by police -",
        "Anagram: the joy of words -",
        "What to do in Bordeaux this weekend of December 27? -",
        "Title of the article",
        "| Business type | Best fit |",  # a table row: starts with its separator
        "| Agency | GoHighLevel |",
        "Home »",
        "News »",
        "Sports |",  # another separator ends the run
        "A sentence - with a dash inside.",
        "well-known -",  # the last line of page 0
        "Next page -",  # page 1: runs stop at page edges
    ]
    page = np.array([0] * 12 + [1])
    runs = dangling_separator_runs(texts, page)
    assert runs.tolist() == [0, 3, 3, 3, 0, 0, 0, 2, 2, 1, 0, 1, 1]
    assert dangling_separator_runs([], np.zeros(0, dtype=int)).shape == (0,)


def test_rules_zero_the_runs_and_nothing_else():
    texts = ["Menu -", "Shop -", "Blog -", "A paragraph of the article.", "Tags -", "Share -"]
    page = np.zeros(len(texts), dtype=int)
    prob = np.array([0.9, 0.8, 0.7, 0.95, 0.6, 0.5])
    got = apply_rules({"dangling_separator_run": 3}, prob, texts, page)
    assert got.tolist() == [0.0, 0.0, 0.0, 0.95, 0.6, 0.5]
    assert apply_rules({"dangling_separator_run": 2}, prob, texts, page).tolist() == [0.0] * 3 + [
        0.95,
        0.0,
        0.0,
    ]
    assert apply_rules({"dangling_separator_run": 0}, prob, texts, page) is prob
    assert apply_rules({}, prob, texts, page) is prob


def _fallback_columns(rows):
    """Feature columns of lines given as (source, hidden, in <title>, in <noscript>, words)."""
    table = np.array(rows, dtype=float)
    source, hidden, title, noscript, words = table.T
    return {
        "source": source,
        "hidden": hidden,
        "ctx_title": title,
        "ctx_noscript": noscript,
        "n_words": words,
    }


def test_empty_page_fallback_is_the_visible_body_of_small_pages():
    dom, jsonld = SOURCE_CODE["dom"], SOURCE_CODE["jsonld"]
    rows = [
        (dom, 0, 1, 0, 6),  # page 0: its <title>
        (dom, 0, 0, 0, 17),  # the one paragraph
        (jsonld, np.nan, 0, 0, 12),  # structured data: not part of the visible body
        (dom, 1, 0, 0, 9),  # page 1: hidden
        (dom, 0, 0, 1, 9),  # in <noscript>
        (dom, 0, 0, 0, 30),  # page 2: 30 + 30 visible words, over a limit of 50
        (dom, 0, 0, 0, 30),
        (dom, 0, 1, 0, 8),  # page 3: a <title> only
    ]
    page = np.array([0, 0, 0, 1, 1, 2, 2, 3])
    columns = _fallback_columns(rows)
    rules = {"empty_page_fallback_words": 50}
    got = empty_page_fallback(rules, "html", columns, page)
    assert got.tolist() == [False, True, False, False, False, False, False, False]
    limit_60 = empty_page_fallback({"empty_page_fallback_words": 60}, "html", columns, page)
    assert limit_60.tolist() == [False, True, False, False, False, True, True, False]
    assert empty_page_fallback({"empty_page_fallback_words": 0}, "html", columns, page) is None
    assert empty_page_fallback({}, "html", columns, page) is None
    assert empty_page_fallback(rules, "text", columns, page) is None


def test_select_lines_falls_back_only_on_pages_that_keep_nothing():
    prob = np.array([0.1, 0.9, 0.2, 0.05, 0.3, 0.02])
    page = np.array([0, 0, 1, 1, 2, 2])
    fallback = np.array([True, True, True, True, False, False])
    assert select_lines(prob, 0.5, page).tolist() == [False, True, False, False, False, False]
    # page 0 keeps a line of its own: its fallback is not used; page 1 keeps nothing: its
    # fallback lines; page 2 keeps nothing and has none
    got = select_lines(prob, 0.5, page, fallback)
    assert got.tolist() == [False, True, True, True, False, False]
    assert select_lines(prob, 0.25, page, fallback).tolist() == [
        False,
        True,
        True,
        True,
        True,
        False,
    ]
    assert select_lines(np.zeros(0), 0.5, np.zeros(0, dtype=int), np.zeros(0, bool)).size == 0
