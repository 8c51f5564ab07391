"""WCXB's word-level metric, shared by labels (oracle F1), training (threshold choice) and
evaluation so that every figure is computed the same way."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

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
        from scipy import sparse

        self.n_pages = len(golds)
        self.page = np.asarray(page)
        rows: list[int] = []
        cols: list[int] = []
        gold_cols: list[int] = []
        gold_vals: list[float] = []
        col_page: list[int] = []
        vocab: dict[tuple[int, str], int] = {}
        for p, gold in enumerate(golds):
            for word, count in Counter(words(gold)).items():
                vocab[(p, word)] = len(vocab)
                col_page.append(p)
                gold_cols.append(vocab[(p, word)])
                gold_vals.append(count)
        n_gold_cols = len(vocab)
        # Words a gold does not have never overlap: one shared column per page.
        spill = {p: n_gold_cols + p for p in range(self.n_pages)}
        col_page.extend(range(self.n_pages))
        self.line_tokens = np.zeros(len(texts))
        for i, (text, p) in enumerate(zip(texts, self.page, strict=True)):
            toks = words(text)
            self.line_tokens[i] = len(toks)
            for tok in toks:
                rows.append(i)
                cols.append(vocab.get((p, tok), spill[p]))
        n_cols = n_gold_cols + self.n_pages
        self.matrix = sparse.csr_matrix(
            (np.ones(len(rows)), (rows, cols)), shape=(len(texts), n_cols)
        ).T.tocsr()
        self.gold = np.zeros(n_cols)
        self.gold[gold_cols] = gold_vals
        self.col_page = np.asarray(col_page)
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
