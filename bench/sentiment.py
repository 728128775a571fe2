"""Sentiment models side by side: snownlp's default (the baseline) against the shipped model.

    .venv/bin/pip install -e '.[train,snownlp]'
    .venv/bin/python bench/sentiment.py --data ../shared/data/sentiment --out bench/results/sentiment.json

In-domain: the 2,000 held-out Weibo posts (the split scripts/train_sentiment.py never trains or
tunes on). Cross-domain: ChnSentiCorp's test split (hotel/product reviews; snownlp's own training
text overlaps it, so its score there is flattering) and 2,000 food-delivery reviews (waimai_10k,
a fixed sample); both are held out from the review expert's training data too. News: 300 THUCNews
headlines we labelled (tests/fixtures/analysis/README.md), never trained on. Each model at its own
decision threshold; speed measured on the same texts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from monitor.analyze.sentiment import evaluate, load_model, read_labelled  # noqa: E402
from train_sentiment import NEWS_CHECK, review_sets, weibo_split  # noqa: E402


def datasets(data: Path) -> dict[str, list[tuple[int, str]]]:
    _train, held_out = weibo_split(data)
    _reviews, review_held_out = review_sets(data)
    news = read_labelled(NEWS_CHECK)
    return {"weibo held-out (in-domain)": held_out, **review_held_out, "news headlines (hand-labelled)": news}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "sentiment")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--models", default="snownlp,fenghuo-general")
    args = parser.parse_args()
    sets = datasets(args.data)
    results = []
    for name in args.models.split(","):
        started = time.perf_counter()
        model = load_model(name)
        load_seconds = time.perf_counter() - started
        for set_name, rows in sets.items():
            started = time.perf_counter()
            result = evaluate(model, rows)
            seconds = time.perf_counter() - started
            row = {
                "model": name, "data": set_name, "n": result.total,
                "accuracy": round(result.accuracy, 4),
                "negative_precision": round(result.negative_precision, 4),
                "negative_recall": round(result.negative_recall, 4),
                "negative_f1": round(result.negative_f1, 4),
                "docs_per_s": round(result.total / seconds, 1),
                "load_seconds": round(load_seconds, 2),
            }
            print(json.dumps(row, ensure_ascii=False), flush=True)
            results.append(row)
    if args.out:
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
