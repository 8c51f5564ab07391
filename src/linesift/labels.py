"""Per-line labels from a gold main text, by alignment.

The rule (a line is *content* = 1, else 0):

1. Words are WCXB's (``\\w+``, lower-cased). A line of at least ``min_ngram_words`` words is
   content when at least ``ngram_coverage`` of its word 3-grams occur in the gold text.
2. A shorter line is content when it equals a gold line (same words), or when its words occur
   as a contiguous run in the gold *and* a neighbouring line (within ``short_line_window``)
   is content by rule 1 - so a heading or a price inside the article is kept, a lone "Home"
   in the navigation is not.
3. Of a text the page repeats, as many copies are content as the gold has (at least one):
   those nearest to a long content line or to one the page has once (first copies on a
   tie) - so a heading inside the article keeps its label and its copy in a sidebar menu
   does not, and a product grid whose gold lists "Black" thirteen times keeps the thirteen
   copies beside the products' names, not those of the colour filter. With ``gold_copies``
   off, one copy: the one nearest to a long content line (the rule before grids were
   counted, which the text views keep).
4. A structured-data line (JSON-LD, page state) is content only when rule 1 holds and the DOM
   lines labeled content do not already cover it - so the classifier learns to use these
   lines exactly when the page has no visible main text.

``oracle_f1`` scores the text of exactly the content lines against the gold: the ceiling of
any line classifier on this segmentation.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence

from .scoring import prf, words

DEFAULTS = {"min_ngram_words": 4, "ngram_coverage": 0.5, "short_line_window": 2}


def _trigrams(tokens: Sequence[str]) -> list[tuple[str, str, str]]:
    return list(zip(tokens, tokens[1:], tokens[2:], strict=False))


def align_labels(
    lines: Sequence[str],
    gold: str,
    structured: Sequence[bool] | None = None,
    *,
    min_ngram_words: int = 4,
    ngram_coverage: float = 0.5,
    short_line_window: int = 2,
    gold_copies: bool = True,
) -> list[int]:
    """Label each line 1 (content) or 0 (boilerplate) by alignment with ``gold``."""
    n = len(lines)
    if structured is None:
        structured = [False] * n
    gold_tokens = words(gold)
    gold_grams = set(_trigrams(gold_tokens))
    gold_lines = Counter(" ".join(words(g)) for g in gold.splitlines())
    del gold_lines[""]
    gold_joined = " " + " ".join(gold_tokens) + " "
    tokens = [words(t) for t in lines]
    labels = [0] * n
    long_line = [False] * n
    for i, toks in enumerate(tokens):
        if structured[i] or len(toks) < min_ngram_words:
            continue
        long_line[i] = True
        grams = _trigrams(toks)
        hits = sum(g in gold_grams for g in grams)
        labels[i] = int(hits >= ngram_coverage * len(grams))
    for i, toks in enumerate(tokens):
        if structured[i] or long_line[i] or not toks:
            continue
        joined = " ".join(toks)
        if joined in gold_lines:
            labels[i] = 1
        elif f" {joined} " in gold_joined:
            lo, hi = max(0, i - short_line_window), min(n, i + short_line_window + 1)
            if any(labels[j] and long_line[j] for j in range(lo, hi)):
                labels[i] = 1
    _keep_gold_copies(
        lines, tokens, labels, long_line, gold_lines if gold_copies else None, gold_joined
    )
    if any(structured):
        dom_grams = set()
        for i, toks in enumerate(tokens):
            if labels[i] and not structured[i]:
                dom_grams.update(_trigrams(toks))
        for i, toks in enumerate(tokens):
            if not structured[i] or len(toks) < min_ngram_words:
                continue
            grams = _trigrams(toks)
            in_gold = sum(g in gold_grams for g in grams)
            in_dom = sum(g in dom_grams for g in grams)
            labels[i] = int(in_gold >= ngram_coverage * len(grams) and in_dom < 0.5 * len(grams))
            if labels[i]:
                dom_grams.update(grams)
    return labels


def _keep_gold_copies(
    lines: Sequence[str],
    tokens: Sequence[list[str]],
    labels: list[int],
    long_line: Sequence[bool],
    gold_lines: Counter | None,
    gold_joined: str,
) -> None:
    """Rule 3, in place. ``gold_lines``: the gold's lines (as space-joined words) counted,
    None to keep one copy of each text; ``gold_joined``: the gold's words, space-joined and
    space-padded."""
    copies: dict[str, list[int]] = {}
    for i, text in enumerate(lines):
        if labels[i]:
            copies.setdefault(text, []).append(i)
    repeated = [rows for rows in copies.values() if len(rows) > 1]
    if not repeated:
        return
    # where the main text is: long content lines, and (placing the gold's copies, e.g. a
    # grid's, which may have no long line near) content lines the page has once
    anchors = [
        i
        for i, label in enumerate(labels)
        if label and (long_line[i] or (gold_lines is not None and len(copies[lines[i]]) == 1))
    ]
    for rows in repeated:
        if gold_lines is None:
            keep = 1
        else:
            keep = _copies_in_gold(" ".join(tokens[rows[0]]), gold_lines, gold_joined)
        if keep >= len(rows):
            continue
        if anchors:
            rows = sorted(rows, key=lambda r: (_distance(anchors, r), r))
        for r in rows[keep:]:
            labels[r] = 0


def _copies_in_gold(joined: str, gold_lines: Counter, gold_joined: str) -> int:
    """How many copies of a line (its words space-joined) the gold has, at least 1."""
    # equal gold lines ("Black" is not "Black/Grey"), else runs of the same words anywhere
    # in the gold (a long line cut differently there)
    in_gold = gold_lines.get(joined, 0)
    if not in_gold and joined:
        in_gold = len(re.findall(f"(?= {re.escape(joined)} )", gold_joined))
    return max(1, in_gold)


def _distance(sorted_rows: list[int], row: int) -> int:
    """Distance from ``row`` to the nearest of ``sorted_rows`` (not empty)."""
    at = bisect_left(sorted_rows, row)
    if at == 0:
        return sorted_rows[0] - row
    if at == len(sorted_rows):
        return row - sorted_rows[-1]
    return min(row - sorted_rows[at - 1], sorted_rows[at] - row)


def oracle_prf(lines: Sequence[str], labels: Sequence[int], gold: str) -> tuple[float, ...]:
    """Word P/R/F1 of the text made of exactly the lines labeled content."""
    pred: Counter = Counter()
    for text, label in zip(lines, labels, strict=True):
        if label:
            pred.update(words(text))
    return prf(pred, Counter(words(gold)))
