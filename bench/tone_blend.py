"""Tone toward the subject as score_item reads it: the news-trained tone model alone against the
blend that weighs it by the sentiment gate's news share (the rest: the posts reading of the
sentence), on news (held-out CFSC mentions, the 300 labelled headlines) and on posts (the 2,000
Weibo posts held out from training, the whole post as the clause: no subject is named there, so it
measures that the blend reads negative posts as the posts model does, not as neutral news).

    .venv/bin/python bench/tone_blend.py [--data ../shared/data/sentiment]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.analyze.score import NEGATIVE_CALL, news_share, sentiment_negative  # noqa: E402
from monitor.analyze.sentiment import load_model  # noqa: E402
from monitor.analyze.sentiment import read_labelled  # noqa: E402
from monitor.analyze.tone import Mention, load_tone_model  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
from train_sentiment import NEWS_CHECK, weibo_split  # noqa: E402


def scores(rows: list[tuple[bool, float]]) -> dict:
    tp = sum(1 for y, p in rows if y and p >= NEGATIVE_CALL)
    fp = sum(1 for y, p in rows if not y and p >= NEGATIVE_CALL)
    fn = sum(1 for y, p in rows if y and p < NEGATIVE_CALL)
    accuracy = sum(1 for y, p in rows if y == (p >= NEGATIVE_CALL)) / len(rows)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"n": len(rows), "accuracy": round(accuracy, 3), "neg_precision": round(precision, 3),
            "neg_recall": round(recall, 3), "neg_f1": round(f1, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "sentiment")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "tone-blend.json")
    args = parser.parse_args()
    model, tone = load_model(), load_tone_model()

    def both(text: str, start: int | None, end: int | None, context: str) -> tuple[float, float]:
        # No name (headlines, posts): the whole text is the clause, as bench/sentiment.py reads them.
        alone = tone.call(text, start, end).probability if start is not None else tone.probability(Mention.whole(text))
        news = news_share(model, text)
        return alone, news * alone + (1 - news) * sentiment_negative(model, context)

    sets: dict[str, list[tuple[bool, float, float]]] = {}
    cfsc = json.loads((ROOT / "tests/fixtures/analysis/cfsc_heldout_sample.json").read_text("utf-8"))
    sets["CFSC held-out sample (news, toward the term)"] = [
        (row["polarity"] == "negative", *both(row["sentence"], row["from"], row["to"], row["sentence"])) for row in cfsc
    ]
    sets["300 labelled headlines (news)"] = [(label == 0, *both(text, None, None, text))
                                             for label, text in read_labelled(NEWS_CHECK)]
    _train, held_out = weibo_split(args.data)
    sets["Weibo posts held out from training (posts)"] = [(label == 0, *both(text, None, None, text))
                                                          for label, text in held_out]
    report = {}
    for name, rows in sets.items():
        report[name] = {"tone model alone": scores([(y, a) for y, a, _ in rows]),
                        "blend by news share": scores([(y, b) for y, _, b in rows])}
        print(name, json.dumps(report[name], ensure_ascii=False))
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
