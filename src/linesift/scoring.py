"""WCXB's word-level metric, shared by labels (oracle F1), training (threshold choice) and
evaluation so that every figure is computed the same way."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from itertools import chain

import numpy as np

WORD_RE = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """WCXB's words: ``re.findall(r"\\w+", text.lower())``."""
    return WORD_RE.findall(text.lower())


def prf(pred_counts: Counter, gold_counts: Counter) -> tuple[float, float, float]:
    """Precision, recall, F1 of two word multisets, with WCXB's conventions for empties."""
    n_pred = sum(pred_counts.values())
    n_gold = sum(gold_counts.values())
    if n_gold == 0:
        return (1.0, 1.0, 1.0) if n_pred == 0 else (0.0, 0.0, 0.0)
    if n_pred == 0:
        return 0.0, 0.0, 0.0
    overlap = sum((pred_counts & gold_counts).values())
    p, r = overlap / n_pred, overlap / n_gold
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def word_prf(predicted: str, gold: str) -> tuple[float, float, float]:
    return prf(Counter(words(predicted)), Counter(words(gold)))


def word_f1(predicted: str, gold: str) -> float:
    return word_prf(predicted, gold)[2]


class PageScorer:
    """Exact WCXB word P/R/F1 of many pages for many line selections, fast.

    Built once from the lines (text, page) and each page's gold; ``score(mask)`` then costs
    a sparse product, so thresholds can be searched on out-of-fold predictions.
    """

    def __init__(self, texts: Sequence[str], page: np.ndarray, golds: Sequence[str]) -> None:
        import pandas as pd
        from scipy import sparse

        self.n_pages = len(golds)
        self.page = np.asarray(page, dtype=np.int64)
        line_words = [words(t) for t in texts]
        gold_words = [words(g) for g in golds]
        self.line_tokens = np.fromiter(map(len, line_words), float, len(line_words))
        n_gold_tokens = np.fromiter(map(len, gold_words), np.int64, len(gold_words))
        flat = list(chain.from_iterable(gold_words)) + list(chain.from_iterable(line_words))
        codes = pd.factorize(np.array(flat, dtype=object))[0].astype(np.int64)
        vocab = int(codes.max()) + 1 if len(codes) else 1
        n_gold = int(n_gold_tokens.sum())
        # a column per (page, gold word), holding the word's count in that page's gold
        gold_key = np.repeat(np.arange(self.n_pages), n_gold_tokens) * vocab + codes[:n_gold]
        columns, gold_counts = np.unique(gold_key, return_counts=True)
        token_row = np.repeat(np.arange(len(line_words)), self.line_tokens.astype(np.int64))
        token_page = self.page[token_row]
        token_key = token_page * vocab + codes[n_gold:]
        at = np.minimum(np.searchsorted(columns, token_key), max(len(columns) - 1, 0))
        in_gold = columns[at] == token_key if len(columns) else np.zeros(len(token_key), bool)
        # Words a gold does not have never overlap: one shared column per page.
        n_cols = len(columns) + self.n_pages
        token_col = np.where(in_gold, at, len(columns) + token_page)
        self.matrix = sparse.csr_matrix(
            (np.ones(len(token_row)), (token_col, token_row)), shape=(n_cols, len(line_words))
        )
        self.gold = np.r_[gold_counts.astype(float), np.zeros(self.n_pages)]
        self.col_page = np.r_[columns // vocab, np.arange(self.n_pages)]
        self.gold_total = np.bincount(self.col_page, weights=self.gold, minlength=self.n_pages)

    def score(self, selected: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-page precision, recall, F1 of the text made of the ``selected`` lines."""
        pred = self.matrix @ selected.astype(float)
        overlap = np.bincount(
            self.col_page, weights=np.minimum(pred, self.gold), minlength=self.n_pages
        )
        pred_total = np.bincount(
            self.page, weights=self.line_tokens * selected, minlength=self.n_pages
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            p = np.where(pred_total > 0, overlap / pred_total, 0.0)
            r = np.where(self.gold_total > 0, overlap / self.gold_total, 0.0)
            f1 = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
        empty_gold = self.gold_total == 0
        ok = empty_gold & (pred_total == 0)
        p[empty_gold] = r[empty_gold] = f1[empty_gold] = ok[empty_gold].astype(float)
        return p, r, f1
