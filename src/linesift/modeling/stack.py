"""The second stage: a line judged by what the first stage thinks of its surroundings.

The first-stage model scores each line from its own features and a fixed window of its
neighbours' features. The second stage sees the first stage's probabilities in context:
of the neighbouring lines, averaged over wider windows, over the line's container, the
lines sharing its tag path and those sharing its blocks' class/id/role words (html) or
its blank-line block (text), and over the whole page,
and where the line lies relative to the span of confident content lines (a headline ticker
above an article, a related-links block below it); html lines also get their page's
predicted page-type probabilities (``page_type.py``: an article's related-headlines list
and a listing page's items look alike line by line). It is fitted on out-of-fold first-stage
probabilities, so it learns how far to trust the first stage on unseen pages, not on the
pages it memorised.

Every aggregate is computed within one page, so a line's values do not depend on the other
pages of a batch (training and ``linesift extract`` agree bit for bit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..features import (
    CONTEXT_COLUMNS,
    _group_sum,
    _list,
    _median,
    _page_starts,
    _pair_codes,
    _rank_pct,
    _shift,
    _values,
    _window_mean,
    dangling_separator_runs,
    page_type_inputs,
)
from ..segment import SOURCE_CODE
from .page_type import page_type_columns, page_type_probabilities
from .tree_predict import FlatTrees, content_probability, feature_matrix

__all__ = [
    "CONTEXT_COLUMNS",
    "apply_rules",
    "empty_page_fallback",
    "line_probabilities",
    "predicted_page_types",
    "select_lines",
    "stack_columns",
    "stack_feature_names",
    "stack_features",
]
CONFIDENT = 0.5  # a first-stage probability this high marks a line as likely content
NEIGHBOUR_OFFSETS = (-3, -2, -1, 1, 2, 3)
WINDOWS = (5, 11, 21)
_GROUP_FEATURES = {
    "html": (
        "container_p_wmean",
        "container_p_max",
        "path_p_wmean",
        "path_p_mean",
        "attrs_p_wmean",
        "attrs_p_max",
    ),
    "text": ("block_p_wmean", "block_p_max"),
}
# The shape of the page's first-stage probabilities: with the best threshold chosen per page,
# the out-of-fold html predictions would score 0.918 instead of 0.8675, so where a page's
# probabilities sit as a whole says much about where its cut lies. html only (measured there).
_PAGE_SHAPE_FEATURES = {
    "html": ("page_share_p20", "page_share_p80", "page_p_median", "p_minus_confident_mean"),
    "text": (),
}


def stack_feature_names(
    kind: str, base: Sequence[str], page_types: Sequence[str] = ()
) -> list[str]:
    """Column order of the second stage: ``base`` first-stage features, the probability
    features, then the probabilities of the ``page_types`` (``page_type.py``), if any."""
    return [
        *base,
        "p",
        *(f"p_{off:+d}" for off in NEIGHBOUR_OFFSETS),
        *(f"p_win{w}" for w in WINDOWS),
        "page_p_wmean",
        "page_content_share",
        "p_minus_page_max",
        "p_rank_in_page",
        "lines_to_confident_span",
        "lines_to_confident_line",
        *_GROUP_FEATURES[kind],
        *_PAGE_SHAPE_FEATURES[kind],
        *page_type_columns(page_types),
    ]


def stack_features(
    kind: str,
    prob: np.ndarray,
    page: np.ndarray,
    features: pd.DataFrame,
    context: pd.DataFrame,
    base: Sequence[str],
    page_types: Sequence[str] = (),
    page_type_prob: np.ndarray | None = None,
) -> pd.DataFrame:
    """The second stage's input, one row per line.

    ``prob``: first-stage probabilities; ``page``: page codes (a page's rows contiguous, in
    order); ``features``: the first-stage feature frame (``n_words``, ``gap_before`` and the
    ``base`` columns); ``context``: the lines' CONTEXT_COLUMNS[kind]; ``page_type_prob``:
    one row of probabilities of the ``page_types`` per page (``page_type.py``)."""
    names = stack_feature_names(kind, base, page_types)
    columns = stack_columns(kind, prob, page, features, context, base, page_types, page_type_prob)
    return pd.DataFrame(columns, columns=names)


def stack_columns(
    kind: str,
    prob: np.ndarray,
    page: np.ndarray,
    features: Mapping[str, Any],
    context: Mapping[str, Any],
    base: Sequence[str],
    page_types: Sequence[str] = (),
    page_type_prob: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """``stack_features``' columns, in its order, as arrays; ``features`` and ``context``
    may be DataFrames or dicts of columns (``featurize_columns``, ``line_columns``), so a
    page predicted alone builds no DataFrame."""
    p = np.asarray(prob, dtype=float)
    n = len(p)
    index, size, group = _page_starts(np.asarray(page))
    words = _values(features["n_words"], float)
    f: dict[str, np.ndarray] = {name: _values(features[name]) for name in base}
    f["p"] = p
    for off in NEIGHBOUR_OFFSETS:
        f[f"p_{off:+d}"] = _shift(p, off, index, size)
    for width in WINDOWS:
        f[f"p_win{width}"] = _window_mean(p, width, group)
    n_pages = int(group.max()) + 1 if n else 0
    page_words = np.maximum(_group_sum(group, words, n_pages), 1)
    confident = p >= CONFIDENT
    f["page_p_wmean"] = (_group_sum(group, words * p, n_pages) / page_words)[group]
    f["page_content_share"] = (_group_sum(group, words * confident, n_pages) / page_words)[group]
    starts = np.flatnonzero(index == 0)  # each page's first row
    f["p_minus_page_max"] = p - np.maximum.reduceat(p, starts)[group] if n else p
    f["p_rank_in_page"] = _rank_pct(p, starts, group)
    # where the line lies relative to the page's confident lines (NaN: the page has none)
    row = np.arange(n, dtype=float)
    marked = np.where(confident, row, np.nan)
    first = np.fmin.reduceat(marked, starts)[group] if n else row
    last = np.fmax.reduceat(marked, starts)[group] if n else row
    with np.errstate(invalid="ignore"):
        outside = np.where(row < first, row - first, np.where(row > last, row - last, 0.0))
    outside[np.isnan(first)] = np.nan
    f["lines_to_confident_span"] = np.sign(outside) * np.log1p(np.abs(outside))
    # the nearest confident line at or before / at or after the line, within its page
    page_first = row - index
    before = np.fmax.accumulate(marked) if n else row
    before[~(before >= page_first)] = np.nan
    after = np.fmin.accumulate(marked[::-1])[::-1] if n else row
    after[~(after < page_first + size)] = np.nan
    f["lines_to_confident_line"] = np.log1p(np.fmin(row - before, after - row))
    if kind == "html":
        container = np.nan_to_num(_values(context["container"], float), nan=-1.0)
        groups = {
            "container": _pair_codes(group, container),
            "path": _pair_codes(group, _list(context["path"])),
            # the class/id/role words of the line's blocks (segment's ``tokens``): the
            # items of one list of product cards or comments, wherever they sit
            "attrs": _pair_codes(group, _list(context["tokens"])),
        }
        _group_probs(f, "container", groups["container"], p, words, ("wmean", "max"))
        _group_probs(f, "path", groups["path"], p, words, ("wmean", "mean"))
        _group_probs(f, "attrs", groups["attrs"], p, words, ("wmean", "max"))
    else:
        gap = np.nan_to_num(_values(features["gap_before"], float)) > 0
        block = np.cumsum(gap | (index == 0)) - 1 if n else np.zeros(0, dtype=np.int64)
        _group_probs(f, "block", block, p, words, ("wmean", "max"))
    if _PAGE_SHAPE_FEATURES[kind]:
        # word shares of the page at or above two other cuts, its median probability, and
        # the line against the mean of the page's confident lines (NaN: the page has none)
        f["page_share_p20"] = (_group_sum(group, words * (p >= 0.2), n_pages) / page_words)[group]
        f["page_share_p80"] = (_group_sum(group, words * (p >= 0.8), n_pages) / page_words)[group]
        f["page_p_median"] = _median(p, starts, group)
        n_confident = _group_sum(group, confident.astype(float), n_pages)
        with np.errstate(invalid="ignore"):
            confident_mean = _group_sum(group, p * confident, n_pages) / n_confident
        f["p_minus_confident_mean"] = p - confident_mean[group]
    if len(page_types):
        if page_type_prob is None:
            raise ValueError("page types named without their probabilities")
        for name, column in zip(
            page_type_columns(page_types), np.asarray(page_type_prob).T, strict=True
        ):
            f[name] = column[group] if n else np.zeros(0)
    return {name: f[name] for name in stack_feature_names(kind, base, page_types)}


def _group_probs(
    f: dict[str, np.ndarray],
    name: str,
    codes: np.ndarray,
    p: np.ndarray,
    words: np.ndarray,
    stats: tuple[str, ...],
) -> None:
    """Word-weighted mean, max or mean of ``p`` over the lines sharing a code."""
    n_codes = int(codes.max()) + 1 if len(codes) else 0
    for stat in stats:
        if stat == "wmean":
            total = np.maximum(_group_sum(codes, words, n_codes), 1)
            value = (_group_sum(codes, words * p, n_codes) / total)[codes]
        elif stat == "max":
            top = np.full(n_codes, -np.inf)
            np.maximum.at(top, codes, p)
            value = top[codes]
        else:  # pandas: its mean sums with compensation, which numpy does not
            value = pd.Series(p).groupby(codes).transform(stat).to_numpy()
        f[f"{name}_p_{stat}"] = value


def predicted_page_types(
    model: Any,
    features: pd.DataFrame | Mapping[str, Any],
    context: pd.DataFrame | Mapping[str, Any],
    page: np.ndarray,
) -> tuple[list[str], np.ndarray | None]:
    """The page types the model's second stage takes (its card's ``stack.page_type``) and
    one row of their probabilities per page; ``([], None)`` for a model without them."""
    page_type = (model.card.get("stack") or {}).get("page_type")
    if not page_type:
        return [], None
    inputs = page_type_inputs(features, context, page)
    return list(page_type["classes"]), page_type_probabilities(page_type, inputs)


def line_probabilities(
    model: Any,
    features: pd.DataFrame | Mapping[str, np.ndarray],
    page: np.ndarray,
    context: pd.DataFrame | Mapping[str, Any],
    texts: Sequence[str] | None = None,
) -> np.ndarray:
    """Content probability of every line: the first stage, then the second if the model has
    one, then the model's rules (``apply_rules``; they read ``texts``, the lines' texts).
    ``model``: a ``LineModel``; the other arguments as for ``stack_features`` (or
    ``stack_columns``: dicts of columns go to the trees as one matrix, no DataFrame)."""
    first = model.first_stage
    if isinstance(features, pd.DataFrame):
        prob = content_probability(first, features[model.features])
    else:
        prob = _probability(first, features, model.features)
    second = model.second_stage
    if second is not None:
        base = model.card["stack"]["base_features"]
        page_types, page_type_prob = predicted_page_types(model, features, context, page)
        stacked = stack_columns(
            model.kind, prob, page, features, context, base, page_types, page_type_prob
        )
        names = stack_feature_names(model.kind, base, page_types)
        prob = _probability(second, stacked, names)
    rules = model.card.get("rules")
    if rules:
        if texts is None:
            raise ValueError(f"{model.name}: its rules need the lines' texts")
        prob = apply_rules(rules, prob, texts, page)
    return prob


def apply_rules(
    rules: Mapping[str, Any], prob: np.ndarray, texts: Sequence[str], page: np.ndarray
) -> np.ndarray:
    """The model's rules (its card's ``rules``, from ``train.rules``) over its probabilities.

    ``dangling_separator_run``: lines in a run of at least this many consecutive lines that
    end in the same dangling separator (``features.dangling_separator_runs``) get
    probability 0. WCXB has such runs on 33 pages only, too few for the trees to learn them
    (as a feature, neither stage used them); the rule changed no CV F1 there (see README)."""
    min_run = int(rules.get("dangling_separator_run") or 0)
    if min_run <= 0 or not len(prob):
        return prob
    runs = dangling_separator_runs(texts, np.asarray(page))
    return np.where(runs >= min_run, 0.0, prob)


def empty_page_fallback(
    rules: Mapping[str, Any], kind: str, features: Mapping[str, Any], page: np.ndarray
) -> np.ndarray | None:
    """The lines a page returns when none of its lines reaches the threshold (rule
    ``empty_page_fallback_words``; ``select_lines`` applies it), or None (no such lines).

    A page whose visible body - DOM lines outside ``<title>``, ``<noscript>`` and hidden
    elements - holds at most that many words has no boilerplate to tell its text from:
    the model, trained on WCXB's full-size pages, scores a lone paragraph like a stray
    snippet (~0.01) and the page came out empty. Such a page returns its visible body.
    Pages of the html model only: a plain-text page cannot tell its title from its body,
    and WCXB's title-only pages (empty gold) would then return their title."""
    limit = int(rules.get("empty_page_fallback_words") or 0)
    if kind != "html" or limit <= 0 or not len(page):
        return None
    visible = (
        (_values(features["source"]) == SOURCE_CODE["dom"])
        & (_values(features["hidden"]) == 0)
        & (_values(features["ctx_title"]) == 0)
        & (_values(features["ctx_noscript"]) == 0)
    )
    words = np.where(visible, _values(features["n_words"]), 0.0)
    page_words = np.bincount(page, weights=words, minlength=int(page.max()) + 1)[page]
    return visible & (page_words > 0) & (page_words <= limit)


def select_lines(
    prob: np.ndarray, threshold: float, page: np.ndarray, fallback: np.ndarray | None = None
) -> np.ndarray:
    """The lines kept: probability >= ``threshold``; on a page where no line is, its
    ``fallback`` lines (``empty_page_fallback``). ``page``: page codes 0..n-1."""
    keep = np.asarray(prob) >= threshold
    if fallback is None or not len(keep) or not fallback.any():
        return keep
    kept = np.bincount(page, weights=keep, minlength=int(page.max()) + 1)
    return keep | (fallback & (kept[page] == 0))


def _probability(
    estimator: Any, columns: Mapping[str, np.ndarray], names: Sequence[str]
) -> np.ndarray:
    """``content_probability`` of the rows of ``columns`` (a dict of arrays): flat trees
    read them straight into their own matrix (``FlatTrees.probability_of_columns``)."""
    if isinstance(estimator, FlatTrees) and list(names) == estimator.columns:
        return estimator.probability_of_columns(columns)
    return content_probability(estimator, _input(estimator, columns, names))


def _input(
    estimator: Any, columns: Mapping[str, np.ndarray], names: Sequence[str]
) -> np.ndarray | pd.DataFrame:
    """The estimator's input from ``columns``: one float64 matrix when ``names`` are its
    features in order, else a DataFrame (scikit-learn then checks the names, as before)."""
    if list(names) == list(estimator.feature_names_in_):
        return feature_matrix(columns, names)
    return pd.DataFrame({name: columns[name] for name in names})
