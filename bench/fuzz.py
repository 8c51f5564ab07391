"""Fuzz the extractor: generated and mutated pages through ``Extractor.extract_many``.

    python bench/fuzz.py [--n 1200] [--seed 0] [--batch-size 64]

Inputs (deterministic for a seed): random tag soup, real WCXB pages with random mutations
(truncation, byte flips, deleted/duplicated/inserted spans, decoded like a file), random bytes
decoded like a file, random Unicode text as a text page, and structural extremes (deep
nesting, unclosed raw-text elements, huge lines, JSON-LD garbage).

A *crash* is an exception escaping ``extract_many``, a missing or extra result, a result with
``error`` set (these inputs are all legal pages: none may fail), or a probability outside
[0, 1]. Prints the counts; exits 1 when there is any crash.
"""

from __future__ import annotations

import argparse
import gzip
import math
import random
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable

from linesift import config
from linesift.dataset import Page, decode_bytes
from linesift.modeling.predict import Extractor, guess_format

SOUP = [
    "<html>", "</html>", "<head>", "</head>", "<body>", "</body>", "<title>", "</title>",
    "<div>", "</div>", "<p>", "</p>", "<a href='/x'>", "</a>", "<br>", "<b>", "</b>", "<i>",
    "<script>", "</script>", "<style>", "</style>", "<noscript>", "</noscript>", "<table>",
    "<tr>", "<td>", "</td>", "<ul>", "<li>", "</li>", "<nav class='menu'>", "</nav>",
    "<span hidden>", "</span>", "<svg>", "</svg>", "<textarea>", "<object>", "<select>",
    "<option>", "<template>", "<iframe>", "<xmp>", "<plaintext>", "<!--", "-->",
    "<!DOCTYPE html>", "<?xml version='1.0' encoding='utf-8'?>", "<![CDATA[", "]]>", "<", ">",
    "</", "/>", "&amp;", "&#0;", "&#x110000;", "&bogus;", '"', "'", "=", " ", "\n", "\x00",
    "\x0b", "\ufeff", "text", "Word ", "A sentence of page text. ", "日本語", "مرحبا", "🙂",
    '<script type="application/ld+json">{"articleBody": "',
    'A long enough article body in JSON-LD for a structured line."}',
    '<script id="__NEXT_DATA__">{"props": [',
]  # fmt: skip


def tag_soup(rng: random.Random, _pages: list[bytes]) -> tuple[str, str | None]:
    return "".join(rng.choice(SOUP) for _ in range(rng.randrange(0, 200))), None


def mutated_page(rng: random.Random, pages: list[bytes]) -> tuple[str, str | None]:
    page = bytearray(rng.choice(pages))
    for _ in range(rng.randrange(1, 8)):
        if not page:
            break
        i = rng.randrange(len(page))
        j = min(len(page), i + rng.randrange(1, 20_000))
        op = rng.choice(("truncate", "flip", "delete", "duplicate", "insert", "shuffle"))
        if op == "truncate":
            del page[i:]
        elif op == "flip":
            for k in range(i, min(len(page), i + rng.randrange(1, 64))):
                page[k] = rng.randrange(256)
        elif op == "delete":
            del page[i:j]
        elif op == "duplicate":
            page[i:i] = page[i:j]
        elif op == "insert":
            page[i:i] = "".join(rng.choice(SOUP) for _ in range(20)).encode("utf-8")
        else:  # swap two spans
            a, b = bytes(page[i:j]), bytes(page[: j - i])
            page[i:j], page[: j - i] = b, a
    return decode_bytes(bytes(page)), None


def random_bytes(rng: random.Random, _pages: list[bytes]) -> tuple[str, str | None]:
    return decode_bytes(rng.randbytes(rng.randrange(0, 5000))), None


def random_text(rng: random.Random, _pages: list[bytes]) -> tuple[str, str | None]:
    alphabet = "abc XYZ.,!?\n\t\r日本語中文한국어\u200b\u2028\ufeff\x00é🙂<>&;"
    n = rng.randrange(0, 3000)
    return "".join(rng.choice(alphabet) for _ in range(n)), "text"


def extremes(rng: random.Random, _pages: list[bytes]) -> tuple[str, str | None]:
    kind = rng.randrange(7)
    n = rng.randrange(1, 6000)
    if kind == 0:  # deep nesting, closed or not
        tag = rng.choice(["div", "span", "b", "li", "table", "font"])
        close = f"</{tag}>" * n if rng.random() < 0.5 else ""
        return f"<html><body>{f'<{tag}>' * n}<p>Deep text.</p>{close}<p>After.</p>", None
    if kind == 1:  # unclosed raw-text element
        tag = rng.choice(["title", "script", "style", "textarea", "iframe", "noembed", "xmp"])
        return f"<html><head><{tag}>x<body><p>Swallowed text.</p></body></html>", None
    if kind == 2:  # one huge line
        return "<p>" + "word " * (n * 50) + "</p>", None
    if kind == 3:  # many tiny lines
        return "<br>".join("x" for _ in range(n * 5)), None
    if kind == 4:  # JSON-LD garbage
        body = rng.choice(['{"articleBody": ' * n, "[" * n, '{"text": "' + "a b " * n + '"}'])
        return f'<script type="application/ld+json">{body}</script><p>Visible.</p>', None
    if kind == 5:  # many </html> and stray end tags
        return "".join(
            rng.choice(["</html>", "</body>", "<p>t</p>", "</div>"]) for _ in range(n)
        ), None
    return "<table>" + "<tr><td>cell" * n, None  # never-closed cells


GENERATORS: dict[str, Callable[[random.Random, list[bytes]], tuple[str, str | None]]] = {
    "tag_soup": tag_soup,
    "mutated_page": mutated_page,
    "random_bytes": random_bytes,
    "random_text": random_text,
    "extremes": extremes,
}
WEIGHTS = {"tag_soup": 3, "mutated_page": 4, "random_bytes": 1, "random_text": 1, "extremes": 1}


def load_seed_pages(limit: int = 40) -> list[bytes]:
    files = sorted((config.WCXB_DIR / "html").glob("*.html.gz"))[::37][:limit]
    return [gzip.decompress(f.read_bytes()) for f in files]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1200, help="number of inputs (default 1200)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    seeds = load_seed_pages()
    names = list(GENERATORS)
    weights = [WEIGHTS[n] for n in names]
    pages: list[Page] = []
    origin: dict[str, str] = {}
    for i in range(args.n):
        gen = rng.choices(names, weights)[0]
        source, fmt = GENERATORS[gen](rng, seeds)
        page_id = f"{gen}/{i}"
        origin[page_id] = gen
        pages.append(Page(id=page_id, source=source, format=fmt or guess_format(source)))

    extractor = Extractor()
    crashes: list[str] = []
    results = {}
    start = time.perf_counter()
    for lo in range(0, len(pages), args.batch_size):
        batch = pages[lo : lo + args.batch_size]
        try:
            out = list(extractor.extract_many(batch, batch_size=args.batch_size))
        except Exception:
            crashes.append(f"batch {lo}: exception escaped extract_many\n{traceback.format_exc()}")
            continue
        if [r.id for r in out] != [p.id for p in batch]:
            crashes.append(f"batch {lo}: results do not match the pages")
        for r in out:
            results[r.id] = r
            if r.error:
                crashes.append(f"{r.id}: error {r.error}")
            bad = [x.probability for x in r.lines if not 0 <= x.probability <= 1]
            if bad or any(math.isnan(x.probability) for x in r.lines):
                crashes.append(f"{r.id}: probabilities outside [0, 1]: {bad[:3]}")
    elapsed = time.perf_counter() - start

    by_gen = Counter(origin.values())
    lines = sum(len(r.lines) for r in results.values())
    chars = sum(len(p.source) for p in pages)
    print(f"inputs: {len(pages)} ({', '.join(f'{k} {v}' for k, v in sorted(by_gen.items()))})")
    print(f"input size: {chars / 1e6:.1f} M characters; lines extracted: {lines}")
    print(f"results: {len(results)}; with content lines: "
          f"{sum(1 for r in results.values() if r.text)}")  # fmt: skip
    print(f"time: {elapsed:.1f} s ({len(pages) / elapsed:.0f} pages/s)")
    print(f"crashes: {len(crashes)}")
    for c in crashes[:20]:
        print("  " + c.replace("\n", "\n  "))
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
