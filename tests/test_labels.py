"""Line labels by alignment with the gold text, and the word-level metric they are scored by."""

from __future__ import annotations

import json
import re
from collections import Counter

import numpy as np
import pytest

from linesift import config
from linesift.dataset import load_wcxb, read_page_file
from linesift.labels import align_labels, oracle_prf
from linesift.scoring import PageScorer, prf, word_f1, word_prf, words
from linesift.segment import SOURCE_CODE, segment_html

GOLD = "\n".join(
    [
        "Breaking News Today",
        "The quick brown fox jumps over the lazy dog near the river bank.",
        "Price 42",
        "She walked home after the storm had passed over the hills.",
    ]
)
LONG = "The quick brown fox jumps over the lazy dog near the river bank."
FILLER = ["Menu", "Contact us", "Log in", "Sign up"]  # not in the gold at all


def test_words_are_wcxb_words() -> None:
    assert words("Café déjà-vu, 42 times! É_x") == ["café", "déjà", "vu", "42", "times", "é_x"]
    assert words("  ") == []


# ---------------------------------------------------------------- rule 1: long lines


def test_long_line_needs_half_of_its_trigrams_in_the_gold() -> None:
    # 8 words -> 6 trigrams; the first 3 ("the quick brown", "quick brown fox", "brown fox
    # jumps") are in the gold: 3/6 >= 0.5 -> content; with only 2 of 6 -> boilerplate
    exactly_half = "the quick brown fox jumps zzz yyy xxx"
    below_half = "the quick brown fox zzz yyy xxx www"
    assert align_labels([exactly_half], GOLD) == [1]
    assert align_labels([below_half], GOLD) == [0]
    assert align_labels([LONG], GOLD) == [1]
    # the coverage threshold is a parameter
    assert align_labels([exactly_half], GOLD, ngram_coverage=0.6) == [0]


def test_four_words_is_long_three_is_short() -> None:
    # 4 words: one of 2 trigrams in gold -> content by rule 1
    assert align_labels(["the quick brown zebra"], GOLD) == [1]
    # 3 words, a contiguous gold run but no long content neighbour -> not content
    assert align_labels(["quick brown fox"], GOLD) == [0]
    assert align_labels(["quick brown fox"], GOLD, min_ngram_words=3) == [1]


# ---------------------------------------------------------------- rule 2: short lines


def test_short_line_equal_to_a_gold_line_is_content_anywhere() -> None:
    lines = ["Breaking news   today!", *FILLER, "PRICE: 42"]
    assert align_labels(lines, GOLD) == [1, 0, 0, 0, 0, 1]


def test_short_line_in_gold_text_needs_a_long_content_neighbour() -> None:
    # "lazy dog" / "walked home" occur in the gold text but are no gold line
    near = ["lazy dog", "x", LONG, "y", "walked home"]
    assert align_labels(near, GOLD) == [1, 0, 1, 0, 1]
    far = ["walked home", "x", "y", "z", LONG]  # 4 lines away with window 2
    assert align_labels(far, GOLD) == [0, 0, 0, 0, 1]
    assert align_labels(far, GOLD, short_line_window=4) == [1, 0, 0, 0, 1]


def test_lone_home_in_navigation_is_not_content() -> None:
    # "home" is a gold word, but this "Home" sits in the menu, far from the article
    lines = ["Home", *FILLER, LONG]
    assert align_labels(lines, GOLD)[0] == 0
    # the same word next to the article text would be kept (window 2)
    assert align_labels([*FILLER, "Home", LONG], GOLD)[4] == 1


def test_words_not_in_gold_order_are_not_content() -> None:
    # both words are gold words, but not as a contiguous run
    assert align_labels(["dog lazy", LONG], GOLD) == [0, 1]


# ---------------------------------------------------------------- rule 3: duplicates


def test_only_the_first_occurrence_of_a_repeated_line_is_content() -> None:
    lines = [LONG, "Price 42", LONG, "Price 42", "Breaking News Today"]
    assert align_labels(lines, GOLD) == [1, 1, 0, 0, 1]


def test_repeated_gold_heading_keeps_the_copy_inside_the_article() -> None:
    lines = ["Breaking News Today", *FILLER, "x", "Breaking News Today", LONG]
    assert align_labels(lines, GOLD) == [0, 0, 0, 0, 0, 0, 1, 1]


def test_grid_keeps_as_many_copies_as_the_gold_has() -> None:
    gold = "Crest Tee\nBlack\n$22\nArrival Tee\nBlack\n$22\nPower Tee\nWhite\n$36"
    lines = [
        *["Colour", "Black", "White", *FILLER],  # a filter menu: its copies are not the gold's
        *["Crest Tee", "Black", "$22", "Arrival Tee", "Black", "$22", "Power Tee", "White", "$36"],
    ]
    labels = align_labels(lines, gold)
    assert labels == [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]
    assert oracle_prf(lines, labels, gold)[2] == 1.0


def test_grid_keeps_one_copy_when_gold_copies_is_off() -> None:
    gold = f"{LONG}\nCrest Tee\nBlack\nArrival Tee\nBlack"
    lines = ["Black", *FILLER, LONG, "Crest Tee", "Black", "Arrival Tee", "Black"]
    assert align_labels(lines, gold) == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    # one copy, the one nearest to a long content line
    assert align_labels(lines, gold, gold_copies=False) == [0, 0, 0, 0, 0, 1, 1, 1, 1, 0]


def test_copies_beyond_the_golds_count_are_not_content() -> None:
    gold = "Crest Tee\nBlack\nArrival Tee\nBlack/Grey"  # "Black" as a line once
    lines = ["Crest Tee", "Black", "Arrival Tee", "Black", "Black/Grey"]
    assert align_labels(lines, gold) == [1, 1, 1, 0, 1]


def test_repeated_long_line_counted_as_a_run_of_the_gold() -> None:
    # the gold has the paragraph twice, cut into other lines than the page's
    gold = f"Intro: {LONG} And again: {LONG}"
    assert align_labels([LONG, *FILLER, LONG, LONG], gold) == [1, 0, 0, 0, 0, 1, 0]


# ---------------------------------------------------------------- rule 4: structured lines

JSONLD_ONLY = "She walked home after the storm had passed over the hills."


def test_structured_line_covered_by_dom_content_is_not_content() -> None:
    lines = [LONG, LONG.upper(), JSONLD_ONLY, "Price 42"]
    structured = [False, True, True, True]
    # line 1: same words as DOM content line 0 -> covered -> 0
    # line 2: in the gold, not in the DOM -> 1
    # line 3: too short for a structured line -> 0 (even though it is a gold line)
    assert align_labels(lines, GOLD, structured) == [1, 0, 1, 0]


def test_structured_line_not_in_gold_is_not_content() -> None:
    lines = [LONG, "An unrelated product description that the gold does not have."]
    assert align_labels(lines, GOLD, [False, True]) == [1, 0]


def test_second_structured_copy_is_covered_by_the_first() -> None:
    lines = [JSONLD_ONLY, JSONLD_ONLY + " Extra"]
    assert align_labels(lines, GOLD, [True, True]) == [1, 0]


def test_structured_lines_are_not_long_neighbours_of_short_lines() -> None:
    # "walked home" would be content next to a long DOM content line, not next to JSON-LD
    assert align_labels(["walked home", JSONLD_ONLY], GOLD, [False, True]) == [0, 1]


def test_empty_inputs() -> None:
    assert align_labels([], GOLD) == []
    assert align_labels(["anything at all here"], "") == [0]
    assert align_labels(["", "   "], GOLD) == [0, 0]


# ---------------------------------------------------------------- oracle P/R/F1


def test_oracle_prf_by_hand() -> None:
    lines = ["A b c", "a x", "never counted"]
    labels = [1, 1, 0]
    # predicted words {a: 2, b, c, x} (5), gold {a, b, d} (3); overlap a + b = 2
    p, r, f = oracle_prf(lines, labels, "a b d")
    assert p == pytest.approx(2 / 5)
    assert r == pytest.approx(2 / 3)
    assert f == pytest.approx(2 * (2 / 5) * (2 / 3) / (2 / 5 + 2 / 3))
    assert f == pytest.approx(0.5)
    assert oracle_prf(["a b d"], [1], "a b d") == (1.0, 1.0, 1.0)
    with pytest.raises(ValueError):
        oracle_prf(["a"], [1, 0], "a")


def test_wcxb_empty_reference_rules() -> None:
    assert prf(Counter(), Counter()) == (1.0, 1.0, 1.0)
    assert prf(Counter({"a": 1}), Counter()) == (0.0, 0.0, 0.0)
    assert prf(Counter(), Counter({"a": 1})) == (0.0, 0.0, 0.0)
    assert word_prf("", "") == (1.0, 1.0, 1.0)
    assert word_prf("!!! ...", "") == (1.0, 1.0, 1.0)  # no words is empty
    assert word_prf("text", "") == (0.0, 0.0, 0.0)
    assert oracle_prf(["Home"], [0], "") == (1.0, 1.0, 1.0)
    assert word_f1("x y", "y z") == pytest.approx(0.5)


# ---------------------------------------------------------------- real pages


@pytest.fixture(scope="module")
def real_pages() -> list:
    """10 WCXB pages, segmented: (lines, gold)."""
    pages = list(load_wcxb(limit=10))
    return [(segment_html(p.source).text, p.gold or "") for p in pages]


LEDE_REST = (
    "At its core, Redis provides a collection of native data types that help you solve a wide "
    "variety of problems, from caching to queuing to event processing. Below is a short "
    "description of each data type, with links to broader overviews and command references. "
    "Each overview includes a comprehensive tutorial with code samples."
)


def _aligned_wcxb_page(file_id: str) -> tuple[list[str], list[int], str]:
    """A shipped WCXB page's lines, their labels and its gold text."""
    html = read_page_file(config.WCXB_DIR / "html" / f"{file_id}.html.gz")
    truth = json.loads((config.WCXB_DIR / "ground-truth" / f"{file_id}.json").read_text("utf-8"))
    gold = truth["ground_truth"]["main_content"]
    lines = segment_html(html)
    labels = align_labels(lines.text, gold, [s != SOURCE_CODE["dom"] for s in lines.source])
    return lines.text, labels, gold


def test_alignment_on_a_real_page_reaches_a_high_oracle() -> None:
    texts, labels, gold = _aligned_wcxb_page("2865")
    p, r, f = oracle_prf(texts, labels, gold)
    assert f > 0.95, (p, r, f)
    first = {}
    for text, label in zip(texts, labels, strict=True):
        first.setdefault(text, label)
    assert first["Geospatial indexes"] == 1  # a heading of the article (a gold line)
    assert first["Products"] == 0  # the site menu
    assert first["Redis is a data structure server. " + LEDE_REST] == 1
    assert 0.1 < sum(labels) / len(labels) < 0.9


def test_product_grid_page_keeps_each_listed_copy() -> None:
    # a collection page: the gold lists 36 T-shirts, "Black" on 13 of them; the page
    # repeats "Black" 24 times (grid and colour filter)
    texts, labels, gold = _aligned_wcxb_page("0633")
    kept = Counter(t for t, label in zip(texts, labels, strict=True) if label)
    assert gold.splitlines().count("Black") == 13
    assert kept["Black"] == 13
    assert kept["oversized fit"] == gold.splitlines().count("oversized fit") == 12
    assert oracle_prf(texts, labels, gold)[2] > 0.85  # one copy of each: 0.64


def test_page_scorer_equals_word_prf_on_real_pages(real_pages) -> None:
    texts = [t for lines, _ in real_pages for t in lines]
    page = np.repeat(np.arange(len(real_pages)), [len(lines) for lines, _ in real_pages])
    golds = [g for _, g in real_pages]
    scorer = PageScorer(texts, page, golds)
    rng = np.random.default_rng(0)
    selections = [np.zeros(len(texts), bool), np.ones(len(texts), bool)]
    selections += [rng.random(len(texts)) < q for q in (0.1, 0.3, 0.5, 0.8)]
    for selected in selections:
        p, r, f = scorer.score(selected)
        for k, (_, gold) in enumerate(real_pages):
            rows = np.flatnonzero(page == k)
            predicted = "\n".join(texts[i] for i in rows if selected[i])
            expected = _counter_prf(predicted, gold)
            assert (p[k], r[k], f[k]) == pytest.approx(expected, abs=1e-9), k
            assert expected == pytest.approx(word_prf(predicted, gold), abs=1e-12)


def test_page_scorer_empty_gold_page() -> None:
    scorer = PageScorer(["a b", "c", "x y"], np.array([0, 0, 1]), ["a b d", ""])
    p, r, f = scorer.score(np.array([True, False, False]))
    assert (p[0], r[0], f[0]) == pytest.approx((1.0, 2 / 3, 0.8))
    assert (p[1], r[1], f[1]) == (1.0, 1.0, 1.0)  # nothing selected, nothing expected
    p, r, f = scorer.score(np.array([False, False, True]))
    assert (p[0], r[0], f[0]) == (0.0, 0.0, 0.0)
    assert (p[1], r[1], f[1]) == (0.0, 0.0, 0.0)  # text where the gold is empty


def _counter_prf(predicted: str, gold: str) -> tuple[float, float, float]:
    """P/R/F1 straight from the definition, independent of scoring.prf."""
    pred = Counter(re.findall(r"\w+", predicted.lower()))
    ref = Counter(re.findall(r"\w+", gold.lower()))
    if not ref:
        return (1.0, 1.0, 1.0) if not pred else (0.0, 0.0, 0.0)
    if not pred:
        return (0.0, 0.0, 0.0)
    overlap = sum(min(c, ref[w]) for w, c in pred.items())
    p, r = overlap / sum(pred.values()), overlap / sum(ref.values())
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)
