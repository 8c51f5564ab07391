"""Score `linesift extract` outputs against the WCXB gold: the no-train/serve-skew check.

    linesift extract data/raw/wcxb/html -o /tmp/wcxb-out --workers 2
    python bench/extract_f1.py /tmp/wcxb-out

prints the number of outputs and their mean word F1, next to what the evaluate stage reports
for the shipped html model on the same (training) pages (metrics/metrics.json,
``html_shipped_model_train_f1``): the two must agree.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from linesift import config
from linesift.scoring import word_f1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outputs", type=Path, help="the -o directory of linesift extract")
    args = parser.parse_args(argv)
    scores = []
    missing = []
    for truth_path in sorted((config.WCXB_DIR / "ground-truth").glob("*.json")):
        file_id = truth_path.stem
        out = args.outputs / f"{file_id}.txt"
        if not out.exists():
            missing.append(file_id)
            continue
        gold = json.loads(truth_path.read_text("utf-8"))["ground_truth"].get("main_content")
        scores.append(word_f1(out.read_text("utf-8"), gold or ""))
    mean = sum(scores) / max(len(scores), 1)
    reported = json.loads((config.METRICS_DIR / "metrics.json").read_text("utf-8"))
    expected = reported.get("html_shipped_model_train_f1")
    print(f"outputs: {len(scores)}, missing: {len(missing)}")
    print(f"mean word F1 of linesift extract outputs: {mean:.4f}")
    print(f"evaluate stage, shipped html model on the same pages: {expected}")
    return 0 if not missing and expected is not None and abs(mean - expected) < 0.002 else 1


if __name__ == "__main__":
    sys.exit(main())
