"""Feature importance and the plots the evaluate stage logs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from linesift.modeling.model_io import LineModel
from linesift.plots import feature_importance, plot_f1_vs_peer, plot_feature_importance


@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(0)
    n = 3000
    X = pd.DataFrame(
        {
            "signal": rng.normal(size=n),
            "weak": rng.normal(size=n),
            "noise": rng.normal(size=n),
        }
    )
    y = ((X.signal + 0.3 * X.weak + rng.normal(scale=0.3, size=n)) > 0).astype(int).to_numpy()
    est = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(X, y)
    return X, y, est


def test_feature_importance_ranks_the_signal_first(synthetic):
    X, y, est = synthetic
    df = feature_importance(est, X, y, n_repeats=3, sample=1000)
    assert df.columns.tolist() == ["feature", "importance", "std"]
    assert df.feature.tolist() == ["signal", "weak", "noise"]
    assert df.importance.iloc[0] > 0.2  # shuffling it costs a lot of ROC-AUC
    assert abs(df.set_index("feature").importance["noise"]) < 0.01

    # a LineModel: only its card's features are used, in the card's order
    model = LineModel(estimator=est, card={"kind": "html", "features": ["signal", "weak", "noise"]})
    df2 = feature_importance(model, X.assign(extra=1.0), y, n_repeats=3, sample=1000)
    pd.testing.assert_frame_equal(df, df2)


def test_plots_write_pngs(synthetic, tmp_path):
    import matplotlib.image as mpimg

    X, y, est = synthetic
    df = feature_importance(est, X, y, n_repeats=2, sample=500)
    path = plot_feature_importance(df, tmp_path / "sub" / "feature_importance.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert mpimg.imread(path).shape[1] == 600  # 6 in at 100 dpi

    ours = {"article": {"f1": 0.95, "pages": 3}, "forum": {"f1": 0.8}}
    peer = {"article": 0.9, "forum": 0.85, "product": 0.7}
    path = plot_f1_vs_peer(ours, peer, "trafilatura", tmp_path / "f1_vs_peer.png")
    image = mpimg.imread(path)
    assert image.shape[0] == 350 and image.shape[1] >= 500


def test_f1_per_type_with_a_peer_and_the_oracle(tmp_path):
    import matplotlib.image as mpimg

    from linesift.plots import plot_f1_per_type

    series = {
        "linesift (CV)": {"article": {"f1": 0.93}, "forum": {"f1": 0.79}},
        "trafilatura (same pages)": {"article": 0.92, "forum": 0.70, "listing": 0.57},
        "oracle": {"article": 0.98, "forum": 0.9, "listing": 0.9},
    }
    path = plot_f1_per_type(series, tmp_path / "f1.png")
    assert mpimg.imread(path).shape[0] == 350
