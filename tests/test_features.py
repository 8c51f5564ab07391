"""Feature values computed by hand on small pages; batches equal pages alone."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from linesift.dataset import load_wcxb
from linesift.features import (
    CONTEXT_TAGS,
    HTML_FEATURES,
    KEYWORD_NAMES,
    TAG_CODES,
    TEXT_FEATURES,
    featurize,
    lines_frame,
    tokens,
)
from linesift.segment import segment_html, segment_text

EN_PAGE = "Hello world.\n東京は晴れ\nThe cat is on the mat and it is happy.\nhello WORLD."
DE_PAGE = "Der Hund ist nicht im Haus und das ist gut.\nHello world."

DOM_FEATURES = [
    "link_density",
    "all_link",
    "depth",
    "rel_depth",
    "hidden",
    *[f"ctx_{t}" for t in CONTEXT_TAGS],
    *[f"kw_{k}" for k in KEYWORD_NAMES],
    "container_log_lines",
    "container_log_words",
    "container_link_density",
    "container_stop_density",
    "container_line_rank",
    "dom_covered",
]


@pytest.fixture(scope="module")
def text_batch() -> pd.DataFrame:
    """Two text pages in one batch: 4 English lines, then 2 German-page lines."""
    return featurize(lines_frame([segment_text(EN_PAGE), segment_text(DE_PAGE)]), "text")


def test_tokens_count_cjk_characters_one_by_one() -> None:
    assert tokens("東京は晴れ") == ["東", "京", "は", "晴", "れ"]
    assert tokens("Tokyo 東京 rain") == ["tokyo", "東", "京", "rain"]
    assert tokens("it's 3.5%") == ["it", "s", "3", "5"]


def test_length_features(text_batch: pd.DataFrame) -> None:
    x = text_batch
    assert list(x.columns) == TEXT_FEATURES
    assert len(x) == 6
    assert x.log_chars[0] == pytest.approx(math.log1p(len("Hello world.")))
    assert x.n_words.tolist() == [2, 5, 10, 2, 10, 2]
    assert x.log_words[2] == pytest.approx(math.log1p(10))
    assert x.mean_word_len[0] == 5.0  # hello, world
    assert x.mean_word_len[1] == 1.0  # five CJK characters
    assert x.cjk_ratio[1] == 1.0 and x.cjk_ratio[0] == 0.0
    assert x.punct_ratio[0] == pytest.approx(1 / 12)
    assert x.ends_terminal.tolist() == [1, 0, 1, 1, 1, 1]
    assert x.upper_ratio[3] == pytest.approx(5 / 10)  # "hello WORLD."
    assert x.starts_upper.tolist() == [1, 0, 1, 0, 1, 1]
    assert x.title_case_ratio[2] == pytest.approx(1 / 10)


def test_stop_density_uses_the_page_language(text_batch: pd.DataFrame) -> None:
    x = text_batch
    # English page: "The cat is on the mat and it is happy." - all but cat, mat, happy
    assert x.stop_count[2] == 7
    assert x.stop_density[2] == pytest.approx(0.7)
    # German page: all but Hund, Haus
    assert x.stop_count[4] == 8
    assert x.stop_density[4] == pytest.approx(0.8)
    # the same German line on an English page is scored with the English list: only "im"
    mixed = featurize(
        lines_frame([segment_text("The cat is on the mat and it is happy.\n" + DE_PAGE)]), "text"
    )
    assert mixed.stop_count[1] == 1


def test_position_and_page_features(text_batch: pd.DataFrame) -> None:
    x = text_batch
    np.testing.assert_allclose(x.rel_index, [0, 1 / 3, 2 / 3, 1, 0, 1])
    np.testing.assert_allclose(x.words_before_frac, [0, 2 / 19, 7 / 19, 17 / 19, 0, 10 / 12])
    np.testing.assert_allclose(x.log_index_from_end, np.log1p([3, 2, 1, 0, 1, 0]))
    np.testing.assert_allclose(x.page_log_lines, np.log1p([4, 4, 4, 4, 2, 2]))
    np.testing.assert_allclose(x.page_log_words, np.log1p([19, 19, 19, 19, 12, 12]))
    np.testing.assert_allclose(
        x.line_word_share, [2 / 19, 5 / 19, 10 / 19, 2 / 19, 10 / 12, 2 / 12]
    )


def test_repeat_count_is_case_insensitive_and_per_page(text_batch: pd.DataFrame) -> None:
    # "Hello world." and "hello WORLD." repeat on page 1; page 2's copy counts only there
    assert text_batch.repeat_count.tolist() == [2, 1, 1, 2, 1, 1]
    # copy_index is an html feature (copies in other DOM containers): not the text model's
    assert "copy_index" not in text_batch


def test_copy_index_counts_earlier_copies_in_other_containers() -> None:
    html = (
        "<html><body><nav><ul><li><a href='/s'>Subscribe now</a></li></ul></nav><article>"
        "<p>The same paragraph, twice.</p><p>The same paragraph, twice.</p>"
        "<p>Subscribe now</p></article><footer><p>subscribe NOW</p></footer></body></html>"
    )
    x = featurize(lines_frame([segment_html(html)]), "html")
    # the nav's line, the article's two paragraphs (one block: not copies of each other),
    # the article's and the footer's copies of the nav line (one and two earlier elsewhere)
    assert x.copy_index.tolist() == [0, 0, 0, 1, 2]
    assert x.repeat_count.tolist() == [3, 2, 2, 3, 3]


def test_copy_index_counts_earlier_copies_on_real_pages() -> None:
    pages = list(load_wcxb(limit=6))
    frame = lines_frame([segment_html(p.source) for p in pages])
    x = featurize(frame, "html")
    low = frame["text"].str.lower()
    container = frame["container"].fillna(-1)
    earlier = frame.groupby(["page", low], sort=False).cumcount()
    in_block = frame.groupby(["page", low, container], sort=False).cumcount()
    assert (x.copy_index.to_numpy() == (earlier - in_block).to_numpy()).all()
    assert (x.copy_index > 0).sum() > 5  # these pages repeat some lines
    assert ((x.copy_index > 0) <= (x.repeat_count > 1)).all()


def test_title_overlap_and_the_offset_from_the_heading_that_repeats_the_title() -> None:
    html = (
        "<html><head><title>Trail Pack 25 | Gear Shop</title></head><body>"
        "<nav><a href='/'>Gear Shop home</a></nav><h2>Trail news</h2><h1>Trail Pack 25</h1>"
        "<p>A pack for day hikes, with a pack cover.</p><p>Related: Trail Pack 40</p>"
        "</body></html>"
    )
    other = "<html><body><h1>No title here</h1><p>Text.</p></body></html>"
    x = featurize(lines_frame([segment_html(html), segment_html(other)]), "html")
    nan = np.nan
    # distinct words: "gear shop home" 2 of 3 in the title; "trail news" 1 of 2; the h1 all
    # 3; the paragraph ("a pack for day hikes with cover") 1 of 7; "related trail pack 40" 2/4
    np.testing.assert_allclose(x.title_overlap, [nan, 2 / 3, 1 / 2, 1, 1 / 7, 2 / 4, nan, nan])
    # the anchor: the h1 (overlap 1 x 3 shared words) beats the h2 "Trail news" (1/2 x 1)
    d = np.array([-3, -2, -1, 0, 1, 2])
    np.testing.assert_allclose(x.anchor_offset, [*(np.sign(d) * np.log1p(np.abs(d))), nan, nan])


def test_title_features_on_real_pages() -> None:
    pages = list(load_wcxb(limit=8))
    frame = lines_frame([segment_html(p.source) for p in pages])
    x = featurize(frame, "html")
    anchored = x.anchor_offset.notna().groupby(frame["page"]).any()
    assert anchored.sum() >= 6  # most pages repeat their title in a heading
    at_anchor = frame[(x.anchor_offset == 0).to_numpy()]
    assert at_anchor["page"].is_unique  # one anchor a page
    assert at_anchor["tag"].isin(["h1", "h2", "h3"]).all()
    assert (x.title_overlap[(x.anchor_offset == 0).to_numpy()] >= 0.5).all()
    is_title = (frame["tag"] == "title").to_numpy()
    assert x.title_overlap[is_title].isna().all()
    assert x.title_overlap[~is_title].between(0, 1).all()


def test_lines_under_a_section_heading_count_lines_and_long_lines_since() -> None:
    long = "This is a long sentence of the article body with more than ten words."
    page = "\n".join(
        ["Intro line", "Related posts", "Teaser one", long, "Teaser two", "Lesen Sie auch:", "X"]
    )
    other = "Most read\nA teaser"  # a second page: its heading does not reach page 1
    x = featurize(lines_frame([segment_text(page), segment_text(other)]), "text")
    nan = np.nan
    assert x.section_heading.tolist() == [0, 1, 0, 0, 0, 1, 0, 1, 0]
    np.testing.assert_array_equal(x.lines_since_section_heading, [nan, nan, 1, 2, 3, 4, 1, nan, 1])
    # long lines strictly between the heading and the line
    np.testing.assert_array_equal(
        x.long_lines_since_section_heading, [nan, nan, 0, 0, 1, 1, 0, nan, 0]
    )
    # a long line that starts like a heading is not one
    long_related = "Related research shows that this long sentence is the body of an article."
    y = featurize(lines_frame([segment_text(long_related)]), "text")
    assert y.section_heading.tolist() == [0]


def test_neighbours_are_nan_at_page_edges_and_never_cross_pages(text_batch) -> None:
    x = text_batch
    lw = np.log1p([2, 5, 10, 2, 10, 2])
    nan = np.nan
    np.testing.assert_allclose(x.log_words_m1, [nan, lw[0], lw[1], lw[2], nan, lw[4]])
    np.testing.assert_allclose(x.log_words_p1, [lw[1], lw[2], lw[3], nan, lw[5], nan])
    np.testing.assert_allclose(x.log_words_m2, [nan, nan, lw[0], lw[1], nan, nan])
    np.testing.assert_allclose(x.log_words_p2, [lw[2], lw[3], nan, nan, nan, nan])
    np.testing.assert_allclose(x.ends_terminal_p1, [0, 1, 1, nan, 1, nan])
    np.testing.assert_allclose(x.stop_density_m1[[1, 5]], [x.stop_density[0], x.stop_density[4]])
    # windows stay within the page: page 2 has 2 lines
    np.testing.assert_allclose(x.log_words_win5[4:], [lw[4:].mean()] * 2)
    np.testing.assert_allclose(x.log_words_win5[0], lw[:3].mean())


def test_link_dom_and_container_features() -> None:
    page = segment_html(
        '<html><body><div class="entry"><p>Read <a href="#">this link</a> now.</p>'
        "<p>Second para here.</p></div>"
        '<ul class="menu"><li><a href="/">Home</a></li></ul></body></html>'
    )
    x = featurize(lines_frame([page]), "html")
    assert list(x.columns) == HTML_FEATURES
    chars = [len("Read this link now."), len("Second para here."), len("Home")]
    np.testing.assert_allclose(x.link_density, [9 / chars[0], 0, 1])
    assert x.all_link.tolist() == [0, 0, 1]
    assert x.page_link_density[0] == pytest.approx(13 / sum(chars))
    np.testing.assert_allclose(x.link_density_p1, [0, 1, np.nan])
    assert x.tag.tolist() == [TAG_CODES["p"], TAG_CODES["p"], TAG_CODES["li"]]
    assert x.depth.tolist() == [4, 4, 4]
    assert x.rel_depth.tolist() == [0, 0, 0]
    assert x.ctx_li.tolist() == [0, 0, 1] and x.ctx_p.tolist() == [1, 1, 0]
    assert x.kw_content.tolist() == [1, 1, 0] and x.kw_nav.tolist() == [0, 0, 1]
    assert x.hidden.tolist() == [0, 0, 0]
    # the two paragraphs share the <div>, "Home" is alone in the <ul>
    np.testing.assert_allclose(x.container_log_lines, np.log1p([2, 2, 1]))
    np.testing.assert_allclose(x.container_log_words, np.log1p([7, 7, 1]))
    np.testing.assert_allclose(x.container_link_density, [9 / 36, 9 / 36, 1])
    np.testing.assert_allclose(x.container_line_rank, [0, 1, 0])
    assert x.dom_covered.isna().all()  # no structured lines


def test_lines_sharing_a_tag_path_grid_vs_repeated_menu() -> None:
    grid = "".join(f"<li>Item number {i} costs {i} euros</li>" for i in range(4))
    page = segment_html(
        f'<html><body><ul class="grid">{grid}</ul>'
        "<div><p>Shop</p></div><div><p>Shop</p></div></body></html>"
    )
    x = featurize(lines_frame([page, segment_text("plain line")]), "html")
    assert len(x) == 7
    # 4 grid items share html>body>ul>li, the two "Shop" lines html>body>div>p
    np.testing.assert_allclose(x.path_log_lines[:6], np.log1p([4, 4, 4, 4, 2, 2]))
    np.testing.assert_allclose(x.path_word_share[:6], [24 / 26] * 4 + [2 / 26] * 2)
    # four different items; the same text twice
    np.testing.assert_allclose(x.path_distinct_share[:6], [1, 1, 1, 1, 0.5, 0.5])
    # a plain-text line has no DOM path
    assert x.iloc[6][["path_log_lines", "path_word_share", "path_distinct_share"]].isna().all()


def test_dom_covered_share_of_structured_trigrams_in_the_dom() -> None:
    body = "one two three four five six seven eight nine ten"  # 8 trigrams
    page = segment_html(
        '<html><head><script type="application/ld+json">{"articleBody": "'
        + body
        + '"}</script></head><body><p>One two three four.</p></body></html>'
    )
    assert page.text == ["One two three four.", body]
    x = featurize(lines_frame([page]), "html")
    # "one two three" and "two three four" are in the DOM: 2 of 8
    assert math.isnan(x.dom_covered[0])
    assert x.dom_covered[1] == pytest.approx(2 / 8)
    assert x.source.tolist() == [0, 2]
    assert math.isnan(x.ctx_p[1]) and math.isnan(x.link_density[1])


def test_text_pages_have_nan_dom_features() -> None:
    page = segment_text("A plain text line.\nAnother one, longer than the first.")
    frame = lines_frame([page])
    x_html = featurize(frame, "html")
    for name in DOM_FEATURES:
        assert x_html[name].isna().all(), name
    x_text = featurize(frame, "text")
    assert list(x_text.columns) == TEXT_FEATURES
    assert not set(DOM_FEATURES) & set(x_text.columns)
    assert x_text.notna().all().sum() > 20


def test_empty_batch() -> None:
    x = featurize(lines_frame([]), "html")
    assert x.shape == (0, len(HTML_FEATURES))
    x = featurize(lines_frame([segment_text("")]), "text")
    assert x.shape == (0, len(TEXT_FEATURES))


@pytest.mark.parametrize("kind", ["html", "text"])
def test_batch_equals_pages_alone(kind: str) -> None:
    pages = list(load_wcxb(limit=4))
    segmented = [
        segment_html(p.source) if kind == "html" else segment_text(p.gold or "") for p in pages
    ]
    segmented.insert(2, segment_text(""))  # an empty page inside the batch
    batch = featurize(lines_frame(segmented), kind)
    alone = pd.concat([featurize(lines_frame([s]), kind) for s in segmented], ignore_index=True)
    assert len(batch) == sum(len(s) for s in segmented) > 100
    # bit for bit: the model's histogram bins turn a 1e-12 difference into another prediction
    pd.testing.assert_frame_equal(batch, alone, check_exact=True)


@pytest.mark.parametrize("width", [1, 4, 5, 11])
def test_window_mean_matches_pandas_rolling_per_page(width: int) -> None:
    from linesift.features import _window_mean

    rng = np.random.default_rng(width)
    group = np.sort(rng.integers(0, 40, 2000))
    values = rng.random(2000)
    values[rng.random(2000) < 0.05] = np.nan
    expected = (
        pd.Series(values)
        .groupby(group)
        .transform(lambda s: s.rolling(width, center=True, min_periods=1).mean())
        .to_numpy()
    )
    np.testing.assert_allclose(_window_mean(values, width, group), expected, atol=1e-9)


def test_dom_covered_counts_only_the_pages_own_dom() -> None:
    """Two pages in one batch: the other page's DOM holding the 3-grams does not count, a
    3-gram repeated in the structured line counts each time."""
    body = "alpha beta gamma alpha beta gamma delta epsilon"  # 6 3-grams, "alpha beta gamma" twice

    def page(dom: str):
        return segment_html(
            '<html><head><script type="application/ld+json">{"description": "'
            + body
            + f'"}}</script></head><body><p>{dom}</p></body></html>'
        )

    own, other = page("Alpha beta gamma!"), page("Beta gamma delta.")
    x = featurize(lines_frame([own, other, own]), "html")
    assert x.source.tolist() == [0, 2] * 3
    # own: "alpha beta gamma" (2 of 6); other: "beta gamma delta" (1 of 6); own again
    assert x.dom_covered[1::2].tolist() == pytest.approx([2 / 6, 1 / 6, 2 / 6])


def test_value_codes_are_pandas_factorize_codes() -> None:
    """Strings through the dict, anything else (numbers, a missing value among strings)
    through pandas: the codes ``pd.factorize(..., use_na_sentinel=False)`` gives."""
    from linesift.features import _value_codes

    paths = ["html>body>div", "html>body>p", "", "html>body>div", "x" * 200, "", "html>body>p"]
    cases = [
        paths,
        np.asarray(paths, dtype=object),
        [*paths, None, float("nan"), None],
        np.array([3.0, np.nan, 1.0, 3.0, np.nan]),
        np.array([5, 2, 5, 7]),
        [],
    ]
    for values in cases:
        expected = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)[0]
        if isinstance(values, np.ndarray) and values.dtype != object:
            expected = pd.factorize(values, use_na_sentinel=False)[0]
        assert _value_codes(values).tolist() == expected.tolist()


def test_language_hits_count_each_languages_bit_per_page() -> None:
    """``_language_hits`` against the tokens x languages matrix of bits it replaced."""
    from linesift.features import STOPWORD_LANGS, _language_hits

    rng = np.random.default_rng(1)
    n_langs = len(STOPWORD_LANGS)
    masks = rng.integers(0, 2**n_langs, 4000, dtype=np.int64)
    masks[::3] = 1 << rng.integers(0, n_langs, len(masks[::3]))  # single languages
    page = np.sort(rng.integers(0, 9, len(masks)))
    bits = (masks[:, None] >> np.arange(n_langs)) & 1
    rows, langs = np.nonzero(bits)
    expected = np.bincount(page[rows] * n_langs + langs, minlength=9 * n_langs)
    assert _language_hits(masks, page, 9, n_langs).ravel().tolist() == expected.tolist()


def test_grams_found_matches_a_set_of_the_dom_trigrams() -> None:
    """``_grams_found``'s table against Python sets, on keys drawn from a few small values
    (many repeats, and different keys landing in the same slots)."""
    from linesift.features import _grams_found

    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 300, 5000):
        page, w1, w2, w3 = (rng.integers(0, 4, n).astype(np.int64) for _ in range(4))
        structured = rng.random(n) < 0.4
        keys = list(zip(page.tolist(), w1.tolist(), w2.tolist(), w3.tolist(), strict=True))
        dom = {k for k, s in zip(keys, structured, strict=True) if not s}
        expected = [float(s and k in dom) for k, s in zip(keys, structured, strict=True)]
        assert _grams_found(page, w1, w2, w3, structured).tolist() == expected


# ---------------------------------------------------------------- words as spans


def _words_of(texts: list[str]):
    from linesift.features import _text_counts

    lowered = [t.lower() for t in texts]
    return lowered, _text_counts(texts)["words"]


@pytest.fixture(scope="module")
def real_texts() -> list[str]:
    """The lines of 40 real pages (JSON-LD lines, CJK and other scripts among them)."""
    from linesift.dataset import load_readability

    pages = [p for i, p in enumerate(load_wcxb()) if i % 40 == 0]
    pages += list(load_readability(limit=10))
    return [t for p in pages for t in segment_html(p.source).text]


def test_words_are_the_tokens_of_the_regexes(real_texts: list[str]) -> None:
    """The spans ``_text_counts`` finds are the words ``tokens()`` finds line by line, and
    the stopword masks and factorized codes from them are those of the strings."""
    from linesift.features import _stopword_masks, _stopword_table, _tokens_by_regex

    texts = [*real_texts, "東京は晴れ Tokyo", "", "ΑΒΓ δέκα_1 Ünïcode", "İstanbul ǅ", "a\u0300b"]
    lowered, words = _words_of(texts)
    expected = _tokens_by_regex(lowered)
    assert all(tokens(t) == _tokens_by_regex([t.lower()]) for t in texts[-6:])
    assert len(expected) > 20000
    assert words.strings() == expected
    masks = _stopword_masks()
    got = words.values(_stopword_table())
    assert got.tolist() == [masks.get(w, 0) for w in expected]
    assert np.count_nonzero(got) > 5000  # real stopwords found, of several languages
    assert len(np.unique(got)) > 5
    rng = np.random.default_rng(0)
    for at in (np.arange(len(expected)), np.sort(rng.choice(len(expected), 3000, replace=False))):
        reference = pd.factorize(np.asarray([expected[i] for i in at], dtype=object))[0]
        assert np.array_equal(words.factorize(at), reference)


def test_line_codes_are_the_lowered_lines_factorized(real_texts: list[str]) -> None:
    """``line_codes`` (the lines as spans of the batch lower-cased at once) are the codes of
    the lines lower-cased one by one - also with a final sigma at a line's end and with a
    character that lower-cases to two (the lines are then lower-cased one by one)."""
    from linesift.features import _text_counts

    greek = ["ΟΔΟΣ", "ΟΔΟΣ.", "Σ", "ΑΣ'", "οδος", "ΟΔΟΣ ΟΔΟΣ", "οδοσ"]
    for texts in (real_texts + greek + real_texts[:50], [*greek, "İstanbul", "i̇stanbul"]):
        lowered = np.asarray([t.lower() for t in texts], dtype=object)
        got = _text_counts(texts)["line_codes"]
        assert got.tolist() == pd.factorize(lowered)[0].tolist()
        assert got.max() < len(texts) - 1  # repeats found


def _headings_by_regex(texts: list[str]) -> list[bool]:
    """The definition: a short line (tokens() of it) the pattern matches."""
    from linesift.features import SECTION_HEADING_MAX_WORDS, SECTION_HEADING_RE

    return [
        len(tokens(t)) <= SECTION_HEADING_MAX_WORDS and SECTION_HEADING_RE.match(t) is not None
        for t in texts
    ]


HEADING_LIKE = [
    "Related", "RELATED POSTS", "» Read more", "-- Most popular", "most read:", "Popularity",
    "Readmore", "read", "re", "r", "In other news", "in", "Inside", "I più letti", "i", "À la une",
    "a la une", "Don't miss", "Don’t miss", "Dont miss", "editors picks", "Editor's Picks",
    "ſee alſo", "ſee also", "İn other news", "ın other news", "Kelvin", "相关文章", "热门推荐",
    "Dernières nouvelles", "DERNIÈRES", "Lo más visto", "lo mas", "more", "Morefrom",
    "you might also like", "You May Also", "1. related", "_related", "related links and " * 3,
]  # fmt: skip


@given(st.lists(st.sampled_from(HEADING_LIKE), max_size=30))
def test_section_heading_matches_are_the_pattern_line_by_line(texts: list[str]) -> None:
    """``_section_matches`` skips lines by their first word before the pattern runs: it
    still finds exactly the lines the pattern matches (IGNORECASE's ſ/ı/İ/K included)."""
    from linesift.features import _text_counts

    assert _text_counts(texts)["section_match"].tolist() == _headings_by_regex(texts)


def test_section_heading_matches_on_real_lines(real_texts: list[str]) -> None:
    from linesift.features import _text_counts

    expected = _headings_by_regex(real_texts)
    assert sum(expected) > 40  # real headings among them
    assert _text_counts(real_texts)["section_match"].tolist() == expected
    # with a line that lower-cases to a longer one (the batch is then lowered line by line)
    texts = [*real_texts[:3000], "İstanbul", *HEADING_LIKE]
    assert _text_counts(texts)["section_match"].tolist() == _headings_by_regex(texts)


def test_words_hash_collisions_are_resolved_on_the_code_points(real_texts: list[str]) -> None:
    """With every hash the same, lookups and codes still go by the words' characters."""
    from linesift.features import SpanTable, _fill_slots

    _, words = _words_of(real_texts[:400])
    strings = words.strings()
    words.hashes = np.zeros(len(words), dtype=np.uint64)
    table = SpanTable({"the": 1, "and": 2, "of": 4, "zzz": 8})
    table.hashes = np.zeros(len(table.hashes), dtype=np.uint64)
    table.slots = _fill_slots(table.hashes, len(table.slots), table.slot_shift)  # all in a row
    expected = [{"the": 1, "and": 2, "of": 4}.get(w, 0) for w in strings]
    assert words.values(table).tolist() == expected
    assert any(expected)
    at = np.arange(len(strings))
    reference = pd.factorize(np.asarray(strings, dtype=object))[0]
    assert np.array_equal(words.factorize(at), reference)


def test_char_counts_and_word_spans_equal_numpy(real_texts: list[str]) -> None:
    """The numba counts and word spans equal the numpy reductions they replace, on the
    lines of real pages (and on the lower-cased lines) plus edge cases."""
    from linesift.features import (
        _char_classes,
        _char_counts,
        _char_counts_by_numpy,
        _word_spans,
        _word_spans_by_numpy,
    )

    extra = ["", " ", "a. b.", ".", "x,，|。 ", "東京は晴れ Tokyo2_x", "A B c", "ÀÉ ǅ ß", "…"]
    lowered = [t.lower() for t in real_texts + extra]
    for number, texts in enumerate((real_texts + extra, lowered, [""], ["A"])):
        n_chars = np.fromiter(map(len, texts), np.int64, len(texts))
        starts = np.cumsum(n_chars + 1) - (n_chars + 1)
        codes, cls = _char_classes("\n".join(texts) + "\n")
        got = _char_counts(codes, cls, starts)
        assert np.array_equal(got, _char_counts_by_numpy(codes, cls, starts))
        if number == 0:
            assert (got.sum(axis=1) > 0).all()  # every count is exercised
        for a, b in zip(_word_spans(cls, starts), _word_spans_by_numpy(cls, starts), strict=True):
            assert a.dtype == b.dtype and np.array_equal(a, b)


def _title_word_counts_by_sets(hashes, first_word, n_words, is_title, group, starts):
    """``_title_word_counts`` with Python sets (the reference)."""
    n = len(n_words)
    out = np.zeros((3, n))
    bounds = [*starts.tolist(), n]
    for lo, hi in itertools.pairwise(bounds):
        titles = [i for i in range(lo, hi) if is_title[i]]
        if not titles or n_words[titles[0]] == 0:
            continue
        t = titles[0]
        in_title = set(hashes[first_word[t] : first_word[t] + n_words[t]].tolist())
        for i in range(lo, hi):
            out[2, i] = len(in_title)
            seen = set(hashes[first_word[i] : first_word[i] + n_words[i]].tolist())
            out[0, i] = len(seen)
            out[1, i] = len(seen & in_title)
    return out


@given(
    st.lists(
        st.tuples(st.lists(st.integers(0, 40), max_size=30), st.booleans(), st.integers(0, 2)),
        min_size=1,
        max_size=25,
    )
)
def test_title_word_counts_equal_sets(rows: list[tuple[list[int], bool, int]]) -> None:
    """Lines as word hashes (few distinct: repeats within a line, shared with the title,
    probing past taken slots), title flags and page breaks."""
    from linesift.features import _title_word_counts

    page = np.cumsum([0] + [min(r[2], 1) for r in rows[1:]])
    hashes = np.array([h * 0x100000001 for r in rows for h in r[0]], dtype=np.uint64)
    n_words = np.array([len(r[0]) for r in rows], dtype=np.int64)
    first_word = np.cumsum(n_words) - n_words
    is_title = np.array([r[1] for r in rows])
    starts = np.flatnonzero(np.r_[True, page[1:] != page[:-1]])
    args = (hashes, first_word, n_words, is_title, page, starts)
    got = np.array(_title_word_counts(*args))
    assert np.array_equal(got, _title_word_counts_by_sets(*args))


@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.sampled_from([0.0, 1.0, 2.5, -1.0, 7.0, math.nan])),
        min_size=1,
        max_size=60,
    )
)
def test_rank_and_median_per_page_equal_pandas(rows: list[tuple[int, float]]) -> None:
    """Per-page ranks (ties averaged) and medians (NaN skipped) of pages of contiguous
    rows, as pandas' groupby gives them."""
    from linesift.features import _median, _page_starts, _rank_pct

    page = np.cumsum([0] + [min(r[0], 1) for r in rows[1:]])
    values = np.array([r[1] for r in rows])
    index, _, group = _page_starts(page)
    starts = np.flatnonzero(index == 0)
    frame = pd.DataFrame({"page": page, "v": values})
    expected = frame.groupby("page")["v"].transform("median").to_numpy()
    assert np.array_equal(_median(values, starts, group), expected, equal_nan=True)
    filled = np.nan_to_num(values, nan=3.0)  # ranks are taken of values without NaN
    expected = pd.Series(filled).groupby(page).rank(pct=True).to_numpy()
    assert np.array_equal(_rank_pct(filled, starts, group), expected)
