"""The page-type model: what a page declares about itself, its inputs, and the model."""

from __future__ import annotations

import numpy as np
import pytest

from linesift.features import (
    CONTEXT_COLUMNS,
    PAGE_TYPE_INPUTS,
    featurize_columns,
    line_columns,
    page_type_inputs,
)
from linesift.modeling.page_type import fit_page_type, page_type_probabilities
from linesift.segment import page_meta, segment_html, segment_text

PRODUCT_PAGE = """<html><head><title>Oak desk - Shop</title>
<meta content="product" property="og:type">
<link rel="canonical" href="https://shop.example.com/products/oak-desk-120-cm?ref=x">
<script type="application/ld+json">{"@context": "https://schema.org", "@type": ["Product"],
 "offers": {"@type": "Offer", "price": "199"}}</script></head>
<body><nav><a href="/">Home</a> <a href="/desks">Desks</a></nav>
<div itemscope itemtype="https://schema.org/BreadcrumbList"><a href="/">Home</a></div>
<h1>Oak desk</h1><p>A solid oak desk with a drawer, 120 cm wide, oiled by hand.</p>
</body></html>"""

ARTICLE_PAGE = """<html><head><meta property="og:type" content="article">
<meta property="og:url" content="https://news.example.org/2025/03/city-council-votes"></head>
<body><h1>City council votes</h1><p>The city council voted on Tuesday to widen the bridge,
after two years of debate about its cost and the traffic it would bring.</p></body></html>"""


def test_page_meta_reads_open_graph_schema_types_and_the_canonical_path():
    assert page_meta(PRODUCT_PAGE) == (
        "og:product ld:breadcrumblist ld:offer ld:product path:/products/oak-desk-120-cm"
    )
    assert page_meta(ARTICLE_PAGE) == "og:article path:/2025/03/city-council-votes"
    # a page that declares nothing; og:type in the body is not the page's
    assert page_meta("<p>og:type <b>plain</b></p>") == ""


def test_segmented_lines_carry_the_page_meta_and_text_pages_none():
    lines = segment_html(PRODUCT_PAGE)
    assert set(lines.columns()["page_meta"]) == {page_meta(PRODUCT_PAGE)}
    assert segment_text("one\ntwo").columns()["page_meta"] == ["", ""]


def _inputs(*pages: str) -> dict[str, np.ndarray]:
    columns = line_columns([segment_html(p) for p in pages])
    X = featurize_columns(columns, "html")
    context = {name: columns[name] for name in CONTEXT_COLUMNS["html"]}
    rows = page_type_inputs(X, context, columns["page"])
    assert rows.shape == (len(pages), len(PAGE_TYPE_INPUTS))
    return dict(zip(PAGE_TYPE_INPUTS, rows.T, strict=True))


def test_page_type_inputs_one_row_per_page():
    got = _inputs(PRODUCT_PAGE, ARTICLE_PAGE)
    assert got["og_product"].tolist() == [1.0, 0.0]
    assert got["og_article"].tolist() == [0.0, 1.0]
    assert got["schema_product"].tolist() == [1.0, 0.0]
    assert got["schema_breadcrumb"].tolist() == [1.0, 0.0]
    assert got["url_product"].tolist() == [1.0, 0.0]
    assert got["url_blog"].tolist() == [0.0, 1.0]  # a year in the path
    assert got["url_depth"].tolist() == [2.0, 3.0]
    assert got["url_slug_words"].tolist() == [4.0, 3.0]
    # the product page's nav words are a share of its words; the article has no nav
    assert 0 < got["mean_ctx_nav"][0] < 0.5
    assert got["mean_ctx_nav"][1] == 0.0
    # each page's row is what it gets alone
    alone = _inputs(ARTICLE_PAGE)
    for name in PAGE_TYPE_INPUTS:
        assert alone[name][0] == pytest.approx(got[name][1], nan_ok=True), name


def test_the_page_type_model_matches_scikit_learn_and_refuses_other_inputs():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    n = 300
    types = rng.choice(["article", "forum", "product"], size=n)
    X = rng.normal(size=(n, len(PAGE_TYPE_INPUTS)))
    X[:, 0] += (types == "product") * 3.0  # og_product
    X[:, 1] -= (types == "forum") * 3.0
    X[5, 3] = np.nan  # a missing input is the training mean
    model = fit_page_type(X, types, C=0.5, seed=0)
    assert model["classes"] == ["article", "forum", "product"]
    prob = page_type_probabilities(model, X)
    assert prob.shape == (n, 3)
    assert np.allclose(prob.sum(axis=1), 1.0)
    assert (np.array(model["classes"])[prob.argmax(axis=1)] == types).mean() > 0.8
    mean, std = np.nanmean(X, axis=0), np.nanstd(X, axis=0)
    Z = np.nan_to_num((X - mean) / std)
    reference = LogisticRegression(C=0.5, max_iter=5000).fit(Z, types)
    assert np.allclose(prob, reference.predict_proba(Z), atol=1e-6)
    with pytest.raises(ValueError, match="other inputs"):
        page_type_probabilities(model | {"inputs": ["og_article"]}, X)


@pytest.mark.parametrize(
    ("data", "needle", "end", "limit", "ends"),
    [
        (b"a itemtype b itemtype c", b"itemtype", 100, -1, [10, 21]),
        (b"a itemtype b itemtype c", b"itemtype", 100, 1, [10]),
        (b"a itemtype b itemtype c", b"itemtype", 20, -1, [10]),  # the second ends past 20
        (b"aaaaa", b"aa", 5, -1, [2, 4]),  # occurrences do not overlap
        (b"", b"x", 0, -1, []),
        (b"<head></head><p>", b"</head", 16, 1, [12]),
    ],
)
def test_compiled_needle_scan_equals_the_python_one(data, needle, end, limit, ends):
    from linesift import segment

    assert segment._needle_ends(data, needle, end, limit) == ends
    if segment._cwalk is None:
        pytest.skip("compiled walk not built")
    assert segment._cwalk.needle_ends(data, needle, end, limit) == ends
