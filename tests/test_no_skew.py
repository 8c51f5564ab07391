"""No train/serve skew: the features the training pipeline builds (prepare -> featurize_lines)
and the ones `Extractor` builds at inference give the same probabilities for the same pages."""

from __future__ import annotations

import numpy as np

from linesift.features import CONTEXT_COLUMNS, featurize_lines
from linesift.modeling.predict import Extractor
from linesift.modeling.stack import line_probabilities


def test_training_features_and_extractor_agree(prepared, wcxb_pages):
    _, lines = prepared
    extractor = Extractor()
    model = extractor.model("html")
    for page in wcxb_pages[:6]:
        page_lines = lines[(lines.page_id == page.id) & (lines.view == "html")]
        table = featurize_lines(page_lines, "html")
        assert model.stack_estimator is not None  # the shipped model has both stages
        page_codes = np.zeros(len(table), dtype=int)
        context = table[list(CONTEXT_COLUMNS["html"])]
        training_path = line_probabilities(
            model, table, page_codes, context, page_lines["text"].tolist()
        )
        served = extractor.predict_lines(page.source, format="html")
        assert [line.text for line in served] == page_lines["text"].tolist()
        np.testing.assert_allclose([line.probability for line in served], training_path, atol=1e-4)
