"""Lines to a feature matrix.

Feature families (each a small function over the columns of a batch of pages), unioned into
one matrix whose column names and order are the versioned ``SCHEMA``:

- length: chars, words (CJK characters count as words), mean word length
- punctuation: ratios, terminal punctuation, digits, uppercase, pipes, bullets
- links: link density
- position: relative index, share of the page's words before the line, distance to the
  page's densest text region
- dom: block tag, inherited context flags (nav/header/footer/aside/li/table/form/...),
  class/id keyword families, hidden, depth, where the line came from (DOM, noscript,
  JSON-LD, page state)
- container: aggregates over lines that share the same parent block
- path: lines with the same block tag path on the page (grids and lists of like items)
- language: stopword density, with the page's language guessed from ~50 stopword lists
- repetition: how often the same text occurs on the page
- sections: boilerplate section headings ("Related posts", "Most read") and the lines under
  them
- page: page-level statistics
- neighbours: key features of lines +-1 and +-2, and smoothed windows

Beside the line features, ``page_type_inputs`` gives one row per page for the page-type
model (``modeling/page_type.py``): what the page declares about itself and the shape of its
lines.

Everything is computed over a whole batch at once (numpy over concatenated pages), and the
same function serves training and inference, so there is no train/serve skew.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numba
import numpy as np
import pandas as pd

from .segment import CONTEXT_TAGS, KEYWORD_NAMES, SOURCE_CODE, PageLines

SCHEMA_VERSION = "11"

# Block tags with their own code (categorical feature); anything else is "other" (0).
TAG_CODES = {
    t: i + 1
    for i, t in enumerate(
        [
            "p",
            "div",
            "li",
            "td",
            "th",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "a",
            "span",
            "title",
            "dt",
            "dd",
            "pre",
            "blockquote",
            "figcaption",
            "nav",
            "header",
            "footer",
            "aside",
            "article",
            "section",
            "main",
            "form",
            "label",
            "button",
            "option",
            "summary",
            "caption",
            "address",
            "body",
            "html",
            "ul",
            "ol",
            "table",
            "tr",
            "noscript",
        ]
    )
}

_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
TOKEN_RE = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")
CJK_RE = re.compile(rf"[{_CJK}]")
TERMINAL = frozenset(".!?。！？…\"'”’)")
BULLETS = frozenset("•·-–—*»›>|◦▪►→✓")
PUNCT_RE = re.compile(r"[^\w\s]")

STOPWORD_LANGS = [
    "en",
    "de",
    "fr",
    "es",
    "it",
    "pt",
    "nl",
    "sv",
    "da",
    "no",
    "fi",
    "pl",
    "cs",
    "sk",
    "sl",
    "hr",
    "ro",
    "hu",
    "tr",
    "ru",
    "uk",
    "bg",
    "el",
    "ca",
    "eu",
    "gl",
    "et",
    "lv",
    "lt",
    "id",
    "ms",
    "vi",
    "zh",
    "ja",
    "ko",
    "ar",
    "fa",
    "he",
    "hi",
]

# Headings of the sections that hold teasers, not the main text, in the languages of the
# training pages: the lines that follow one are boilerplate far more often (WCXB dev: 14 % of
# the 10 lines after one are content, against 25 % of all lines). A heading starts (after
# any non-word characters) with one of these phrases, case-insensitively; the first word of
# each (``_HEADING_FIRST_WORDS``) lets ``_section_matches`` skip the lines that cannot match
# before it runs the pattern.
SECTION_HEADINGS = (
    "related", "read more", "read next", "more from", "more stories", "more news",
    "most popular", "popular", "trending", "latest", "breaking news", "recommended",
    "you may like", "you may also like", "you might like", "you might also like", "most read",
    "see also", "top stories", "also read", "read also", "further reading", "recent posts",
    "other articles", "more articles", "you may also", "don't miss", "more in", "more on",
    "editor's picks", "editors picks", "what to read next", "up next", "news feed",
    "headlines", "in other news",
    "weitere", "mehr zum thema", "das könnte", "meistgelesen", "lesen sie auch",
    "auch interessant",
    "à lire aussi", "lire aussi", "les plus lus", "à la une", "dernières", "sur le même sujet",
    "te puede interesar", "más leídas", "relacionad", "lo más", "leggi anche",
    "potrebbe interessarti", "i più letti",
    "相关", "热门", "推荐", "猜你喜欢", "最新",
)  # fmt: skip
SECTION_HEADING_RE = re.compile(
    r"^\W*(?:" + "|".join(re.escape(h) for h in SECTION_HEADINGS) + ")", re.I
)
SECTION_HEADING_MAX_WORDS = 8
SECTION_REACH = 50  # lines after a section heading that still count as under it
PATH_FEATURES = ("path_log_lines", "path_word_share", "path_distinct_share")

NEIGHBOUR_BASE = ("log_words", "ends_terminal", "stop_density", "punct_ratio")
NEIGHBOUR_OFFSETS = (-2, -1, 1, 2)
LONG_LINE_WORDS = 10  # a "long" line for the runs-of-long-lines feature


@lru_cache(maxsize=1)
def _stopword_masks() -> dict[str, int]:
    import stopwordsiso

    masks: dict[str, int] = {}
    for bit, lang in enumerate(STOPWORD_LANGS):
        for word in stopwordsiso.stopwords(lang):
            masks[word.lower()] = masks.get(word.lower(), 0) | (1 << bit)
    return masks


@lru_cache(maxsize=1)
def _stopwords_by_bit() -> dict[int, frozenset[str]]:
    """Each language's stopwords, keyed by its bit in ``_stopword_masks``."""
    masks = _stopword_masks()
    return {
        1 << b: frozenset(w for w, m in masks.items() if m >> b & 1)
        for b in range(len(STOPWORD_LANGS))
    }


def tokens(text: str) -> list[str]:
    """Words for length features: ``\\w+`` runs, but every CJK character is its own word."""
    return TOKEN_RE.findall(text.lower())


def _suffix(offset: int) -> str:
    return f"{'p' if offset > 0 else 'm'}{abs(offset)}"


def _html_feature_names() -> list[str]:
    names = [
        # length
        "log_chars",
        "log_words",
        "n_words",
        "mean_word_len",
        "cjk_ratio",
        # punctuation
        "punct_ratio",
        "ends_terminal",
        "ends_colon",
        "digit_ratio",
        "upper_ratio",
        "starts_upper",
        "title_case_ratio",
        "pipe_count",
        "starts_bullet",
        "comma_per_word",
        "period_per_word",
        "has_copyright",
        "has_at_or_url",
        "ends_ellipsis",
        # language
        "stop_density",
        "stop_count",
        # repetition
        "repeat_count",
        # earlier lines of the page with the same text in another container: the gold (and
        # the labels) have a repeated text once, so a later copy elsewhere (a heading
        # repeated in a sticky bar, a product blurb shown twice) reads differently from the
        # first; copies within one block (a refrain, a repeated paragraph) are not counted
        "copy_index",
        # position
        "rel_index",
        "words_before_frac",
        "log_index_from_end",
        "rel_to_dense",
        # page
        "page_log_lines",
        "page_log_words",
        "line_word_share",
        # neighbours
        *[f"{b}_{_suffix(o)}" for o in NEIGHBOUR_OFFSETS for b in NEIGHBOUR_BASE],
        "stop_density_win5",
        "log_words_win5",
        "log_words_win11",
        # wider context: windows, runs of long lines, the page's longest line
        "stop_density_win11",
        "ends_terminal_win5",
        "ends_terminal_win11",
        "punct_ratio_win5",
        "long_run_log_len",
        "rel_to_longest",
        "word_rank_in_page",
        "page_terminal_share",
        "ends_separator",
        # boilerplate section headings ("Related posts", "Most read", ...) and lines under them
        "section_heading",
        "lines_since_section_heading",
        "long_lines_since_section_heading",
        # blank lines around the line (plain-text pages that have them)
        "gap_before",
        "gap_after",
        "page_gap_share",
        # links (html only from here)
        "link_density",
        *[f"link_density_{_suffix(o)}" for o in NEIGHBOUR_OFFSETS],
        "all_link",
        "page_link_density",
        "link_density_win5",
        "link_density_win11",
        "page_linky_line_share",
        # dom
        "tag",
        "depth",
        "rel_depth",
        "hidden",
        "source",
        *[f"ctx_{t}" for t in CONTEXT_TAGS],
        *[f"kw_{k}" for k in KEYWORD_NAMES],
        # container
        "container_log_lines",
        "container_log_words",
        "container_link_density",
        "container_stop_density",
        "container_line_rank",
        "container_terminal_share",
        # structured data already visible in the DOM
        "dom_covered",
        # the page's <title>: how much of it the line repeats, and how far the line is from
        # the heading that repeats it (where an article's or product's main text starts)
        "title_overlap",
        "anchor_offset",
        # lines that share the block's tag path: grids and lists of like items
        *PATH_FEATURES,
    ]
    return names


_ALL_FEATURES: list[str] = _html_feature_names()
# Blank lines exist only in plain-text pages: always missing in HTML, so not an html feature.
TEXT_ONLY = ("gap_before", "gap_after", "page_gap_share")
HTML_FEATURES: list[str] = [name for name in _ALL_FEATURES if name not in TEXT_ONLY]
# copy_index: html only. In the text model it scored within noise on WCXB (CV 0.8264 vs
# 0.8245) and lifted the user's example page's category line over the threshold.
TEXT_FEATURES: list[str] = [
    name for name in _ALL_FEATURES[: _ALL_FEATURES.index("link_density")] if name != "copy_index"
]
CATEGORICAL = ("tag", "source")


def feature_names(kind: str) -> list[str]:
    """Column order of the model of ``kind`` ("html" or "text")."""
    return HTML_FEATURES if kind == "html" else TEXT_FEATURES


def lines_frame(pages: Sequence[PageLines]) -> pd.DataFrame:
    """Concatenate segmented pages into one frame with a ``page`` column (0..len-1)."""
    return pd.DataFrame(line_columns(pages))


def line_columns(pages: Sequence[PageLines]) -> dict[str, list | np.ndarray]:
    """``lines_frame``'s columns as lists (strings) and numpy arrays (numbers), without the
    DataFrame: ``featurize_columns`` reads them as they are, and a DataFrame costs a page
    predicted alone ~1 ms (pandas turns the string columns into Arrow strings, which
    ``featurize`` turns back into Python strings)."""
    counts = [len(p) for p in pages]
    cols: dict[str, list] = {}
    for p in pages:
        for name, values in p.columns().items():
            cols.setdefault(name, []).extend(values)
    if not cols:
        cols = {name: [] for name in PageLines().columns()}
    out = {name: _column(values) for name, values in cols.items()}
    out["page"] = np.repeat(np.arange(len(pages)), counts)
    return out


def _column(values: list) -> list | np.ndarray:
    """A column's list as an int64 or float64 array when it holds numbers (PageLines' numeric
    columns hold Python ints and floats, NaN for missing): numpy infers the dtype pandas
    would (int64 if all are ints, else float64) 3x faster. Strings and empty lists (object
    in pandas, float64 in numpy) stay lists."""
    if not values or isinstance(values[0], str):
        return values
    array = np.array(values)
    return array if array.dtype.kind in "if" else values


def _first(value: object, rest: np.ndarray) -> np.ndarray:
    """``np.r_[value, rest]`` for a scalar of ``rest``'s dtype, without ``np.r_``'s parsing
    (~10 us a call, ~20 calls a batch: a fixed cost of a page predicted alone)."""
    out = np.empty(len(rest) + 1, dtype=rest.dtype)
    out[0] = value
    out[1:] = rest
    return out


def _last(rest: np.ndarray, value: object) -> np.ndarray:
    """``np.r_[rest, value]`` (see ``_first``)."""
    out = np.empty(len(rest) + 1, dtype=rest.dtype)
    out[:-1] = rest
    out[-1] = value
    return out


def _page_starts(page: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per line: index within its page, page length, and the page's first row."""
    n = len(page)
    if n == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z
    change = _first(True, page[1:] != page[:-1])
    start_rows = np.flatnonzero(change)
    group = np.cumsum(change) - 1
    sizes = np.diff(_last(start_rows, n))
    first = start_rows[group]
    return np.arange(n) - first, sizes[group], group


def _shift(values: np.ndarray, offset: int, index: np.ndarray, size: np.ndarray) -> np.ndarray:
    """``values`` of the line ``offset`` away within the same page; NaN past the page edges."""
    out = np.full(len(values), np.nan)
    target = index + offset
    ok = (target >= 0) & (target < size)
    rows = np.flatnonzero(ok)
    out[rows] = values[rows + offset]
    return out


def _window_mean(values: np.ndarray, width: int, group: np.ndarray) -> np.ndarray:
    """Centered moving average within each page (edges use the lines available; NaNs are
    skipped), as pandas' ``rolling(width, center=True, min_periods=1).mean()`` per page.

    Summed as ``width`` shifted copies in a fixed order, so a line's value depends on its own
    page only, bit for bit: a cumulative sum over the batch would carry rounding from the
    other pages, and a 1e-12 difference can move a value across a histogram-bin edge of the
    gradient-boosting model (train/serve skew)."""
    values = np.ascontiguousarray(values, dtype=float)
    group = np.ascontiguousarray(group, dtype=np.int64)
    return _window_sums(values, group, -(width // 2), (width - 1) // 2)


@numba.njit(cache=True, nogil=True)
def _window_sums(values, group, lo, hi):
    """``_window_mean``'s loop (numba): per line, its page's values at offsets ``lo..hi``
    summed in offset order, NaNs skipped: the additions numpy made one shifted copy at a
    time (skipping a NaN = adding 0.0 to a sum that is never -0.0), without the ~15 array
    operations per offset that were a fixed cost of every call."""
    n = len(values)
    out = np.empty(n)
    start = 0
    while start < n:
        end = start + 1
        while end < n and group[end] == group[start]:
            end += 1
        for i in range(start, end):
            total = 0.0
            count = 0.0
            for offset in range(lo, hi + 1):
                j = i + offset
                if j >= start and j < end:
                    v = values[j]
                    if not np.isnan(v):
                        total += v
                        count += 1.0
            out[i] = total / count if count > 0 else np.nan
        start = end
    return out


def _run_lengths(flag: np.ndarray, group: np.ndarray) -> np.ndarray:
    """For each line with ``flag`` set (non-zero), the length of the run of consecutive lines
    of its page that holds it and have the same value; 0 for unflagged lines."""
    n = len(flag)
    if n == 0:
        return np.zeros(0)
    breaks = _first(True, (flag[1:] != flag[:-1]) | (group[1:] != group[:-1]))
    run_id = np.cumsum(breaks) - 1
    return np.bincount(run_id)[run_id] * (flag != 0)


# Separators an inline list puts between its items ("a - b - c", "Home / News / World");
# "»" and "·" dangle without a space before them too (as in ``ends_separator``).
_SPACED_SEPARATORS = frozenset("-|/>–—")
_BARE_SEPARATORS = frozenset("»·")


def _dangling_separator(text: str) -> str:
    """The separator a line ends with when the line is one item of an inline list saved one
    item per line ("Anagram: the joy of words -"); "" otherwise. A line that starts with the
    same character ("| a | b |", a table row) is not counted."""
    if len(text) < 2:
        return ""
    last = text[-1]
    if last in _BARE_SEPARATORS or (last in _SPACED_SEPARATORS and text[-2] == " "):
        return "" if text[0] == last else last
    return ""


def dangling_separator_runs(texts: Sequence[str], page: np.ndarray) -> np.ndarray:
    """Per line, the length of the run of consecutive lines of its page that end in the same
    dangling separator (see ``_dangling_separator``); 0 for lines that end in none.

    Seven headlines each ending in " -" above an article are a ticker's items, not a list
    of content: a plain-text renderer split the ticker's one line at its links."""
    if len(texts) == 0:
        return np.zeros(0, dtype=np.int64)
    # each line's separator as its code point (0: none), runs of one code point counted
    keys = (ord(key) if key else 0 for key in map(_dangling_separator, texts))
    return _run_lengths(np.fromiter(keys, np.int64, len(texts)), np.asarray(page))


def _heading_first_words() -> tuple[frozenset[str], tuple[str, ...]]:
    """``(whole, prefixes)``: a line can match ``SECTION_HEADING_RE`` only if its first word
    (lower-cased) is in ``whole`` - the first word of a phrase of several words, which a
    non-word character follows - or starts with one of ``prefixes`` (one-word phrases)."""
    whole, prefixes = set(), set()
    for phrase in SECTION_HEADINGS:
        word = re.match(r"\w+", phrase).group()
        (prefixes if word == phrase else whole).add(word)
    return frozenset(whole), tuple(sorted(prefixes))


def _first_two_key(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """A word's first two code points as one integer (``second`` -1: a one-letter word)."""
    return first.astype(np.int64) * 0x110001 + second + 1


_HEADING_FIRST_WORDS = _heading_first_words()
# the first two characters of those words: a cheap test before the words themselves
_HEADING_KEYS = np.unique(
    [
        _first_two_key(np.array(ord(w[0])), np.array(ord(w[1]) if len(w) > 1 else -1))
        for w in (*_HEADING_FIRST_WORDS[0], *_HEADING_FIRST_WORDS[1])
    ]
)


def _section_matches(
    texts: Sequence[str], n_words: np.ndarray, words: Words, line_starts: np.ndarray
) -> np.ndarray:
    """The lines ``SECTION_HEADING_RE`` matches, among those short enough to be a section
    heading (``SECTION_HEADING_MAX_WORDS``; the longer ones are False: ``_section_features``
    does not read them). ``words``: the lines' words, as spans of the lower-cased lines
    joined, which start at ``line_starts``.

    Only lines whose first word can start a match (``_HEADING_FIRST_WORDS``; tested on its
    first two characters, then as a string) are matched, ~1 in 10 of the short lines of WCXB
    pages: the pattern's 60 alternatives tried at every short line cost ~0.19 ms a page,
    now 0.05. The first word decides only where the line up to the
    character after it is ASCII once lower-cased: there lower-casing is what the pattern's
    IGNORECASE does; elsewhere (``ſ``, ``ı`` and ``İ`` match s and i, ``İ`` lower-cases to
    two characters) the pattern decides. Then matched in one pass over those lines joined
    when none holds a "\n" (a multi-line pattern cannot run from one line into the next)."""
    out = np.zeros(len(texts), dtype=bool)
    short = np.flatnonzero((n_words <= SECTION_HEADING_MAX_WORDS) & (n_words > 0))
    if not len(short):
        return out
    first = (np.cumsum(n_words) - n_words)[short]  # each short line's first word
    word_start, word_end = words.start[first], words.end[first]
    ascii_prefix = _spans_ascii(words.codes, line_starts[short], word_end + 1)
    first_code = words.codes[word_start].astype(np.int64)
    second = np.where(word_end - word_start > 1, words.codes[word_start + 1].astype(np.int64), -1)
    maybe = ~ascii_prefix | np.isin(_first_two_key(first_code, second), _HEADING_KEYS)
    short, word_start, word_end, ascii_prefix = (
        short[maybe],
        word_start[maybe],
        word_end[maybe],
        ascii_prefix[maybe],
    )
    whole, prefixes = _HEADING_FIRST_WORDS
    text = words.text
    keep = [
        i
        for i, a, b, plain in zip(
            short.tolist(),
            word_start.tolist(),
            word_end.tolist(),
            ascii_prefix.tolist(),
            strict=True,
        )
        if not plain or text[a:b] in whole or text.startswith(prefixes, a, b)
    ]
    if not keep:
        return out
    candidates = [texts[i] for i in keep]
    at_rows = np.asarray(keep)
    joined = "\n".join(candidates) + "\n"
    if joined.count("\n") == len(candidates):
        lengths = np.fromiter(map(len, candidates), np.int64, len(candidates))
        starts = np.cumsum(lengths + 1) - (lengths + 1)
        at = [m.start() for m in _SECTION_HEADING_LINES_RE.finditer(joined)]
        out[at_rows[np.searchsorted(starts, at, side="right") - 1]] = True
    else:
        matched = [SECTION_HEADING_RE.match(t) is not None for t in candidates]
        out[at_rows[np.asarray(matched, dtype=bool)]] = True
    return out


@numba.njit(cache=True, nogil=True)
def _spans_ascii(codes: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Per span ``[lo, hi)`` of ``codes``: all code points below 128."""
    out = np.ones(len(lo), dtype=np.bool_)
    for k in range(len(lo)):
        for i in range(lo[k], hi[k]):
            if codes[i] >= 128:
                out[k] = False
                break
    return out


def _section_features(
    f: dict[str, np.ndarray],
    heading_match: np.ndarray,
    n_words: np.ndarray,
    group: np.ndarray,
    index: np.ndarray,
) -> None:
    """``section_heading`` (a short line like "Related posts"), and for the lines after one
    (within ``SECTION_REACH`` lines of the same page): how many lines and how many long lines
    lie between, so that a run of teaser headlines under it reads differently from an
    article body that starts after it. NaN when no section heading precedes the line.
    ``heading_match``: the lines ``SECTION_HEADING_RE`` matches."""
    n = len(heading_match)
    heading = heading_match & (n_words <= SECTION_HEADING_MAX_WORDS)
    f["section_heading"] = heading.astype(float)
    row = np.arange(n)
    page_start = row - index
    # the last heading at or before each row, then the one strictly before it
    last = np.maximum.accumulate(np.where(heading, row, -1)) if n else row
    before = _first(-1, last[:-1]) if n else row
    under = (before >= page_start) & (row - before <= SECTION_REACH)
    long_line = (n_words >= LONG_LINE_WORDS).astype(np.int64)
    long_cum = np.cumsum(long_line)  # integers: exact in any batch
    since = np.full(n, np.nan)
    longs = np.full(n, np.nan)
    rows = np.flatnonzero(under)
    since[rows] = rows - before[rows]
    # long lines strictly between the heading and the row
    longs[rows] = long_cum[rows - 1] - long_cum[before[rows]]
    f["lines_since_section_heading"] = since
    f["long_lines_since_section_heading"] = longs


def _path_features(
    f: dict[str, np.ndarray],
    paths: list[str],
    text_codes: np.ndarray,
    n_words: np.ndarray,
    group: np.ndarray,
    page_words: np.ndarray,
    is_dom: np.ndarray,
) -> None:
    """How many lines of the page share the line's block tag path (``html>body>div>ul>li``),
    their share of the page's words, and the share of distinct texts among them (a repeated
    menu vs a grid of different items). ``text_codes``: codes of the lower-cased texts;
    ``page_words``: words per page (by ``group``). NaN for lines without a DOM."""
    n = len(paths)
    if not n:
        for name in PATH_FEATURES:
            f[name] = np.zeros(0)
        return
    codes = _pair_codes(group, paths)
    n_codes = int(codes.max()) + 1
    lines_per_path = np.bincount(codes, minlength=n_codes).astype(float)
    # distinct texts per path: the distinct (path, text) pairs, counted by path
    pairs = np.unique(codes.astype(np.int64) * (int(text_codes.max()) + 1) + text_codes)
    distinct = np.bincount(pairs // (int(text_codes.max()) + 1), minlength=n_codes)[codes]
    f["path_log_lines"] = np.log1p(lines_per_path[codes])
    f["path_word_share"] = _group_sum(codes, n_words, n_codes)[codes] / np.maximum(
        page_words[group], 1
    )
    f["path_distinct_share"] = distinct / lines_per_path[codes]
    for name in PATH_FEATURES:
        f[name][~is_dom] = np.nan


def _group_sum(key: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    return np.bincount(key, weights=values, minlength=n_groups)


def _pair_codes(group: np.ndarray, values: np.ndarray | list) -> np.ndarray:
    """Codes (0..k-1) of the distinct ``(group, value)`` pairs: what factorizing a MultiIndex
    of the two gives, without building a tuple per row. ``values``: any 1-d array or list."""
    value_codes = _value_codes(values)
    n_values = int(value_codes.max()) + 1 if len(value_codes) else 1
    return pd.factorize(group.astype(np.int64) * n_values + value_codes)[0]


def _value_codes(values: np.ndarray | list) -> np.ndarray:
    """``pd.factorize(values, use_na_sentinel=False)[0]``. Strings (tag paths, class/id
    words: up to 200 characters) go through a dict, 1.4-3x faster than pandas' object
    factorize for them; anything else, or a missing value among them, through pandas."""
    if isinstance(values, list) or values.dtype == object:
        first: dict[Any, int] = {}
        codes = [first.setdefault(v, len(first)) for v in values]
        if all(type(v) is str for v in first):
            return np.fromiter(codes, np.int64, len(codes))
        values = np.asarray(values, dtype=object)
    return pd.factorize(values, use_na_sentinel=False)[0]


def _code_sizes(codes: np.ndarray) -> np.ndarray:
    """Per row: how many rows share its code."""
    return np.bincount(codes)[codes]


def _cumcount(codes: np.ndarray) -> np.ndarray:
    """Per row: how many earlier rows share its code (pandas' ``groupby().cumcount()``)."""
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    block_start = np.flatnonzero(_first(True, sorted_codes[1:] != sorted_codes[:-1]))
    out = np.empty(len(codes), dtype=np.int64)
    out[order] = np.arange(len(codes)) - np.repeat(
        block_start, np.diff(_last(block_start, len(codes)))
    )
    return out


def _first_argmax(values: np.ndarray, starts: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per row: the row of its page's first maximum of ``values`` (no NaN), as pandas'
    ``groupby(group).transform("idxmax")``. ``starts``: the pages' first rows."""
    rows = np.arange(len(values))
    top = np.maximum.reduceat(values, starts)[group]
    return np.minimum.reduceat(np.where(values == top, rows, len(values)), starts)[group]


@numba.njit(cache=True, nogil=True)
def _page_orders(values, starts):
    """The rows in order of page, then of ``values`` within the page (NaN last): what
    ``np.lexsort((values, group))`` gives for pages of contiguous rows starting at
    ``starts``, each page sorted on its own (half the time of the lexsort of the batch)."""
    n = len(values)
    order = np.empty(n, dtype=np.int64)
    m = len(starts)
    for p in range(m):
        lo = starts[p]
        hi = starts[p + 1] if p + 1 < m else n
        order[lo:hi] = lo + np.argsort(values[lo:hi], kind="mergesort")
    return order


def _rank_pct(values: np.ndarray, starts: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per row: the rank of ``values`` (no NaN) within its page over the page's size, ties
    averaged: pandas' ``groupby(group).rank(pct=True)``, bit for bit (an average rank is a
    half-integer, exact in a float)."""
    n = len(values)
    order = _page_orders(np.asarray(values, dtype=np.float64), np.asarray(starts, np.int64))
    v, g = values[order], group[order]
    ties = _first(True, (v[1:] != v[:-1]) | (g[1:] != g[:-1]))
    tie_start = np.flatnonzero(ties)
    tie = np.cumsum(ties) - 1
    tie_end = _last(tie_start[1:], n)
    first = starts[g]  # a page's rows are contiguous, so it starts at the same place sorted
    average = (tie_start[tie] + tie_end[tie] + 1 - 2 * first) / 2
    out = np.empty(n)
    out[order] = average / np.diff(_last(starts, n))[g]
    return out


def _median(values: np.ndarray, starts: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per row: the median of its page's ``values`` skipping NaN (NaN if all are), as
    pandas' ``groupby(group).transform("median")``."""
    n = len(values)
    order = _page_orders(np.asarray(values, dtype=np.float64), np.asarray(starts, np.int64))
    v = values[order]
    valid = np.bincount(group, weights=~np.isnan(values), minlength=len(starts)).astype(np.int64)
    lo = starts + np.maximum(valid - 1, 0) // 2
    hi = starts + valid // 2
    lo, hi = np.minimum(lo, n - 1), np.minimum(hi, n - 1)
    med = np.where(valid > 0, (v[lo] + v[hi]) / 2, np.nan)
    return med[group]


# ---- character classes of the batch's text, per code point
_C_DIGIT, _C_UPPER, _C_ALPHA, _C_SPACE, _C_CJK, _C_PUNCT, _C_TOKEN = (1 << i for i in range(7))
_C_TERMINAL, _C_BULLET, _C_COLON = (1 << i for i in range(7, 10))
_C_KNOWN = 1 << 15
_char_table: np.ndarray | None = None  # code point -> class bits, 0 while not yet seen


def _char_class(ch: str) -> int:
    """The class bits of one character, from the very tests the per-line features use."""
    return (
        _C_KNOWN
        | _C_DIGIT * ch.isdigit()
        | _C_UPPER * ch.isupper()
        | _C_ALPHA * ch.isalpha()
        | _C_SPACE * ch.isspace()  # what str.split() splits on
        | _C_CJK * (CJK_RE.match(ch) is not None)
        | _C_PUNCT * (PUNCT_RE.match(ch) is not None)
        | _C_TOKEN * (TOKEN_RE.match(ch) is not None)  # a character of a word (tokens())
        | _C_TERMINAL * (ch in TERMINAL)
        | _C_BULLET * (ch in BULLETS)
        | _C_COLON * (ch in ":：")
    )


def _char_classes(text: str) -> tuple[np.ndarray, np.ndarray]:
    """``(code points, class bits)`` of ``text``, one entry per character."""
    global _char_table
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if _char_table is None:
        _char_table = np.zeros(0x110000, dtype=np.uint16)
    table = _char_table
    classes = table[codes]
    new = codes[classes == 0]
    if len(new):
        for code in np.unique(new).tolist():
            table[code] = _char_class(chr(code))
        classes = table[codes]
    return codes, classes


def _text_counts(texts: list[str]) -> dict[str, Any]:
    """Per-line character and word counts, over the batch's text joined into one string.

    The per-line loops (``sum(map(str.isdigit, t))``, ``len(CJK_RE.findall(t))``, ...) cost
    a Python call per line and feature; here the counts come from one pass (numba) over the
    character classes of the whole batch (``_char_counts``; ``np.add.reduceat`` per count is
    the reference the tests compare it with). Lines are joined with a "\\n" after each (a space
    for ``str.split``, no word or punctuation character), so that every line's span is not
    empty and no word runs over into the next line. Counts are integers: exact, whatever
    the batch. ``words``: the words of all lines in order (``tokens(t)`` for each ``t``);
    ``line_codes``: ``pd.factorize`` codes of the lines lower-cased (equal codes, equal
    lines)."""
    n = len(texts)
    out: dict[str, Any] = {}
    n_chars = np.fromiter(map(len, texts), np.int64, n)
    starts = np.cumsum(n_chars + 1) - (n_chars + 1)
    joined = "\n".join(texts) + "\n"
    codes, cls = _char_classes(joined)

    out["n_chars"] = n_chars.astype(float)
    # integer counts, as float64 (exact): what np.add.reduceat of each flag over the lines'
    # spans gave, in one pass (_char_counts)
    for name, values in zip(_CHAR_COUNTS, _char_counts(codes, cls, starts), strict=True):
        out[name] = values.astype(np.float64)
    out["n_space_words"] += 1  # t.count(" ") + 1

    # the first and last characters (an empty line has "" for both)
    has = n_chars > 0
    last_at = np.maximum(starts + n_chars - 1, 0)
    first_cls = np.where(has, cls[starts], 0)
    last_cls = np.where(has, cls[last_at], 0)
    last_code = np.where(has, codes[last_at], 0)
    out["ends_terminal"] = (last_cls & _C_TERMINAL > 0).astype(float)
    out["ends_colon"] = ((last_cls & _C_COLON > 0) | ~has).astype(float)  # "" in ":："
    out["starts_upper"] = (first_cls & _C_UPPER > 0).astype(float)
    out["starts_bullet"] = (first_cls & _C_BULLET > 0).astype(float)

    def code_before(k: int) -> np.ndarray:
        """The code point ``k`` characters before the last one (0 if the line is shorter)."""
        return np.where(n_chars > k, codes[np.maximum(starts + n_chars - 1 - k, 0)], 0)

    dot = ord(".")
    out["ends_ellipsis"] = (
        (last_code == ord("…"))
        | ((last_code == dot) & (code_before(1) == dot) & (code_before(2) == dot))
    ).astype(float)
    # t.endswith((" -", " |", " /", "»", " >", " –", " —", "·"))
    out["ends_separator"] = (
        np.isin(last_code, [ord("»"), ord("·")])
        | (np.isin(last_code, [ord(c) for c in "-|/>–—"]) & (code_before(1) == 32))
    ).astype(float)

    # words: tokens() of each line, found in one pass over the lower-cased batch. The
    # batch lower-cased at once is its lines lower-cased and joined (a "\n" ends the
    # context of a final sigma as a line's end does); when a character lower-cases to two
    # (U+0130), lines lower-cased one by one give their new lengths.
    text_chars = len(joined)
    joined = joined.lower()
    if len(joined) == text_chars:
        n_lower, lower_starts = n_chars, starts
    else:
        lowered = [t.lower() for t in texts]
        joined = "\n".join(lowered) + "\n"
        n_lower = np.fromiter(map(len, lowered), np.int64, n)
        lower_starts = np.cumsum(n_lower + 1) - (n_lower + 1)
    lcodes, lcls = _char_classes(joined)
    n_words, word_chars, start, end = _word_spans(lcls, lower_starts)
    out["n_words"] = n_words.astype(np.float64)
    out["word_chars"] = word_chars.astype(np.float64)
    out["words"] = Words(joined, lcodes, start, end)
    # the lines as spans too: factorized by their hashes (confirmed on the code points)
    out["line_codes"] = Words(joined, lcodes, lower_starts, lower_starts + n_lower).factorize(
        np.arange(n)
    )
    out["section_match"] = _section_matches(texts, n_words, out["words"], lower_starts)

    # lines holding one of the substrings: where each occurs (str.find is a fast C scan, and
    # no substring spans the "\n" between lines)
    for name, needles in (
        ("has_copyright", ("©", "copyright", "all rights reserved")),
        ("has_at_or_url", ("@", "http", "www.")),
    ):
        at: list[int] = []
        for needle in needles:
            pos = joined.find(needle)
            while pos >= 0:
                at.append(pos)
                pos = joined.find(needle, pos + 1)
        flag = np.zeros(n)
        flag[np.searchsorted(lower_starts, at, side="right") - 1] = 1.0
        out[name] = flag
    return out


_WORD_RUN_RE = re.compile(r"\w+")

# the rows of ``_char_counts``' result
_CHAR_COUNTS = (
    "n_digits",
    "n_upper",
    "n_alpha",
    "n_cjk",
    "n_punct",
    "n_title",
    "n_space_words",
    "pipe_count",
    "n_commas",
    "n_periods",
)


def _char_counts_by_numpy(codes: np.ndarray, cls: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``_char_counts`` by numpy, one ``np.add.reduceat`` per count (the reference)."""

    def count(flags: np.ndarray) -> np.ndarray:
        return np.add.reduceat(flags, starts, dtype=np.int64)

    space = cls & _C_SPACE > 0
    word_start = ~space & _first(True, space[:-1])
    period_space = _last((codes[:-1] == ord(".")) & (codes[1:] == 32), False)
    return np.array(
        [
            *(count(cls & bit > 0) for bit in (_C_DIGIT, _C_UPPER, _C_ALPHA, _C_CJK, _C_PUNCT)),
            count(word_start & (cls & _C_UPPER > 0)),
            count(codes == 32),
            count(codes == ord("|")),
            count((codes == ord(",")) | (codes == ord("，"))),
            count(period_space | (codes == ord("。"))),
        ]
    )


def _word_spans_by_numpy(
    cls: np.ndarray, starts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``_word_spans`` by numpy (the reference)."""
    token_char = cls & _C_TOKEN > 0
    cjk = cls & _C_CJK > 0
    run = token_char & ~cjk
    word_begins = cjk | (run & ~_first(False, run[:-1]))
    start = np.flatnonzero(word_begins)
    end = start + 1
    in_run = ~cjk[start]
    run_ends = np.flatnonzero(run & ~_last(run[1:], False)) + 1
    end[in_run] = run_ends[np.searchsorted(run_ends, start[in_run], side="right")]
    n_words = np.add.reduceat(word_begins, starts, dtype=np.int64)
    return n_words, np.add.reduceat(token_char, starts, dtype=np.int64), start, end


@numba.njit(cache=True, nogil=True)
def _char_counts(codes, cls, starts):
    """Per line (its span ``starts[i]:starts[i + 1]``, the last to the end): characters of
    each class; first characters of ``str.split()``'s words that are upper case (a character
    not a space after a space or at the very start); spaces; "|"; "," and "，"; ". " and
    "。" (a "." followed by a space). The rows are ``_CHAR_COUNTS``. (Counted in locals, a
    line at a time: a quarter faster than adding to the output array per character.)"""
    n, m = len(starts), len(codes)
    out = np.zeros((10, n), dtype=np.int64)
    after_space = True  # the very start counts as after a space
    for i in range(n):
        hi = starts[i + 1] if i + 1 < n else m
        digit = upper = alpha = cjk = punct = title = space = pipe = comma = period = 0
        for p in range(starts[i], hi):
            c = cls[p]
            code = codes[p]
            is_space = (c & _C_SPACE) != 0
            is_upper = (c & _C_UPPER) != 0
            digit += (c & _C_DIGIT) != 0
            upper += is_upper
            title += is_upper and not is_space and after_space
            alpha += (c & _C_ALPHA) != 0
            cjk += (c & _C_CJK) != 0
            punct += (c & _C_PUNCT) != 0
            space += code == 32
            pipe += code == 124  # "|"
            comma += (code == 44) | (code == 0xFF0C)  # "," "，"
            period += (code == 0x3002) | ((code == 46) and p + 1 < m and codes[p + 1] == 32)
            after_space = is_space
        out[0, i] = digit
        out[1, i] = upper
        out[2, i] = alpha
        out[3, i] = cjk
        out[4, i] = punct
        out[5, i] = title
        out[6, i] = space
        out[7, i] = pipe
        out[8, i] = comma
        out[9, i] = period
    return out


@numba.njit(cache=True, nogil=True)
def _word_spans(cls, starts):
    """The words (``tokens()``) of the lines of a lower-cased batch from its character
    classes: per line its words and word characters, and each word's start and end. A CJK
    character is a word of its own; other word characters run together into one word."""
    n, m = len(starts), len(cls)
    n_words = np.zeros(n, dtype=np.int64)
    word_chars = np.zeros(n, dtype=np.int64)
    start = np.empty(m, dtype=np.int64)
    end = np.empty(m, dtype=np.int64)
    k = 0
    in_run = False  # the previous character continues a run
    for i in range(n):
        hi = starts[i + 1] if i + 1 < n else m
        words = chars = 0
        for p in range(starts[i], hi):
            c = cls[p]
            token = (c & _C_TOKEN) != 0
            chars += token
            if c & _C_CJK:
                start[k] = p
                end[k] = p + 1
                k += 1
                words += 1
                in_run = False
            elif token:
                if not in_run:
                    start[k] = p
                    k += 1
                    words += 1
                end[k - 1] = p + 1  # the run's word goes on to here at least
                in_run = True
            else:
                in_run = False
        n_words[i] = words
        word_chars[i] = chars
    return n_words, word_chars, start[:k].copy(), end[:k].copy()


def _tokens_by_regex(lowered: list[str]) -> list[str]:
    """``tokens(t)`` of every line in order, by the regexes: the reference ``Words`` (the
    words ``_text_counts`` finds as spans) is tested against."""
    out: list[str] = []
    for t in lowered:
        out += (TOKEN_RE if CJK_RE.search(t) else _WORD_RUN_RE).findall(t)
    return out


class Words:
    """The words of a batch's lines (``tokens(t)`` of each line in order) as spans of the
    lower-cased lines joined: no ``str`` per word (creating, hashing and looking up ~100k
    of them a batch was a quarter of the features' time). A word is looked up by an FNV-1a
    hash of its code points, and every hash hit is confirmed on the code points, so what
    the spans give equals what the words as strings give."""

    __slots__ = ("codes", "end", "hashes", "start", "text")

    def __init__(self, text: str, codes: np.ndarray, start: np.ndarray, end: np.ndarray):
        self.text = text  # the lower-cased lines, each followed by "\n"
        self.codes = codes  # its code points
        self.start = start  # each word's first and past-last index in ``text``
        self.end = end
        self.hashes = _span_hashes(codes, start, end)

    def __len__(self) -> int:
        return len(self.start)

    def strings(self, at: np.ndarray | None = None) -> list[str]:
        """The words (those at the indices ``at``) as strings."""
        start, end = (self.start, self.end) if at is None else (self.start[at], self.end[at])
        text = self.text
        return [text[s:e] for s, e in zip(start.tolist(), end.tolist(), strict=True)]

    def values(self, table: SpanTable) -> np.ndarray:
        """Each word's value in ``table`` (0 for a word not in it): ``dict.get(word, 0)``."""
        return _span_lookup(
            self.codes, self.start, self.end, self.hashes, table.slots, table.slot_shift,
            table.hashes, table.offsets, table.codes, table.values,
        )  # fmt: skip

    def factorize(self, at: np.ndarray) -> np.ndarray:
        """``pd.factorize`` codes of the words at ``at`` (one code per distinct word, in
        order of first appearance): the hashes factorized, then each word checked against
        the first word of its code (a hash collision falls back to the strings)."""
        codes = pd.factorize(self.hashes[at])[0]
        if _spans_match_first(self.codes, self.start[at], self.end[at], codes):
            return codes
        return pd.factorize(np.asarray(self.strings(at), dtype=object))[0]


class SpanTable:
    """A ``dict[str, int]`` as arrays for ``Words.values``: its keys' hashes (sorted), code
    points (concatenated; key ``i``'s are ``codes[offsets[i]:offsets[i + 1]]``) and values,
    and an open-addressing table of the keys by hash (``slots``: key index or -1; a hash's
    first slot is its Fibonacci hash, the top ``64 - slot_shift`` bits of hash x 2^64/phi,
    as FNV-1a's low bits mix poorly): about one probe a word instead of a binary search over
    16,197 stopwords (0.16 -> 0.06 ms a page on 320 WCXB pages)."""

    def __init__(self, mapping: dict[str, int]):
        keys = list(mapping)
        key_codes = [_code_points(k) for k in keys]
        lengths = np.fromiter(map(len, key_codes), np.int64, len(keys))
        codes = np.concatenate([np.zeros(0, np.uint32), *key_codes])
        ends = np.cumsum(lengths)
        hashes = _span_hashes(codes, ends - lengths, ends)
        order = np.argsort(hashes, kind="stable")
        self.hashes = hashes[order]
        self.codes = np.concatenate([np.zeros(0, np.uint32), *(key_codes[i] for i in order)])
        self.offsets = np.concatenate([[0], np.cumsum(lengths[order])]).astype(np.int64)
        self.values = np.array([mapping[keys[i]] for i in order], dtype=np.int64)
        bits = max(int(2 * len(keys) - 1).bit_length(), 1)  # at most half full
        self.slot_shift = np.uint64(64 - bits)
        self.slots = _fill_slots(self.hashes, 1 << bits, self.slot_shift)


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


@lru_cache(maxsize=1)
def _stopword_table() -> SpanTable:
    return SpanTable(_stopword_masks())


@numba.njit(cache=True, nogil=True)
def _span_hashes(codes, start, end):
    """FNV-1a (64 bits) of each span's code points."""
    out = np.empty(len(start), dtype=np.uint64)
    for t in range(len(start)):
        h = np.uint64(14695981039346656037)
        for i in range(start[t], end[t]):
            h = (h ^ np.uint64(codes[i])) * np.uint64(1099511628211)
        out[t] = h
    return out


@numba.njit(cache=True, nogil=True)
def _same_span(codes, a, a_end, other, b):
    """``codes[a:a_end] == other[b:b + (a_end - a)]``."""
    for k in range(a_end - a):  # noqa: SIM110 (numba compiles no generator in all())
        if codes[a + k] != other[b + k]:
            return False
    return True


_FIBONACCI = np.uint64(11400714819323198485)  # 2^64 / golden ratio


@numba.njit(cache=True, nogil=True)
def _fill_slots(key_hashes, size, shift):
    """``SpanTable.slots``: each key's index at the first free slot from its hash's, in
    key order (linear probing)."""
    slots = np.full(size, -1, dtype=np.int64)
    mask = size - 1
    for i in range(len(key_hashes)):
        s = np.int64((key_hashes[i] * _FIBONACCI) >> shift)
        while slots[s] != -1:
            s = (s + 1) & mask
        slots[s] = i
    return slots


@numba.njit(cache=True, nogil=True)
def _span_lookup(
    codes, start, end, hashes, slots, shift, key_hashes, key_offsets, key_codes, key_values
):
    """``Words.values``' loop: per span, the value of the key with its code points (probing
    ``slots`` from the span's hash until an empty slot; a key with the same hash and other
    code points is skipped)."""
    out = np.zeros(len(start), dtype=np.int64)
    mask = len(slots) - 1
    for t in range(len(start)):
        h = hashes[t]
        s = np.int64((h * _FIBONACCI) >> shift)
        size = end[t] - start[t]
        i = slots[s]
        while i != -1:
            if (
                key_hashes[i] == h
                and key_offsets[i + 1] - key_offsets[i] == size
                and _same_span(codes, start[t], end[t], key_codes, key_offsets[i])
            ):
                out[t] = key_values[i]
                break
            s = (s + 1) & mask
            i = slots[s]
    return out


@numba.njit(cache=True, nogil=True)
def _spans_match_first(codes, start, end, labels):
    """Whether every span has the code points of the first span with its label."""
    first = np.full(labels.max() + 1 if len(labels) else 0, -1, dtype=np.int64)
    for t in range(len(labels)):
        f = first[labels[t]]
        if f < 0:
            first[labels[t]] = t
        elif end[t] - start[t] != end[f] - start[f] or not _same_span(
            codes, start[t], end[t], codes, start[f]
        ):
            return False
    return True


assert SECTION_HEADING_RE.pattern.startswith("^\\W*(?:")
_SECTION_HEADING_LINES_RE = re.compile(
    "^[^\\w\\n]*" + SECTION_HEADING_RE.pattern[len("^\\W*") :], re.I | re.M
)


def featurize(frame: pd.DataFrame, kind: str = "html") -> pd.DataFrame:
    """Feature matrix (one row per line of ``frame``) in the column order of ``kind``.

    ``frame`` has the segment columns plus ``page`` (rows of a page contiguous, in order).
    """
    return pd.DataFrame(featurize_columns(frame, kind))


def _values(column: Any, dtype: Any = None) -> np.ndarray:
    """A frame's column (a Series) or a ``line_columns`` one (array or list) as an array."""
    if isinstance(column, pd.Series):
        return column.to_numpy(dtype=dtype)
    return np.asarray(column, dtype=dtype)


def _list(column: Any) -> list:
    return column if isinstance(column, list) else column.tolist()


def featurize_columns(frame: Mapping[str, Any], kind: str = "html") -> dict[str, np.ndarray]:
    """``featurize``'s columns, in its order, as float64 arrays. ``frame``: a DataFrame or
    the columns of ``line_columns``: inference reads the arrays without building either
    DataFrame (per call the fixed cost of a page predicted alone)."""
    page = _values(frame["page"])
    n = len(page)
    if n == 0:
        return {name: np.zeros(0) for name in feature_names(kind)}
    texts = _list(frame["text"])
    index, size, group = _page_starts(page)
    n_pages = int(group.max()) + 1
    f: dict[str, np.ndarray] = {}
    starts = np.flatnonzero(index == 0)  # each page's first row

    # ---- per-line text: counts over the batch's characters at once (see _text_counts)
    counts = _text_counts(texts)
    n_chars = counts["n_chars"]
    n_words = counts["n_words"]
    words = counts["words"]
    line_of_token = np.repeat(np.arange(n), n_words.astype(np.int64))

    # page language: the stopword list with most hits among the page's first words (the
    # lines that start before its 2,000th word)
    token_mask = words.values(_stopword_table())
    words_cum = np.cumsum(n_words) - n_words  # words before the line, in the batch ...
    words_cum -= words_cum[starts][group]  # ... and in its page (integers: exact)
    sampled = (words_cum < 2000)[line_of_token] & (token_mask != 0)
    hits = _language_hits(
        token_mask[sampled], group[line_of_token[sampled]], n_pages, len(STOPWORD_LANGS)
    )
    lang_bits = np.where(hits.max(axis=1) > 0, 1 << np.argmax(hits, axis=1), 1)
    is_stop = (token_mask & lang_bits[group][line_of_token]) != 0
    stop_count = np.bincount(line_of_token, weights=is_stop, minlength=n)

    safe_chars = np.maximum(n_chars, 1)
    safe_words = np.maximum(n_words, 1)
    f["log_chars"] = np.log1p(n_chars)
    f["log_words"] = np.log1p(n_words)
    f["n_words"] = n_words
    f["mean_word_len"] = counts["word_chars"] / safe_words
    f["cjk_ratio"] = counts["n_cjk"] / safe_chars
    f["punct_ratio"] = counts["n_punct"] / safe_chars
    f["ends_terminal"] = counts["ends_terminal"]
    f["ends_colon"] = counts["ends_colon"]
    f["digit_ratio"] = counts["n_digits"] / safe_chars
    f["upper_ratio"] = counts["n_upper"] / np.maximum(counts["n_alpha"], 1)
    f["starts_upper"] = counts["starts_upper"]
    f["title_case_ratio"] = counts["n_title"] / counts["n_space_words"]
    f["pipe_count"] = counts["pipe_count"]
    f["starts_bullet"] = counts["starts_bullet"]
    f["comma_per_word"] = counts["n_commas"] / safe_words
    f["period_per_word"] = counts["n_periods"] / safe_words
    f["has_copyright"] = counts["has_copyright"]
    f["has_at_or_url"] = counts["has_at_or_url"]
    f["ends_ellipsis"] = counts["ends_ellipsis"]
    f["stop_density"] = stop_count / safe_words
    f["stop_count"] = stop_count

    # ---- repetition within the page
    lowered_codes = counts["line_codes"]
    copies = _pair_codes(group, lowered_codes)
    f["repeat_count"] = _code_sizes(copies).astype(float)

    # ---- position and page
    page_words = _group_sum(group, n_words, n_pages)
    size_by_page = np.bincount(group, minlength=n_pages).astype(float)
    f["rel_index"] = index / np.maximum(size - 1, 1)
    f["words_before_frac"] = words_cum / np.maximum(page_words[group], 1)
    f["log_index_from_end"] = np.log1p(size - 1 - index)
    win11 = _window_mean(n_words, 11, group)
    dense_at = _first_argmax(win11, starts, group)
    f["rel_to_dense"] = (np.arange(n) - dense_at) / np.maximum(size, 1)
    f["page_log_lines"] = np.log1p(size)
    f["page_log_words"] = np.log1p(page_words[group])
    f["line_word_share"] = n_words / np.maximum(page_words[group], 1)

    # ---- neighbours
    for offset in NEIGHBOUR_OFFSETS:
        for base in NEIGHBOUR_BASE:
            f[f"{base}_{_suffix(offset)}"] = _shift(f[base], offset, index, size)
    f["stop_density_win5"] = _window_mean(f["stop_density"], 5, group)
    f["log_words_win5"] = _window_mean(f["log_words"], 5, group)
    f["log_words_win11"] = np.log1p(win11)
    f["stop_density_win11"] = _window_mean(f["stop_density"], 11, group)
    f["ends_terminal_win5"] = _window_mean(f["ends_terminal"], 5, group)
    f["ends_terminal_win11"] = _window_mean(f["ends_terminal"], 11, group)
    f["punct_ratio_win5"] = _window_mean(f["punct_ratio"], 5, group)
    f["long_run_log_len"] = np.log1p(_run_lengths(n_words >= LONG_LINE_WORDS, group))
    longest_at = _first_argmax(n_words, starts, group)
    f["rel_to_longest"] = (np.arange(n) - longest_at) / np.maximum(size, 1)
    f["word_rank_in_page"] = _rank_pct(n_words, starts, group)
    terminal_lines = _group_sum(group, f["ends_terminal"], n_pages)
    f["page_terminal_share"] = (terminal_lines / np.maximum(size_by_page, 1))[group]
    gap = _values(frame["gap_before"], float) if "gap_before" in frame else np.full(n, np.nan)
    f["gap_before"] = gap
    f["gap_after"] = _shift(gap, 1, index, size)
    has_gap = ~np.isnan(gap)
    gap_lines = _group_sum(group, (np.nan_to_num(gap) > 0).astype(float), n_pages)
    known = _group_sum(group, has_gap.astype(float), n_pages)
    with np.errstate(invalid="ignore", divide="ignore"):
        f["page_gap_share"] = np.where(known > 0, gap_lines / np.maximum(known, 1), np.nan)[group]
    f["ends_separator"] = counts["ends_separator"]

    _section_features(f, counts["section_match"], n_words, group, index)

    # ---- links
    link_chars = _values(frame["link_chars"], float)
    f["link_density"] = np.clip(link_chars / safe_chars, 0, 1)
    for offset in NEIGHBOUR_OFFSETS:
        f[f"link_density_{_suffix(offset)}"] = _shift(f["link_density"], offset, index, size)
    f["all_link"] = (f["link_density"] > 0.9).astype(float)
    f["all_link"][np.isnan(link_chars)] = np.nan
    page_link = _group_sum(group, np.nan_to_num(link_chars), n_pages)
    page_chars = _group_sum(group, n_chars, n_pages)
    f["page_link_density"] = (page_link / np.maximum(page_chars, 1))[group]
    f["link_density_win5"] = _window_mean(f["link_density"], 5, group)
    f["link_density_win11"] = _window_mean(f["link_density"], 11, group)
    linky = _group_sum(group, (f["link_density"] > 0.5).astype(float), n_pages)
    f["page_linky_line_share"] = (linky / np.maximum(size_by_page, 1))[group]

    # ---- dom
    tags = _list(frame["tag"])
    f["tag"] = np.fromiter(map(TAG_CODES.get, tags, itertools.repeat(0, n)), float, n)
    depth = _values(frame["depth"], float)
    f["depth"] = depth
    med_depth = _median(depth, starts, group)
    f["rel_depth"] = depth - med_depth
    f["hidden"] = _values(frame["hidden"], float)
    source = _values(frame["source"], np.int64)
    f["source"] = source.astype(float)
    context = _values(frame["context"], np.int64)
    keywords = _values(frame["keywords"], np.int64)
    is_dom = ~np.isnan(depth)
    for bit, name in enumerate(CONTEXT_TAGS):
        col = ((context >> bit) & 1).astype(float)
        col[~is_dom] = np.nan
        f[f"ctx_{name}"] = col
    for bit, name in enumerate(KEYWORD_NAMES):
        col = ((keywords >> bit) & 1).astype(float)
        col[~is_dom] = np.nan
        f[f"kw_{name}"] = col

    # ---- container (lines sharing their block's parent)
    container = np.nan_to_num(_values(frame["container"], float), nan=-1)
    codes = _pair_codes(group, container)
    # earlier copies of the text on the page, less those in the line's own container.
    # Counting every copy (feature schema 7) cost the readability pages 0.031 F1 (0.888 ->
    # 0.858: test pages repeat paragraphs inside the article, and their gold keeps every
    # copy); counting copies elsewhere only scored 0.8676 vs 0.8683 in WCXB CV.
    f["copy_index"] = (_cumcount(copies) - _cumcount(_pair_codes(copies, container))).astype(float)
    n_c = int(codes.max()) + 1
    c_lines = np.bincount(codes, minlength=n_c).astype(float)
    c_words = _group_sum(codes, n_words, n_c)
    c_link = _group_sum(codes, np.nan_to_num(link_chars), n_c)
    c_chars = _group_sum(codes, n_chars, n_c)
    c_stop = _group_sum(codes, stop_count, n_c)
    f["container_log_lines"] = np.log1p(c_lines[codes])
    f["container_log_words"] = np.log1p(c_words[codes])
    f["container_link_density"] = c_link[codes] / np.maximum(c_chars[codes], 1)
    f["container_stop_density"] = c_stop[codes] / np.maximum(c_words[codes], 1)
    f["container_line_rank"] = _cumcount(codes) / np.maximum(c_lines[codes] - 1, 1)
    c_term = _group_sum(codes, f["ends_terminal"], n_c)
    f["container_terminal_share"] = c_term[codes] / c_lines[codes]
    for name in (
        "container_log_lines",
        "container_log_words",
        "container_link_density",
        "container_stop_density",
        "container_line_rank",
        "container_terminal_share",
    ):
        f[name][~is_dom] = np.nan

    # ---- the page's title and the heading that repeats it
    f["title_overlap"], f["anchor_offset"] = _title_features(
        words, n_words, f["tag"], source, group, starts
    )

    # ---- structured lines: how much of them the visible DOM text already has
    f["dom_covered"] = _dom_covered(words, n_words, source, group, line_of_token)

    # ---- lines with the same tag path on the page (product grids, item lists, menus)
    if kind == "html":
        paths = _list(frame["path"])
        _path_features(f, paths, lowered_codes, n_words, group, page_words, is_dom)

    return {name: f[name] for name in feature_names(kind)}


# The page's own title: the <title> line names the page's subject, and the heading that
# repeats it (the article's or product's name) is where the main text usually starts.
ANCHOR_TAGS = ("h1", "h2", "h3")
ANCHOR_MIN_OVERLAP = 0.5  # a heading is the anchor if half its distinct words are the title's


def _title_features(
    words: Words,
    n_words: np.ndarray,
    tag_codes: np.ndarray,
    source: np.ndarray,
    group: np.ndarray,
    starts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``(title_overlap, anchor_offset)`` per line.

    ``title_overlap``: the share of a line's distinct words that are words of its page's
    first DOM ``<title>`` line; NaN for title lines and on pages without a title that has
    words. ``anchor_offset``: signed log1p of the lines from the page's anchor, the heading
    (h1-h3) that best repeats the title (overlap at least ANCHOR_MIN_OVERLAP, scored by
    overlap x min(shared words, 4), the first best); NaN on pages without one (9 % of WCXB
    pages; a short non-heading line in its place scored lower in CV). Words are told apart
    by their 64-bit hashes (``Words.hashes``)."""
    n = len(n_words)
    is_title = (tag_codes == TAG_CODES["title"]) & (source == SOURCE_CODE["dom"])
    first_word = (np.cumsum(n_words) - n_words).astype(np.int64)
    n_distinct, shared, title_words = _title_word_counts(
        words.hashes, first_word, n_words.astype(np.int64), is_title, group, starts
    )
    valid = (title_words > 0) & ~is_title
    overlap = np.full(n, np.nan)
    overlap[valid] = shared[valid] / np.maximum(n_distinct[valid], 1)

    ov = np.where(valid, overlap, 0.0)
    score = ov * np.minimum(shared, 4)
    heading = np.isin(tag_codes, [TAG_CODES[t] for t in ANCHOR_TAGS])
    candidate = valid & heading & (ov >= ANCHOR_MIN_OVERLAP) & (score > 0)
    ranked = np.where(candidate, score, -1.0)
    anchor = _first_argmax(ranked, starts, group)
    found = np.maximum.reduceat(ranked, starts)[group] > 0
    offset = np.full(n, np.nan)
    d = (np.arange(n) - anchor)[found].astype(float)
    offset[found] = np.sign(d) * np.log1p(np.abs(d))
    return overlap, offset


@numba.njit(cache=True, nogil=True)
def _title_word_counts(hashes, first_word, n_words, is_title, group, starts):
    """``_title_features``' loop: per line, its distinct words, how many of them are in its
    page's first title line, and how many distinct words that title line has.

    The words (by hash) go into two open-addressing tables sized for the longest line and
    made once: one for the page's title, one for the line; a slot belongs to the page or
    line whose number it carries, so nothing is cleared between lines (a set per line
    cost 5x as much)."""
    n = len(n_words)
    n_distinct = np.zeros(n)
    shared = np.zeros(n)
    title_words = np.zeros(n)
    n_pages = len(starts)
    longest = 1
    for i in range(n):
        longest = max(longest, n_words[i])
    size = 1
    while size < 2 * longest:
        size *= 2
    mask = size - 1
    keys = np.zeros(size, dtype=np.uint64)
    owner = np.full(size, -1, dtype=np.int64)  # the line whose word is in the slot
    title_keys = np.zeros(size, dtype=np.uint64)
    title_owner = np.full(size, -1, dtype=np.int64)  # the page whose title word is in it
    golden = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: FNV's low bits mix poorly
    for p in range(n_pages):
        lo = starts[p]
        hi = starts[p + 1] if p + 1 < n_pages else n
        title = -1
        for i in range(lo, hi):
            if is_title[i]:
                title = i
                break
        if title < 0 or n_words[title] == 0:
            continue
        n_title = 0
        for k in range(first_word[title], first_word[title] + n_words[title]):
            h = hashes[k]
            j = np.int64((h * golden) >> np.uint64(40)) & mask
            while title_owner[j] == p and title_keys[j] != h:
                j = (j + 1) & mask
            if title_owner[j] != p:
                title_owner[j] = p
                title_keys[j] = h
                n_title += 1
        for i in range(lo, hi):
            title_words[i] = n_title
            if n_words[i] == 0:
                continue
            distinct = 0
            common = 0
            for k in range(first_word[i], first_word[i] + n_words[i]):
                h = hashes[k]
                slot = np.int64((h * golden) >> np.uint64(40)) & mask
                j = slot
                while owner[j] == i and keys[j] != h:
                    j = (j + 1) & mask
                if owner[j] == i:
                    continue  # a repeat within the line
                owner[j] = i
                keys[j] = h
                distinct += 1
                j = slot
                while title_owner[j] == p and title_keys[j] != h:
                    j = (j + 1) & mask
                if title_owner[j] == p:
                    common += 1
            n_distinct[i] = distinct
            shared[i] = common
    return n_distinct, shared, title_words


def _dom_covered(
    words: Words,
    n_words: np.ndarray,
    source: np.ndarray,
    group: np.ndarray,
    line_of_token: np.ndarray,
) -> np.ndarray:
    """For JSON-LD/page-state lines: share of their word 3-grams found in the DOM lines of
    their page (NaN for DOM lines). ``words``: the words of all lines in order,
    ``n_words`` of them per line, ``line_of_token`` the line of each.

    Integer keys instead of sets of string tuples: each word gets a code, and a 3-gram (of
    words in one line) is its page and three word codes, looked up in a table of the DOM
    3-grams (``_grams_found``; three ``pd.factorize`` of them cost 3x as much)."""
    n = len(n_words)
    out = np.full(n, np.nan)
    structured = (source == SOURCE_CODE["jsonld"]) | (source == SOURCE_CODE["state"])
    if not structured.any():
        return out
    # the words of the pages that have structured lines
    on_page = np.zeros(int(group.max()) + 1, dtype=bool)
    on_page[group[structured]] = True
    at = np.flatnonzero(on_page[group][line_of_token])
    line = line_of_token[at]
    # a 3-gram starts at each word whose line goes on for two more words
    starts = np.flatnonzero(line[:-2] == line[2:]) if len(at) > 2 else np.zeros(0, np.int64)
    grams = np.zeros(n)  # 3-grams per line: n_words - 2, or 0
    grams[structured] = np.maximum(n_words[structured] - 2, 0)
    result = np.zeros(n)
    if len(starts):
        word = words.factorize(at).astype(np.int64)
        gram_line = line[starts]
        found = _grams_found(
            group[gram_line].astype(np.int64),
            word[starts],
            word[starts + 1],
            word[starts + 2],
            structured[gram_line],
        )
        result = np.bincount(gram_line, weights=found, minlength=n)
    out[structured] = np.where(
        grams[structured] > 0, result[structured] / np.maximum(grams[structured], 1), 0.0
    )
    return out


@numba.njit(cache=True, nogil=True)
def _grams_found(page, w1, w2, w3, structured):
    """Per 3-gram ``(page, w1, w2, w3)``: 1.0 if it is a structured line's and the same
    3-gram occurs in a DOM line of its page, else 0.0. The DOM 3-grams go into an
    open-addressing table keyed by the four integers (compared exactly, the hash only picks
    the first slot), then the structured ones are looked up."""
    n = len(page)
    bits = 1
    while (1 << bits) < 2 * n:
        bits += 1
    mask = (1 << bits) - 1
    slot_of = np.full(1 << bits, -1, dtype=np.int64)  # a slot's 3-gram (its index) or -1
    hashes = np.empty(n, dtype=np.uint64)
    for g in range(n):
        h = np.uint64(page[g]) * np.uint64(0x9E3779B97F4A7C15)
        h = (h ^ np.uint64(w1[g])) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ np.uint64(w2[g])) * np.uint64(0x94D049BB133111EB)
        h = (h ^ np.uint64(w3[g])) * np.uint64(0x9E3779B97F4A7C15)
        hashes[g] = h ^ (h >> np.uint64(29))
    for g in range(n):
        if not structured[g]:
            s = _gram_slot(slot_of, mask, hashes[g], g, page, w1, w2, w3)
            if slot_of[s] == -1:
                slot_of[s] = g
    out = np.zeros(n)
    for g in range(n):
        if structured[g]:
            s = _gram_slot(slot_of, mask, hashes[g], g, page, w1, w2, w3)
            out[g] = slot_of[s] != -1
    return out


@numba.njit(cache=True, nogil=True)
def _gram_slot(slot_of, mask, h, g, page, w1, w2, w3):
    """``_grams_found``'s probe: the slot holding 3-gram ``g``'s key, or the empty slot
    where it would go (linear probing from its hash's slot)."""
    s = np.int64(h & np.uint64(mask))
    while True:
        k = slot_of[s]
        if k == -1 or (page[k] == page[g] and w1[k] == w1[g] and w2[k] == w2[g] and w3[k] == w3[g]):
            return s
        s = (s + 1) & mask


@numba.njit(cache=True, nogil=True)
def _language_hits(masks, page, n_pages, n_langs):
    """Per page and stopword language: how many of the tokens are stopwords of it (bit
    ``k`` of a token's mask: a word of ``STOPWORD_LANGS[k]``). A loop over the set bits
    instead of a tokens x languages matrix of bits and its ``np.nonzero``."""
    hits = np.zeros((n_pages, n_langs), dtype=np.int64)
    for t in range(len(masks)):
        m = masks[t]
        k = 0
        while m != 0 and k < n_langs:
            if m & 1:
                hits[page[t], k] += 1
            m >>= 1
            k += 1
    return hits


# ---------------------------------------------------------------- stage ``featurize``

META_COLUMNS = ("page_id", "view", "line_no", "label", "n_tokens")
# Segment columns the second stage groups lines by (modeling/stack.py), kept in the table.
CONTEXT_COLUMNS = {"html": ("container", "path", "tokens", "page_meta"), "text": ()}


# ---------------------------------------------------------------- page-type inputs

# schema.org types (JSON-LD, page state, microdata) in groups that name a kind of page
SCHEMA_TYPE_GROUPS = {
    "article": "article newsarticle blogposting report scholarlyarticle techarticle "
    "reportagenewsarticle analysisnewsarticle opinionnewsarticle liveblogposting "
    "socialmediaposting",
    "product": "product productgroup offer aggregateoffer individualproduct productmodel "
    "vehicle car",
    "list": "itemlist collectionpage searchresultspage offercatalog",
    "discussion": "qapage discussionforumposting question answer comment",
    "faq": "faqpage",
    "howto": "howto recipe",
    "organization": "organization localbusiness service professionalservice corporation "
    "store restaurant medicalbusiness legalservice financialservice",
    "webpage": "webpage aboutpage contactpage",
    "breadcrumb": "breadcrumblist",
    "software": "softwareapplication softwaresourcecode apireference",
    "event": "event",
    "person": "person profilepage",
    "media": "videoobject mediaobject",
}
_SCHEMA_GROUP_OF = {t: g for g, types in SCHEMA_TYPE_GROUPS.items() for t in types.split()}
OG_TYPES = ("article", "product", "website")
# words of the canonical address's path that name a kind of page
URL_WORD_GROUPS = {
    "product": r"products?|p|item|items|dp|shop|store|buy",
    "collection": r"collections?|category|categories|c|catalog|tags?|brands?|department|search",
    "forum": r"forums?|threads?|topics?|t|community|questions|discussions?|boards?|"
    r"viewtopic|showthread|r|comments",
    "docs": r"docs?|documentation|api|reference|guides?|manual|tutorials?|wiki|learn|kb|"
    r"help|support|library",
    "blog": r"blog|news|articles?|posts?|stories|story|(?:19|20)\d\d",
    "service": r"services?|solutions?|pricing|about|contact|features|plans|practice-areas?",
    "listing": r"jobs|events|listings?|directory|results|page",
}
_URL_WORD_RES = {
    name: re.compile(rf"(?:^|/)(?:{words})(?:[/.]|$)") for name, words in URL_WORD_GROUPS.items()
}
# word-weighted page means of these line features: how much of the page is in lists,
# tables, forms, navigation, links, prose...
PAGE_TYPE_LINE_MEANS = (
    *(f"ctx_{t}" for t in CONTEXT_TAGS),
    *(f"kw_{k}" for k in KEYWORD_NAMES),
    "link_density",
    "stop_density",
    "ends_terminal",
    "hidden",
    "digit_ratio",
    "title_case_ratio",
    "all_link",
    "starts_bullet",
)
PAGE_TYPE_PAGE_VALUES = (
    "page_log_lines",
    "page_log_words",
    "page_link_density",
    "page_linky_line_share",
    "page_terminal_share",
)
PAGE_TYPE_INPUTS = (
    *(f"og_{t}" for t in OG_TYPES),
    "og_other",
    *(f"schema_{g}" for g in SCHEMA_TYPE_GROUPS),
    "has_address",
    *(f"url_{g}" for g in URL_WORD_GROUPS),
    "url_depth",
    "url_slug_words",
    *(f"mean_{name}" for name in PAGE_TYPE_LINE_MEANS),
    *PAGE_TYPE_PAGE_VALUES,
    "max_path_log_lines",
    "max_long_run_log_len",
    "jsonld_word_share",
    "state_word_share",
    "long_line_word_share",
    "has_title_anchor",
)


def _meta_inputs(meta: str) -> list[float]:
    """The declared part of ``PAGE_TYPE_INPUTS`` from a page's ``segment.page_meta``."""
    og, groups, path = "", set(), None
    for fact in meta.split():
        kind, _, value = fact.partition(":")
        if kind == "og":
            og = value.split(".")[0]
        elif kind == "ld" and value in _SCHEMA_GROUP_OF:
            groups.add(_SCHEMA_GROUP_OF[value])
        elif kind == "path":
            path = value.lower()
    row = [float(og == t) for t in OG_TYPES]
    row.append(float(bool(og) and og not in OG_TYPES))
    row.extend(float(g in groups) for g in SCHEMA_TYPE_GROUPS)
    row.append(float(path is not None))
    path = path or ""
    row.extend(float(bool(rx.search(path))) for rx in _URL_WORD_RES.values())
    parts = [part for part in path.split("/") if part]
    row.append(float(len(parts)))
    row.append(float(min(parts[-1].count("-") + 1, 20)) if parts else 0.0)
    return row


def _zero_nan(values: np.ndarray) -> np.ndarray:
    """A copy with NaN as 0 (``np.nan_to_num`` also scans for infinities: ~4x the time)."""
    out = np.array(values, dtype=float)
    out[np.isnan(out)] = 0.0
    return out


def page_type_inputs(
    features: Mapping[str, Any], context: Mapping[str, Any], page: np.ndarray
) -> np.ndarray:
    """One row of ``PAGE_TYPE_INPUTS`` per page (html lines): what the page declares about
    itself (Open Graph type, schema.org types, its address's path words) and the shape of
    its lines (word-weighted means of DOM context and class/id keyword flags, link density,
    prose, grids). The page-type model (``modeling/page_type.py``) reads them.
    ``features``: the first-stage features of the lines; ``context``: their
    CONTEXT_COLUMNS; ``page``: page codes, each page's rows contiguous."""
    page = np.asarray(page)
    if not len(page):
        return np.zeros((0, len(PAGE_TYPE_INPUTS)))
    starts = np.flatnonzero(_page_starts(page)[0] == 0)
    metas = _list(context["page_meta"])
    columns = [np.array([_meta_inputs(metas[i]) for i in starts], dtype=float).T]
    words = _zero_nan(_values(features["n_words"], float))
    page_words = np.maximum(np.add.reduceat(words, starts), 1)
    # one matrix, one reduceat over the pages (contiguous): a loop of per-column group sums
    # cost ~0.6 ms a page predicted alone
    lines = np.column_stack([_values(features[name], float) for name in PAGE_TYPE_LINE_MEANS])
    lines[np.isnan(lines)] = 0.0
    columns.append(
        (np.add.reduceat(lines * words[:, None], starts, axis=0) / page_words[:, None]).T
    )
    columns.append(
        np.array([_values(features[name], float)[starts] for name in PAGE_TYPE_PAGE_VALUES])
    )
    for name in ("path_log_lines", "long_run_log_len"):
        values = _zero_nan(_values(features[name], float))
        columns.append(np.maximum.reduceat(values, starts)[None, :])
    source = _values(features["source"], float)
    anchored = ~np.isnan(_values(features["anchor_offset"], float))
    shares = np.column_stack(
        [
            words * (source == SOURCE_CODE["jsonld"]),
            words * (source == SOURCE_CODE["state"]),
            words * (words >= 20),
        ]
    )
    columns.append((np.add.reduceat(shares, starts, axis=0) / page_words[:, None]).T)
    columns.append((np.add.reduceat(anchored.astype(float), starts) > 0).astype(float)[None, :])
    return np.vstack(columns).T


def featurize_lines(lines: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Features of a labeled-lines frame (from stage prepare) plus the metadata columns
    and the second stage's context columns."""
    from .scoring import WORD_RE

    frame = lines.copy()
    frame["page"] = pd.factorize(pd.MultiIndex.from_arrays([frame["page_id"], frame["view"]]))[0]
    features = featurize(frame, kind)
    for name in CONTEXT_COLUMNS[kind]:
        features[name] = frame[name].to_numpy()
    features.insert(0, "n_tokens", [len(WORD_RE.findall(t.lower())) for t in frame["text"]])
    features.insert(0, "label", frame["label"].to_numpy())
    for name in ("line_no", "view", "page_id"):
        features.insert(0, name, frame[name].to_numpy())
    return features


def _featurize_chunk(args: tuple[pd.DataFrame, str]) -> pd.DataFrame:
    return featurize_lines(*args)


def main() -> None:
    import logging
    from multiprocessing import Pool

    from . import config
    from .prepare import write_parquet

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    params = config.load_params()
    workers = params["featurize"].get("workers", 2)
    lines = pd.read_parquet(config.LINES_FILE)
    config.PROCESSED_DIR.mkdir(parents=True, exist_ok=True)
    for kind in config.MODEL_KINDS:
        subset = lines[lines.view == "html"] if kind == "html" else lines[lines.view != "html"]
        page_keys = subset["page_id"] + "\x00" + subset["view"]
        codes = pd.factorize(page_keys)[0]
        chunks = [(subset[codes % (workers * 4) == i], kind) for i in range(workers * 4)]
        with Pool(workers) as pool:
            parts = pool.map(_featurize_chunk, chunks)
        out = pd.concat(parts, ignore_index=True)
        write_parquet(out, config.features_file(kind))
        logging.info(
            "featurized %s: %d lines x %d features",
            kind,
            len(out),
            len(feature_names(kind)),
        )


if __name__ == "__main__":
    main()
