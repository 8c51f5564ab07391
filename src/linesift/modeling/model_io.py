"""Saving and loading shipped models safely.

A model directory holds ``model.skops`` (skops format: loading it runs no code, unlike a
pickle), ``stack.skops`` (the second stage, see ``stack.py``; absent in single-stage models)
and ``card.json`` (what it was trained on, how well it scored, its threshold, its
feature schema and the sha256 of the model file). Loading verifies the checksum, refuses a
feature schema other than the code's, and trusts only the scikit-learn types listed here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomic import write_json
from ..features import SCHEMA_VERSION, feature_names

MODEL_FILE = "model.skops"
STACK_FILE = "stack.skops"
CARD_FILE = "card.json"
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


@dataclass
class LineModel:
    """A fitted line classifier with what is needed to use it: the first-stage estimator,
    the optional second stage (``card["stack"]`` names its features) and the card."""

    estimator: Any
    card: dict[str, Any]
    stack_estimator: Any = None

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
    """Write model.skops, stack.skops and card.json atomically (temp files, then rename)."""
    import skops.io as sio

    directory.mkdir(parents=True, exist_ok=True)
    tmp_model = directory / (MODEL_FILE + ".tmp")
    sio.dump(model.estimator, tmp_model, compression=8)
    card = dict(model.card, sha256=sha256_of(tmp_model), model_file=MODEL_FILE)
    if model.stack_estimator is not None:
        tmp_stack = directory / (STACK_FILE + ".tmp")
        sio.dump(model.stack_estimator, tmp_stack, compression=8)
        card["stack"] = dict(card["stack"], sha256=sha256_of(tmp_stack), model_file=STACK_FILE)
        tmp_stack.replace(directory / STACK_FILE)
    else:
        (directory / STACK_FILE).unlink(missing_ok=True)
    tmp_model.replace(directory / MODEL_FILE)
    write_card(card, directory)
    model.card = card


def write_card(card: dict[str, Any], directory: Path) -> None:
    """Write card.json atomically."""
    write_json(Path(directory) / CARD_FILE, card)


def load_model(directory: str | Path) -> LineModel:
    """Load a model directory, refusing tampered files, unknown types and other schemas."""
    directory = Path(directory)
    card_path, model_path = directory / CARD_FILE, directory / MODEL_FILE
    if not card_path.exists() or not model_path.exists():
        raise ModelError(f"{directory}: not a linesift model (needs {CARD_FILE} and {MODEL_FILE})")
    card = json.loads(card_path.read_text("utf-8"))
    check_card(card, str(directory))
    estimator = load_verified(model_path, card.get("sha256"))
    stack = None
    if card.get("stack"):
        stack = load_verified(directory / STACK_FILE, card["stack"].get("sha256"))
    return LineModel(estimator=estimator, card=card, stack_estimator=stack)


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
    if stack and (
        not set(stack.get("base_features", [])) <= set(feature_names(kind))
        or stack.get("features") != stack_feature_names(kind, stack["base_features"])
    ):
        raise ModelError(f"{where}: the card's second-stage feature list differs from the code's")


def load_verified(path: Path, expected_sha256: str | None) -> Any:
    """A skops file, refused if missing, changed since training, or holding untrusted types."""
    import skops.io as sio

    if not path.exists():
        raise ModelError(f"{path}: missing (the card names it)")
    actual = sha256_of(path)
    if actual != expected_sha256:
        raise ModelError(
            f"{path}: sha256 {actual} does not match the card's {expected_sha256}; "
            "the file was changed after training - refusing to load it"
        )
    untrusted = set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES)
    if untrusted:
        raise ModelError(f"{path}: holds types linesift does not trust: {sorted(untrusted)}")
    return sio.load(path, trusted=TRUSTED_TYPES)
