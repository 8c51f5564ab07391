"""The evaluate stage's comparison with the peers (their F1 on exactly the pages it scores)
and the bootstrap intervals of mean page F1."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from linesift import config
from linesift.evaluate import bootstrap_ci, peer_scores_on


def test_peer_scores_are_taken_on_the_same_pages(tmp_path):
    scores = pd.DataFrame(
        {
            "page_id": ["wcxb/1", "wcxb/2", "wcxb/3", "mine/1"],
            "page_type": ["article", "article", "forum", "forum"],
            "f1": [0.9, 0.8, 0.7, 1.0],
        }
    )
    peers = pd.DataFrame(
        {
            "extractor": ["trafilatura"] * 4 + ["resiliparse"],
            "page_id": ["wcxb/1", "wcxb/2", "wcxb/3", "wcxb/9", "wcxb/1"],
            "f1": [0.5, 0.7, None, 0.9, 0.4],  # None: the peer failed on that page
        }
    )
    path = tmp_path / "peers.csv.gz"
    peers.to_csv(path, index=False)
    out = peer_scores_on(scores, path)
    traf = out["trafilatura"]
    assert traf["pages"] == 3  # wcxb/9 is not scored here, mine/1 has no peer score
    assert traf["f1"] == pytest.approx((0.5 + 0.7 + 0.0) / 3)
    assert traf["linesift_f1"] == pytest.approx((0.9 + 0.8 + 0.7) / 3)
    assert traf["per_page_type"] == pytest.approx({"article": 0.6, "forum": 0.0})
    # paired gain per page: +0.4, +0.1, +0.7 -> every resample's mean lies in [0.1, 0.7]
    low, high = traf["gain_ci95"]
    assert 0.1 <= low < 0.4 < high <= 0.7
    assert out["resiliparse"]["pages"] == 1
    assert peer_scores_on(scores, tmp_path / "missing.csv.gz") == {}


def test_shipped_peer_scores_match_the_benchmark_table():
    """data/external/peer_scores.csv.gz is the per-page side of bench/results.json."""
    import json

    peers = pd.read_csv(config.PEER_SCORES_FILE)
    bench = json.loads((config.ROOT / "bench" / "results.json").read_text("utf-8"))
    wcxb = peers[peers.dataset == "wcxb"]
    assert wcxb.groupby("extractor").page_id.nunique().min() == 1497
    traf = wcxb[wcxb.extractor == "trafilatura"].f1.fillna(0).mean()
    reported = bench["extractors"]["trafilatura"]["accuracy"]["wcxb"]
    assert traf == pytest.approx(reported["f1"], abs=0.001)
    forum = wcxb[(wcxb.extractor == "trafilatura") & (wcxb.page_type == "forum")]
    assert forum.f1.fillna(0).mean() == pytest.approx(
        reported["f1_by_page_type"]["forum"]["f1"], abs=0.001
    )


def test_bootstrap_interval_of_the_mean():
    rng = np.random.default_rng(1)
    f1 = rng.uniform(0, 1, 1500)  # sd 0.289: standard error of the mean 0.0075
    low, high = bootstrap_ci(f1, resamples=2000, seed=0)
    assert low < f1.mean() < high
    assert high - low == pytest.approx(2 * 1.96 * f1.std() / np.sqrt(1500), rel=0.15)
    # 130 pages: wider by about sqrt(1500 / 130)
    small_low, small_high = bootstrap_ci(f1[:130], resamples=2000, seed=0)
    assert (small_high - small_low) / (high - low) == pytest.approx(3.4, rel=0.25)
    assert bootstrap_ci(f1, resamples=500, seed=3) == bootstrap_ci(f1, resamples=500, seed=3)
    assert bootstrap_ci(np.full(10, 0.5)) == [0.5, 0.5]
    assert np.isnan(bootstrap_ci([])).all()
