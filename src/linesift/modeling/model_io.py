"""Saving and loading shipped models safely.

A model directory holds ``model.skops`` (skops format: loading it runs no code, unlike a
pickle), ``stack.skops`` (the second stage, see ``stack.py``; absent in single-stage models)
and ``card.json`` (what it was trained on, how well it scored, its threshold, its
feature schema and the sha256 of every model file). Loading verifies the checksums, refuses
a feature schema other than the code's, and trusts only the scikit-learn types listed here.

``trees.npz`` and ``stack_trees.npz`` are the same two models as flat arrays
(``tree_predict.FlatTrees``, checked equal to the estimators when written): extraction
predicts from them and loads the skops files only if something asks for the estimators,
so that it needs neither scikit-learn nor skops (seconds of start-up, ~90 MB).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..atomic import write_json
from ..features import PAGE_TYPE_INPUTS, SCHEMA_VERSION, feature_names

MODEL_FILE = "model.skops"
STACK_FILE = "stack.skops"
TREES_FILE = "trees.npz"
STACK_TREES_FILE = "stack_trees.npz"
CARD_FILE = "card.json"

log = logging.getLogger(__name__)
# Every type a fitted HistGradientBoostingClassifier holds that skops does not trust itself.
TRUSTED_TYPES = [
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.Interval",
    "sklearn._loss._loss.CyHalfBinomialLoss",
    "collections.OrderedDict",
    "numpy.dtype",
    # the estimator's input validation hook; skops still checks the wrapped function itself
    "functools.partial",
    "sklearn.utils.validation.check_array",
]


class ModelError(RuntimeError):
    """A model file that cannot be used (missing, tampered with, wrong schema)."""


class LineModel:
    """A fitted line classifier with what is needed to use it: the first-stage estimator,
    the optional second stage (``card["stack"]`` names its features) and the card.

    ``trees``/``stack_trees``: the two stages as ``FlatTrees`` (what prediction uses when
    present). ``loader``: returns ``(estimator, stack_estimator)`` on first access to either,
    for a model loaded without them."""

    def __init__(
        self,
        estimator: Any = None,
        card: dict[str, Any] | None = None,
        stack_estimator: Any = None,
        *,
        trees: Any = None,
        stack_trees: Any = None,
        loader: Callable[[], tuple[Any, Any]] | None = None,
    ) -> None:
        self._estimator = estimator
        self._stack_estimator = stack_estimator
        self.card: dict[str, Any] = card if card is not None else {}
        self.trees = trees
        self.stack_trees = stack_trees
        self._loader = loader

    def _load(self) -> None:
        if self._loader is not None:
            self._estimator, self._stack_estimator = self._loader()
            self._loader = None

    @property
    def estimator(self) -> Any:
        self._load()
        return self._estimator

    @property
    def stack_estimator(self) -> Any:
        self._load()
        return self._stack_estimator

    @property
    def first_stage(self) -> Any:
        """What predicts the first stage: the flat trees if any, else the estimator."""
        return self.trees if self.trees is not None else self.estimator

    @property
    def second_stage(self) -> Any:
        """The second stage's flat trees or estimator; None for a single-stage model."""
        if self.stack_trees is not None:
            return self.stack_trees
        if self._loader is not None and not self.card.get("stack"):
            return None  # nothing to load for it
        return self.stack_estimator

    def copy(self) -> LineModel:
        """A model sharing the fitted parts, with its own card (and one loader: whichever
        copy loads the estimators first, the others load them again)."""
        return LineModel(
            self._estimator,
            dict(self.card),
            self._stack_estimator,
            trees=self.trees,
            stack_trees=self.stack_trees,
            loader=self._loader,
        )

    @property
    def kind(self) -> str:
        return self.card["kind"]

    @property
    def threshold(self) -> float:
        return float(self.card["threshold"])

    @property
    def features(self) -> list[str]:
        return list(self.card["features"])

    @property
    def name(self) -> str:
        return f"linesift-{self.kind}"

    @property
    def version(self) -> str:
        return str(self.card.get("version", "unversioned"))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_model(model: LineModel, directory: Path) -> None:
    """Write model.skops, stack.skops, their flat trees and card.json atomically (temp
    files, then rename)."""
    import skops.io as sio

    directory.mkdir(parents=True, exist_ok=True)
    tmp_model = directory / (MODEL_FILE + ".tmp")
    sio.dump(model.estimator, tmp_model, compression=8)
    card = dict(model.card, sha256=sha256_of(tmp_model), model_file=MODEL_FILE)
    moves = [(tmp_model, directory / MODEL_FILE)]
    if model.stack_estimator is not None:
        tmp_stack = directory / (STACK_FILE + ".tmp")
        sio.dump(model.stack_estimator, tmp_stack, compression=8)
        card["stack"] = dict(card["stack"], sha256=sha256_of(tmp_stack), model_file=STACK_FILE)
        moves.append((tmp_stack, directory / STACK_FILE))
    moves += _trees_files(model, card, directory)
    _move_into(directory, moves)
    write_card(card, directory)
    model.card = card


def export_trees(directory: str | Path) -> None:
    """Add the flat trees to a model directory written before they existed (its skops files
    stay as they are)."""
    directory = Path(directory)
    model = load_model(directory)
    card = dict(model.card)
    if card.get("stack"):
        card["stack"] = dict(card["stack"])
    _move_into(directory, _trees_files(model, card, directory), keep=(MODEL_FILE, STACK_FILE))
    write_card(card, directory)


def _trees_files(model: LineModel, card: dict[str, Any], directory: Path) -> list:
    """Write each stage's checked ``FlatTrees`` to a temp file and name it in ``card``;
    returns the ``(temp file, target)`` pairs. A stage that cannot be flattened gets no
    trees file (a warning): prediction then uses its estimator."""
    from .tree_predict import FlatTrees

    moves = []
    card.pop("trees", None)
    stages = [(model.estimator, card, TREES_FILE)]
    if model.stack_estimator is not None:
        card["stack"].pop("trees", None)
        stages.append((model.stack_estimator, card["stack"], STACK_TREES_FILE))
    for estimator, entry, name in stages:
        try:
            flat = FlatTrees.checked(estimator)
        except Exception as exc:  # scikit-learn internals this code does not know
            log.warning("%s: not written (%s); prediction will use the estimator", name, exc)
            continue
        tmp = directory / (name + ".tmp")
        flat.save(tmp)
        entry["trees"] = {"file": name, "sha256": sha256_of(tmp)}
        moves.append((tmp, directory / name))
    return moves


def _move_into(directory: Path, moves: list, keep: tuple[str, ...] = ()) -> None:
    """Rename the temp files onto their targets; remove the model files of the directory
    that are neither among them nor in ``keep`` (left by an earlier model)."""
    present = {target.name for _, target in moves} | set(keep)
    for name in (STACK_FILE, TREES_FILE, STACK_TREES_FILE):
        if name not in present:
            (directory / name).unlink(missing_ok=True)
    for tmp, target in moves:
        tmp.replace(target)


def write_card(card: dict[str, Any], directory: Path) -> None:
    """Write card.json atomically."""
    write_json(Path(directory) / CARD_FILE, card)


def load_model(directory: str | Path, *, estimators: bool = True) -> LineModel:
    """Load a model directory, refusing tampered files, unknown types and other schemas.

    ``estimators=False``: when the directory has the flat trees of every stage, load only
    those; the skops estimators are loaded (and verified) on first access."""
    directory = Path(directory)
    card_path, model_path = directory / CARD_FILE, directory / MODEL_FILE
    if not card_path.exists() or not model_path.exists():
        raise ModelError(f"{directory}: not a linesift model (needs {CARD_FILE} and {MODEL_FILE})")
    card = json.loads(card_path.read_text("utf-8"))
    check_card(card, str(directory))
    stack_card = card.get("stack") or {}
    trees = _load_trees(directory, card.get("trees"))
    stack_trees = _load_trees(directory, stack_card.get("trees"))

    # a partial of a module function, not a closure: a model (and what holds it, e.g. a
    # datatrove step) must pickle
    load_estimators = functools.partial(
        _load_estimators,
        model_path,
        card.get("sha256"),
        directory / STACK_FILE if stack_card else None,
        stack_card.get("sha256"),
    )
    complete = trees is not None and (stack_trees is not None or not stack_card)
    if estimators or not complete:
        estimator, stack = load_estimators()  # each file verified as it is loaded
        return LineModel(estimator, card, stack, trees=trees, stack_trees=stack_trees)
    # the skops files are unpacked on first use only, but checked now as well: a changed
    # file is refused at load, whether or not it is ever needed
    _verify(model_path, card.get("sha256"))
    if stack_card:
        _verify(directory / STACK_FILE, stack_card.get("sha256"))
    return LineModel(card=card, trees=trees, stack_trees=stack_trees, loader=load_estimators)


def _load_estimators(
    model_path: Path, sha256: str | None, stack_path: Path | None, stack_sha256: str | None
) -> tuple[Any, Any]:
    estimator = load_verified(model_path, sha256)
    stack = load_verified(stack_path, stack_sha256) if stack_path is not None else None
    return estimator, stack


def _load_trees(directory: Path, entry: dict[str, Any] | None) -> Any:
    """The ``FlatTrees`` a card entry names (``{"file", "sha256"}``), verified; None if none."""
    if not entry:
        return None
    from .tree_predict import FlatTrees

    path = directory / entry["file"]
    _verify(path, entry.get("sha256"))
    return FlatTrees.load(path)


def _verify(path: Path, expected_sha256: str | None) -> None:
    if not path.exists():
        raise ModelError(f"{path}: missing (the card names it)")
    actual = sha256_of(path)
    if actual != expected_sha256:
        raise ModelError(
            f"{path}: sha256 {actual} does not match the card's {expected_sha256}; "
            "the file was changed after training - refusing to load it"
        )


def check_card(card: dict[str, Any], where: str) -> None:
    """Refuse a card of another feature schema version, or whose feature lists (either
    stage) differ from the code's."""
    from .stack import stack_feature_names

    schema = str(card.get("schema_version"))
    if schema != SCHEMA_VERSION:
        raise ModelError(
            f"{where}: model feature schema version {schema} does not match this linesift's "
            f"schema version {SCHEMA_VERSION}; retrain the model (make train) or install the "
            "linesift version it was trained with"
        )
    kind = card.get("kind", "")
    if card.get("features") != feature_names(kind):
        raise ModelError(f"{where}: the card's feature list differs from the code's")
    stack = card.get("stack")
    page_types = ((stack or {}).get("page_type") or {}).get("classes", [])
    if stack and (
        not set(stack.get("base_features", [])) <= set(feature_names(kind))
        or stack.get("features") != stack_feature_names(kind, stack["base_features"], page_types)
    ):
        raise ModelError(f"{where}: the card's second-stage feature list differs from the code's")
    if page_types and stack["page_type"].get("inputs") != list(PAGE_TYPE_INPUTS):
        raise ModelError(f"{where}: the card's page-type inputs differ from the code's")


def load_verified(path: Path, expected_sha256: str | None) -> Any:
    """A skops file, refused if missing, changed since training, or holding untrusted types."""
    import skops.io as sio

    _verify(path, expected_sha256)
    untrusted = set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES)
    if untrusted:
        raise ModelError(f"{path}: holds types linesift does not trust: {sorted(untrusted)}")
    return sio.load(path, trusted=TRUSTED_TYPES)
