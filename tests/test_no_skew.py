"""No train/serve skew: the features the training pipeline builds (prepare -> featurize_lines)
and the ones `Extractor` builds at inference give the same probabilities for the same pages."""

from __future__ import annotations

import numpy as np

from linesift.features import featurize_lines
from linesift.modeling.predict import Extractor


def test_training_features_and_extractor_agree(prepared, wcxb_pages):
    _, lines = prepared
    extractor = Extractor()
    model = extractor.model("html")
    for page in wcxb_pages[:6]:
        page_lines = lines[(lines.page_id == page.id) & (lines.view == "html")]
        table = featurize_lines(page_lines, "html")
        training_path = model.estimator.predict_proba(table[model.features])[:, 1]
        served = extractor.predict_lines(page.source, format="html")
        assert [line.text for line in served] == page_lines["text"].tolist()
        np.testing.assert_allclose([line.probability for line in served], training_path, atol=1e-4)
