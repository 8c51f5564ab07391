"""Content probabilities from a fitted HistGradientBoostingClassifier, row by row.

scikit-learn predicts one tree at a time over all rows, so every row's features are read
again from memory for each of the model's 100+ trees; here a block of 512 rows (in L2 cache)
runs through each tree in turn while the tree's nodes, packed 16 bytes a node, are in
cache too (numba-compiled). The arithmetic is scikit-learn's own - the same comparisons,
missing-value and category routing, and the leaf values summed in the same order - so the
probabilities are bit-identical; per core on WCXB pages 6.8x faster for the first stage
and 2.9x for the second (bench/tree_predict.py; scikit-learn's time includes its input
checks and ColumnTransformer).

It reads the fitted estimator's internals (``_predictors``, ``_bin_mapper``,
``_preprocess_X``, ``_loss``, ``_baseline_prediction``). The first call for an estimator
checks its output against ``predict_proba`` on the rows at hand; if they differ (a
scikit-learn release that changed those internals) that estimator falls back to
``predict_proba`` for the rest of the process, with a warning.

``FlatTrees`` is also what a shipped model directory keeps beside its skops files
(``FlatTrees.save``/``load``: plain arrays in an ``.npz``, no pickle): extraction then
needs neither scikit-learn nor skops, whose imports and safe loading are most of a
process's start-up (~4 s) and ~90 MB of its memory. ``FlatTrees.of`` checks the flat
trees against ``predict_proba`` on probe rows that take every branch of every split.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

CHECK_ROWS = 256  # rows the first call compares with scikit-learn


# rows walked through one tree before the next tree: the tree stays in L1, the rows in L2.
# First stage on 320 WCXB pages (ms/page): 64 rows 0.82, 128 0.77-0.80, 256 0.75, 512 0.74
BLOCK_ROWS = 1024
# ``FlatTrees.arrays``, in the order ``FlatTrees.save`` writes them
_ARRAY_NAMES = ("roots", "inode", "fnode", "left_bitsets", "known_bitsets", "known_row")
# columns of ``FlatTrees``' integer node table
_FEATURE, _LEFT, _RIGHT, _BITSET_ROW, _FLAGS = range(5)
_LEAF, _MISSING_LEFT, _CATEGORICAL = 1, 2, 4  # bits of the _FLAGS column
# what ``_raw_scores`` walks: 16 bytes a node, the left child the next node (scikit-learn
# numbers a tree's nodes depth first); a leaf keeps its value in ``threshold``
NODE = np.dtype(
    [("threshold", "f8"), ("right", "i4"), ("feature", "u2"), ("flags", "u1"), ("pad", "u1")]
)


def packed_nodes(inode: np.ndarray, fnode: np.ndarray) -> np.ndarray:
    """``inode``/``fnode`` as one ``NODE`` record per node (same node order)."""
    leaf = (inode[:, _FLAGS] & _LEAF) != 0
    split = np.flatnonzero(~leaf)
    if not np.array_equal(inode[split, _LEFT], split + 1):
        raise ValueError("a left child is not the node after its parent")
    if len(inode) >= 2**31 or inode[:, _FEATURE].max(initial=0) >= 2**16:
        raise ValueError("too many nodes or features to pack")
    nodes = np.zeros(len(inode), dtype=NODE)
    nodes["threshold"] = np.where(leaf, fnode[:, 1], fnode[:, 0])
    nodes["right"] = np.where(leaf, 0, inode[:, _RIGHT])
    nodes["feature"] = np.where(leaf, 0, inode[:, _FEATURE])
    nodes["flags"] = inode[:, _FLAGS]
    return nodes


@numba.njit(cache=True, nogil=True)
def _raw_scores(X, roots, nodes, inode, left_bitsets, known_bitsets, known_row, baseline, out):
    """Sum of leaf values over the trees, per row (scikit-learn's ``_raw_predict``).

    A block of rows goes through one tree before the next tree, so that the tree's nodes
    (``nodes``, ``packed_nodes``) stay in cache; each row still adds its trees' leaf values
    in tree order, as scikit-learn does. ``inode`` is read only at categorical splits."""
    n = X.shape[0]
    for i in range(n):
        out[i] = baseline
    for lo in range(0, n, BLOCK_ROWS):
        hi = min(n, lo + BLOCK_ROWS)
        for t in range(roots.shape[0]):
            root = roots[t]
            for i in range(lo, hi):
                node = root
                while True:
                    record = nodes[node]
                    flags = record.flags
                    f = record.feature
                    v = X[i, f]
                    if flags & (_LEAF | _CATEGORICAL):  # rare: one leaf per tree and row
                        if flags & _LEAF:
                            break
                        if np.isnan(v) or v < 0:  # missing or out of range
                            go_left = (flags & _MISSING_LEFT) != 0
                        else:
                            c = np.uint32(np.uint8(v))  # scikit-learn reads it as a bin index
                            word, bit = c >> 5, c & 31
                            if (left_bitsets[inode[node, _BITSET_ROW], word] >> bit) & 1:
                                go_left = True
                            elif (known_bitsets[known_row[f], word] >> bit) & 1:
                                go_left = False
                            else:  # a category unseen in training: treated as missing
                                go_left = (flags & _MISSING_LEFT) != 0
                    elif v <= record.threshold:
                        go_left = True
                    elif v > record.threshold:
                        go_left = False
                    else:  # NaN: neither comparison holds
                        go_left = (flags & _MISSING_LEFT) != 0
                    node = node + 1 if go_left else record.right
                out[i] += nodes[node].threshold
    return out


@dataclass
class FlatTrees:
    """Every tree's nodes in one set of arrays (child indices global), and how the fitted
    estimator turns a feature frame into the matrix its trees read: a binary
    HistGradientBoostingClassifier's ``predict_proba(X)[:, 1]`` without scikit-learn."""

    arrays: tuple[np.ndarray, ...]  # as ``_ARRAY_NAMES`` (what ``save`` writes)
    baseline: float
    columns: list[str]
    # None: columns as they are; else (column indices, categories or None) per block of
    # output columns, in order - categories: ordinal-encode (unknown/missing -> NaN)
    blocks: list[tuple[np.ndarray, list[np.ndarray] | None]] | None
    # what ``_raw_scores`` walks, packed from ``arrays`` (inode, fnode) when made
    nodes: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.nodes = packed_nodes(self.arrays[1], self.arrays[2])

    @property
    def feature_names_in_(self) -> np.ndarray:
        """The input columns, in order (as the estimator's attribute of the same name)."""
        return np.asarray(self.columns, dtype=object)

    def probability(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """The content probability of each row: ``X`` a frame of ``columns`` or their float64
        matrix in that order."""
        if isinstance(X, pd.DataFrame):
            if list(X.columns) != self.columns:
                raise ValueError("feature columns differ from the model's")
            data = self.matrix(X)
        else:
            if X.ndim != 2 or X.shape[1] != len(self.columns):
                raise ValueError(f"expected {len(self.columns)} feature columns")
            data = self.encode(X)
        return self._probability_of(data)

    def probability_of_columns(self, columns: Mapping[str, Any]) -> np.ndarray:
        """``probability`` of the rows of ``columns`` (a dict of arrays holding at least the
        model's input columns): the trees' matrix filled from them directly, in its column
        order, the categories encoded in place - without the matrix in input order that
        ``encode`` then reorders (two copies less of ~100 columns x the batch's lines)."""
        order = self._encoded_order()
        n = len(columns[self.columns[0]]) if self.columns else 0
        if n == 0:
            return np.zeros(0)
        # column-major: each column is filled by one contiguous copy, and the trees read a
        # block's rows of one feature from consecutive addresses (~6 % faster in all)
        data = np.empty((len(order), n)).T
        for k, (column, cats) in enumerate(order):
            data[:, k] = columns[self.columns[column]]
            if cats is not None:
                values = data[:, k]
                at = np.minimum(np.searchsorted(cats, values), len(cats) - 1)
                data[:, k] = np.where(cats[at] == values, at, np.nan)
        return self._probability_of(data)

    def _encoded_order(self) -> list[tuple[int, np.ndarray | None]]:
        """The trees' input columns in order: (index of the input column, its categories
        or None)."""
        if self.blocks is None:
            return [(i, None) for i in range(len(self.columns))]
        return [
            (i, None if categories is None else categories[j])
            for cols, categories in self.blocks
            for j, i in enumerate(cols.tolist())
        ]

    def _probability_of(self, data: np.ndarray) -> np.ndarray:
        """The probabilities of the rows of the trees' input matrix (``encode``'s output)."""
        roots, inode, _, *bitsets = self.arrays
        raw = _raw_scores(
            data, roots, self.nodes, inode, *bitsets, self.baseline, np.empty(len(data))
        )
        from scipy.special import expit  # scikit-learn's inverse logit link, bit for bit

        return expit(raw)

    def save(self, path: str | Path) -> None:
        """Write the trees as one ``.npz`` of plain arrays (read back without pickle)."""
        arrays = dict(zip(_ARRAY_NAMES, self.arrays, strict=True))
        arrays["baseline"] = np.array(self.baseline)
        arrays["columns"] = np.array(self.columns, dtype=str)
        arrays["n_blocks"] = np.array(-1 if self.blocks is None else len(self.blocks))
        for b, (cols, categories) in enumerate(self.blocks or []):
            arrays[f"block{b}_columns"] = np.asarray(cols, dtype=np.int64)
            n_categories = -1 if categories is None else len(categories)
            arrays[f"block{b}_n_categories"] = np.array(n_categories)
            for j, cats in enumerate(categories or []):
                arrays[f"block{b}_categories{j}"] = np.asarray(cats, dtype=np.float64)
        with open(path, "wb") as fh:
            np.savez_compressed(fh, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> FlatTrees:
        with np.load(path, allow_pickle=False) as data:
            arrays = tuple(np.ascontiguousarray(data[name]) for name in _ARRAY_NAMES)
            blocks: list[tuple[np.ndarray, list[np.ndarray] | None]] | None = None
            if int(data["n_blocks"]) >= 0:
                blocks = []
                for b in range(int(data["n_blocks"])):
                    n_cats = int(data[f"block{b}_n_categories"])
                    cats = None
                    if n_cats >= 0:
                        cats = [data[f"block{b}_categories{j}"] for j in range(n_cats)]
                    blocks.append((data[f"block{b}_columns"], cats))
            return cls(arrays, float(data["baseline"]), data["columns"].tolist(), blocks)

    def probe_rows(self, n: int = 4096, seed: int = 0) -> np.ndarray:
        """Rows (in the input columns) whose values sit on, just above and just below every
        split threshold of every tree, plus missing values, every known category and an
        unknown one: each split is taken both ways many times."""
        n_in = len(self.columns)
        inode, fnode = self.arrays[1], self.arrays[2]
        split = (inode[:, _FLAGS] & (_LEAF | _CATEGORICAL)) == 0
        rng = np.random.default_rng(seed)
        out = np.empty((n, n_in))
        for f, (column, categories) in enumerate(self._encoded_order()):
            if categories is not None:
                cats = np.asarray(categories, dtype=np.float64)
                values = np.concatenate([cats, [np.nan, cats.max(initial=0.0) + 1.0]])
            else:
                thr = np.unique(fnode[split & (inode[:, _FEATURE] == f), 0])
                values = np.concatenate(
                    [thr, np.nextafter(thr, np.inf), np.nextafter(thr, -np.inf), [np.nan, 0.0]]
                )
            out[:, column] = rng.choice(values, size=n)
        return out

    @classmethod
    def checked(cls, estimator: Any) -> FlatTrees:
        """``of(estimator)``, verified equal to ``predict_proba`` on ``probe_rows``; raises
        ValueError if the two differ (scikit-learn internals not as this code reads them)."""
        flat = cls.of(estimator)
        probe = flat.probe_rows()
        expected = estimator.predict_proba(pd.DataFrame(probe, columns=flat.columns))[:, 1]
        if not np.array_equal(flat.probability(probe), expected):
            raise ValueError("flattened trees differ from predict_proba")
        return flat

    def matrix(self, X: pd.DataFrame) -> np.ndarray:
        """What ``estimator._preprocess_X(X)`` gives, without scikit-learn's per-call
        validation (a ColumnTransformer costs ~6 ms a call: as much as one page's trees)."""
        return self.encode(X.to_numpy(dtype=np.float64))

    def encode(self, data: np.ndarray) -> np.ndarray:
        """``matrix`` of the float64 values of the frame's columns, in order."""
        if self.blocks is None:
            return np.ascontiguousarray(data)
        parts = []
        for cols, categories in self.blocks:
            block = data[:, cols]
            if categories is not None:
                for j, cats in enumerate(categories):
                    values = block[:, j]
                    at = np.minimum(np.searchsorted(cats, values), len(cats) - 1)
                    block[:, j] = np.where(cats[at] == values, at, np.nan)
            parts.append(block)
        return np.ascontiguousarray(np.hstack(parts))

    @classmethod
    def of(cls, estimator: Any) -> FlatTrees:
        if estimator.n_trees_per_iteration_ != 1:
            raise ValueError("only binary classifiers are supported")
        roots, inodes, fnodes, bitsets = [], [], [], []
        offset = bitset_offset = 0
        for (predictor,) in estimator._predictors:
            tree = predictor.nodes
            roots.append(offset)
            inode = np.empty((len(tree), 5), dtype=np.int64)
            inode[:, _FEATURE] = tree["feature_idx"]
            inode[:, _LEFT] = tree["left"].astype(np.int64) + offset
            inode[:, _RIGHT] = tree["right"].astype(np.int64) + offset
            inode[:, _BITSET_ROW] = tree["bitset_idx"].astype(np.int64) + bitset_offset
            inode[:, _FLAGS] = (
                _LEAF * tree["is_leaf"].astype(bool)
                | _MISSING_LEFT * tree["missing_go_to_left"].astype(bool)
                | _CATEGORICAL * tree["is_categorical"].astype(bool)
            )
            inodes.append(inode)
            # threshold, leaf value: the same float64 values scikit-learn compares and sums
            fnodes.append(np.stack([tree["num_threshold"], tree["value"]], axis=1))
            bitsets.append(np.asarray(predictor.raw_left_cat_bitsets, dtype=np.uint32))
            offset += len(tree)
            bitset_offset += len(predictor.raw_left_cat_bitsets)
        known, known_row = estimator._bin_mapper.make_known_categories_bitsets()
        left_bitsets = np.concatenate(bitsets) if bitset_offset else np.zeros((1, 8), np.uint32)
        arrays = (
            np.asarray(roots, dtype=np.int64),
            np.ascontiguousarray(np.concatenate(inodes)),
            np.ascontiguousarray(np.concatenate(fnodes), dtype=np.float64),
            np.ascontiguousarray(left_bitsets, dtype=np.uint32),
            np.ascontiguousarray(known, dtype=np.uint32),
            np.ascontiguousarray(known_row, dtype=np.int64),
        )
        baseline = float(np.ravel(estimator._baseline_prediction)[0])
        columns = [str(c) for c in estimator.feature_names_in_]
        return cls(arrays, baseline, columns, _column_blocks(estimator))


def _column_blocks(estimator: Any) -> list[tuple[np.ndarray, list[np.ndarray] | None]] | None:
    """The estimator's input preprocessing as column blocks (see ``FlatTrees.blocks``):
    scikit-learn's ColumnTransformer of an OrdinalEncoder (categorical columns, first) and a
    pass-through of the others. Anything else raises, so the caller falls back."""
    from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

    pre = estimator._preprocessor
    if pre is None:
        return None
    n = len(estimator.feature_names_in_)
    blocks = []
    for _, transformer, cols in pre.transformers_:
        index = np.flatnonzero(cols) if np.asarray(cols).dtype == bool else np.asarray(cols)
        if transformer == "drop" or len(index) == 0:
            continue
        if isinstance(transformer, OrdinalEncoder):
            if not np.isnan(transformer.unknown_value):
                raise ValueError("unknown categories not encoded as missing")
            cats = [np.asarray(c, dtype=np.float64) for c in transformer.categories_]
            if any(np.isnan(c).any() or np.any(np.diff(c) <= 0) for c in cats):
                raise ValueError("categories not sorted numbers")
            blocks.append((index, cats))
        elif isinstance(transformer, FunctionTransformer):
            blocks.append((index, None))
        else:
            raise ValueError(f"unexpected preprocessing step {transformer!r}")
    if sorted(np.concatenate([b[0] for b in blocks]).tolist()) != list(range(n)):
        raise ValueError("preprocessing does not pass every column once")
    return blocks


# per estimator: its flattened trees, or None once it fell back to scikit-learn
_COMPILED: weakref.WeakKeyDictionary[Any, FlatTrees | None] = weakref.WeakKeyDictionary()


def _fast(estimator: Any, flat: FlatTrees, X: pd.DataFrame | np.ndarray) -> np.ndarray:
    if isinstance(X, pd.DataFrame) and list(X.columns) != flat.columns:
        # let scikit-learn validate (and raise its error)
        data = np.ascontiguousarray(estimator._preprocess_X(X, reset=False), dtype=np.float64)
        return flat._probability_of(data)
    return flat.probability(X)


def feature_matrix(columns: Mapping[str, np.ndarray], names: Sequence[str]) -> np.ndarray:
    """The float64 matrix of ``columns[name]`` for ``names`` (what ``DataFrame.to_numpy``
    gives of a frame of those columns), for ``content_probability`` without a DataFrame."""
    out = np.empty((len(columns[names[0]]) if names else 0, len(names)))
    for j, name in enumerate(names):
        out[:, j] = columns[name]
    return out


def content_probability(estimator: Any, X: pd.DataFrame | np.ndarray) -> np.ndarray:
    """``estimator.predict_proba(X)[:, 1]``, computed row by row (see module docstring).
    ``estimator``: a fitted HistGradientBoostingClassifier or its ``FlatTrees``.

    ``X``: a DataFrame, or a float64 matrix whose columns are the estimator's
    ``feature_names_in_`` in order (``feature_matrix``): the fast path then skips the
    DataFrame, a fixed cost that matters for a page predicted alone."""
    if len(X) == 0:
        return np.zeros(0)
    if isinstance(estimator, FlatTrees):
        return estimator.probability(X)
    if isinstance(X, np.ndarray):
        if X.ndim != 2 or X.shape[1] != len(estimator.feature_names_in_):
            raise ValueError(f"expected {len(estimator.feature_names_in_)} feature columns")
        if _COMPILED.get(estimator) is None:  # not checked yet, or falls back
            X = pd.DataFrame(X, columns=estimator.feature_names_in_)
    if estimator in _COMPILED:
        flat = _COMPILED[estimator]
        return estimator.predict_proba(X)[:, 1] if flat is None else _fast(estimator, flat, X)
    try:
        flat = FlatTrees.of(estimator)
        sample = X.iloc[:CHECK_ROWS]
        expected = estimator.predict_proba(sample)[:, 1]
        agrees = np.array_equal(_fast(estimator, flat, sample), expected)
    except Exception:  # internals not as expected: the slow path still works
        log.warning("row-wise tree prediction unavailable; using predict_proba", exc_info=True)
        flat, agrees = None, False
    if flat is not None and not agrees:
        log.warning("row-wise tree prediction differs from predict_proba; using predict_proba")
    _COMPILED[estimator] = flat if agrees else None
    return content_probability(estimator, X)
