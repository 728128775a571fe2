"""Same story, different words: the second link between items, for paraphrases.

MinHash (cluster.py) joins reprints: texts that share most of their character shingles. A forum
post that breaks a story and the news report of it share 2–5% of their shingles, so they need
another link. Two items tell the same story when they name the same watched subject (a keyword
group hit) and report the same happening: here, the TF-IDF cosine of their character bigrams, after
the subject's own names are taken out (every story about the subject shares those), with the
incident's numbers ("3死12伤", "12.8万"), place and kind of harm as further signals.

The decision has a margin rather than one threshold: at or above `high` the text alone links; between
`low` and `high` a second signal must agree (a count in common; in the upper part of the band also
the same place; or the same kind of harm while the story is fresh), and two different places never
link. Below `low` the incident link decides, for wordings that share almost nothing: the same kind
of harm (INCIDENT_WORDS: "炸了" is "爆炸") at the same place or with the same count within
`incident_window` of the story's last item, or with some wording (`incident_floor`) within
`close_in_time` — a first-hand post hours before the report. Closeness in time alone is not a signal:
one subject has several stories at once, and their texts can be close. Weights use the index's own
document frequencies, so a phrase every incident story uses ("事故原因正在调查") weighs little once
the index has seen many.

Lookup is an inverted index keyed by (subject, bigram), of the item's most telling bigrams only,
with each posting list capped to the most recent items: its cost does not grow with the index.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from monitor.analyze.text import normalise
from monitor.events.cluster import GONE, Multimap, Rows

KEY_CHARS = 400  # the title and the lead carry the happening; a long tail adds other stories' words
QUERY_TOKENS = 48  # the item's highest-weighted bigrams used to find candidates
POSTINGS = 64  # most recent items kept per (subject, bigram)
KEPT_TOKENS = 64  # bigrams an indexed item keeps: its most telling, enough for the cosine
POSTED_TOKENS = 16  # of which posted in the inverted index
CANDIDATES = 16  # items whose exact cosine is computed
_DROP = re.compile(r"[\s\W_]+", re.UNICODE)
_CN_DIGITS = {c: str(n) for n, c in enumerate("零一二三四五六七八九")} | {"两": "2", "十": "10"}
_CN_NUMBER = re.compile(r"([零一二两三四五六七八九十]{1,3})(?=[名人个辆户死伤栋])")
_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*([名人个辆户死伤栋万亿元吨岁%])")
# Where it happened: a name before a place word (河西片区, 南港厂区, 人民路, 北湖分厂). The two
# characters before the place word are kept, which is what the various wordings share.
_PLACE = re.compile(r"([\u4e00-\u9fff]{2})(?:片区|小区|厂区|分厂|开发区|区|路|大道|街道|村|镇|枢纽|花园)")
_NOT_PLACE = {"附近", "周边", "城区", "社区", "地区", "园区", "全区", "辖区", "该区", "本区", "高速", "公路", "道路", "马路"}
_NOT_IN_PLACE = set("的了在到把被人上下是有这那我他她们个多一和与从就都也还让给向对为")
# What happened, in the words a report uses and the words a first-hand post uses ("爆炸" and "炸了",
# "火灾" and "着火", "死亡" and "人没了"): the kinds of harm the news risk lexicon lists
# (monitor/analyze/models/tone/news_risk_lexicon.txt: 事故 爆炸 火灾 坍塌 伤亡 泄漏 污染 中毒 欠薪 ...),
# each with its colloquial forms. A post and the report of one incident share the kind when they
# share almost no wording, which is what the incident link below needs. A word may stand under
# two kinds.
INCIDENT_WORDS: dict[str, tuple[str, ...]] = {
    "explosion": ("爆炸", "爆燃", "闪爆", "炸了", "炸开", "炸飞", "巨响"),
    "fire": ("火灾", "起火", "着火", "失火", "大火", "火势", "烧起来", "烧着", "烧伤", "烧毁"),
    "leak": ("泄漏", "泄露", "漏气", "毒气", "有毒气体", "氯气", "刺鼻"),
    "poisoning": ("中毒", "窒息", "投毒"),
    "collapse": ("坍塌", "倒塌", "垮塌", "溃坝", "塌方", "塌了", "垮了", "压垮", "冲塌"),
    "crash": ("相撞", "撞上", "撞了", "追尾", "碰撞", "侧翻", "车祸", "翻车", "连环撞"),
    "death": ("死亡", "身亡", "遇难", "丧生", "罹难", "去世", "砸死", "压死", "撞死", "人没了", "不行了"),
    "violence": ("殴打", "打人", "被打", "围殴", "砍伤", "持刀", "钢管", "打砸", "踢伤"),
    "wages": ("欠薪", "讨薪", "拖欠", "工钱", "欠款", "讨要"),
    "pollution": ("污染", "偷排", "废气", "排污", "异味", "刺鼻", "冒烟", "熏"),
    "outage": ("停水", "断水", "停电", "停气", "断电"),
    "water_quality": ("发黄", "水质", "浑浊", "黄泥水"),
    "medical": ("医疗事故", "误诊", "抢救无效", "术后", "手术"),
}
_INCIDENT = re.compile("|".join(sorted({w for ws in INCIDENT_WORDS.values() for w in ws}, key=len, reverse=True)))
_INCIDENT_KINDS: dict[str, set[str]] = {}
for _kind, _words in INCIDENT_WORDS.items():
    for _word in _words:  # a word can say two kinds: a gas leak and a polluting plant both smell 刺鼻
        _INCIDENT_KINDS.setdefault(_word, set()).add(_kind)


def _cn_to_digits(match: re.Match) -> str:
    word = match.group(1)
    if word == "十":
        return "10"
    if word.startswith("十"):
        return "1" + _CN_DIGITS.get(word[1:], "0")
    if word.endswith("十"):
        return _CN_DIGITS.get(word[0], "") + "0"
    if "十" in word:
        head, tail = word.split("十", 1)
        return _CN_DIGITS.get(head, "") + _CN_DIGITS.get(tail, "")
    return "".join(_CN_DIGITS.get(c, c) for c in word)


def numbers(text: str) -> frozenset[str]:
    """The incident's counts and sums: "3名" and "三名" both give "3名"; "死"/"人" are kept apart
    from "万"/"元" so a death toll never matches a sum of money."""
    digits = _CN_NUMBER.sub(_cn_to_digits, text)
    found = set()
    for value, unit in _NUMBER.findall(digits):
        kind = "n" if unit in "名人个死伤" else unit
        if value not in {"0", "1"}:  # "一名男子" says nothing about which story
            found.add(f"{value}{kind}")
    return frozenset(found)


def incidents(text: str) -> frozenset[str]:
    """The kinds of harm the text reports (INCIDENT_WORDS): "炸了" and "爆炸" both give explosion."""
    return frozenset(kind for word in _INCIDENT.findall(text) for kind in _INCIDENT_KINDS[word])


def places(text: str) -> frozenset[str]:
    return frozenset(
        p for p in _PLACE.findall(text) if p not in _NOT_PLACE and not _NOT_IN_PLACE.intersection(p)
    )


@dataclass(frozen=True)
class StoryDoc:
    subjects: frozenset[str]
    counts: dict[str, int]  # bigram -> occurrences
    numbers: frozenset[str]
    places: frozenset[str] = frozenset()
    incidents: frozenset[str] = frozenset()


def story_doc(title: str, text: str, subjects: frozenset[str] | set[str], subject_terms=()) -> StoryDoc:
    """What the story link compares: bigrams of the title and lead without the subject's names."""
    content = normalise(f"{title}。{text[:KEY_CHARS]}")
    for term in sorted(subject_terms, key=len, reverse=True):
        content = content.replace(normalise(term), "|")
    found = numbers(content)
    # a place named after the subject (星海花园 of 星海地产) is every story's place: not a signal
    names = [normalise(term) for term in subject_terms]
    where = frozenset(p for p in places(content) if not any(p in name for name in names))
    counts: Counter[str] = Counter()
    for chunk in _DROP.split(content.replace("|", " ")):
        counts.update(chunk[i : i + 2] for i in range(len(chunk) - 1))
    return StoryDoc(frozenset(subjects), dict(counts), found, where, incidents(content))


@dataclass(frozen=True)
class StoryMatch:
    event_id: int | None
    similarity: float  # TF-IDF cosine to the closest item of that event
    shared_numbers: tuple[str, ...]
    reasons: tuple[str, ...]
    shared_places: tuple[str, ...] = ()


NO_MATCH = StoryMatch(None, 0.0, (), ())


@dataclass
class StoryIndex:
    high: float = 0.23  # the text alone says same story
    low: float = 0.10  # with a second signal it does
    place_share: float = 0.5  # the same place is a second signal only this far up the band from low to high
    close_in_time: timedelta = timedelta(hours=12)  # a post this close to the story's last item ...
    window: timedelta = timedelta(hours=72)
    # The incident link, for wordings the text cannot join: the same kind of harm (INCIDENT_WORDS)
    # and the same place or count, while the story is fresh (a follow-up comes a day later).
    incident_window: timedelta = timedelta(hours=30)
    incident_floor: float = 0.08  # ... joins it on the same incident at this text cosine
    # A shared count (2人, 3死12伤) as a second signal: yes in the events stage, where the
    # subject's keyword hit already narrows the candidates to its own stories; not over the whole
    # intake (the hot stories), where "2 injured" is in many unrelated reports of a day and the
    # wrong links chain (a background headline, then two crash stories, through 2人). There only
    # a shared place or the same kind of harm while fresh still counts (bench/trending.py --origins).
    counts_link: bool = True

    def __post_init__(self) -> None:
        # One row per indexed item in numpy columns (no object per item): its most telling bigrams
        # and their TF-IDF weights over the norm of the whole item, its event and time.
        self._rows = Rows(tokens=(np.int32, (KEPT_TOKENS,)), weights=(np.float32, (KEPT_TOKENS,)),
                          kept=(np.int16, ()), event=(np.int64, ()), at=(np.float64, ()), item=(np.int64, ()))
        self._row_of: dict[int, int] = {}  # item -> row
        self._facts: dict[int, tuple] = {}  # row -> (numbers, places, incidents), only where any
        self._postings = Multimap()  # (subject, bigram) -> rows
        self._subjects: dict[str, int] = {}  # subject -> interned id
        self._ids: dict[str, int] = {}  # bigram -> interned id
        self._df = np.zeros(1024, dtype=np.float64)  # by bigram id
        self._docs = 0
        self._idf = np.full(1024, np.nan)
        self._idf_docs = 0
        self._dead = 0
        self._event_last: dict[int, float] = {}  # event -> its last item's time (seconds)
        self._event_facts: dict[int, tuple[set, set, set]] = {}  # every member's numbers, places, kinds

    def __len__(self) -> int:
        return len(self._row_of)

    def _weights(self, doc: StoryDoc) -> dict[int, float]:
        """Unit-length TF-IDF weights by interned bigram id, idf from the index as it is now
        (cached, and recomputed when the index has grown or shrunk by a tenth: idf moves slowly)."""
        if not 0.9 * self._idf_docs <= self._docs <= 1.1 * self._idf_docs + 10:
            self._idf[:] = np.nan
            self._idf_docs = self._docs
        ids = self._ids
        token_ids = []
        for token in doc.counts:
            token_id = ids.get(token)
            if token_id is None:
                token_id = ids[token] = len(ids)
            token_ids.append(token_id)
        if len(ids) > len(self._df):
            size = 2 * len(ids)
            self._df = np.concatenate([self._df, np.zeros(size - len(self._df))])
            self._idf = np.concatenate([self._idf, np.full(size - len(self._idf), np.nan)])
        ids_ = np.fromiter(token_ids, dtype=np.int64, count=len(token_ids))
        idf = self._idf[ids_]
        missing = np.isnan(idf)
        if missing.any():  # first use since the cache was cleared: from the document frequency now
            idf[missing] = np.log(1 + (self._idf_docs + 1) / (self._df[ids_[missing]] + 1))
            self._idf[ids_[missing]] = idf[missing]
        counts = np.fromiter(doc.counts.values(), dtype=np.float64, count=len(token_ids))
        weights = np.where(counts == 1, idf, (1 + np.log(counts)) * idf)
        norm = math.sqrt(float(weights @ weights)) or 1.0
        return dict(zip(token_ids, (weights / norm).tolist()))

    def add(self, item_id: int, event_id: int, at: datetime, doc: StoryDoc, weights: dict | None = None) -> None:
        if item_id in self._row_of or not doc.subjects:
            return
        weights = weights or self._weights(doc)
        kept = sorted(weights, key=weights.get, reverse=True)[:KEPT_TOKENS]
        tokens = np.full(KEPT_TOKENS, -1, dtype=np.int32)
        tokens[: len(kept)] = kept
        values = np.zeros(KEPT_TOKENS, dtype=np.float32)
        values[: len(kept)] = [weights[t] for t in kept]
        seconds = at.timestamp()
        row = self._rows.append(tokens=tokens, weights=values, kept=len(kept), event=event_id, at=seconds, item=item_id)
        self._row_of[item_id] = row
        if doc.numbers or doc.places or doc.incidents:
            self._facts[row] = (doc.numbers, doc.places, doc.incidents)
        self._docs += 1
        self._df[list(weights)] += 1
        self._note_event(event_id, seconds, self._facts.get(row))
        # Only the most telling bigrams are posted: a story's items share some of them.
        self._postings.add([self._key(subject, token) for token in kept[:POSTED_TOKENS] for subject in doc.subjects], row)

    def _note_event(self, event_id: int, seconds: float, facts: tuple | None) -> None:
        last = self._event_last.get(event_id)
        self._event_last[event_id] = seconds if last is None else max(last, seconds)
        if facts:
            known = self._event_facts.setdefault(event_id, (set(), set(), set()))
            for into, new in zip(known, facts):
                into.update(new)

    def _key(self, subject: str, token: int) -> int:
        subject_id = self._subjects.get(subject)
        if subject_id is None:
            subject_id = self._subjects[subject] = len(self._subjects)
        return subject_id << 24 | token

    def best_event(self, doc: StoryDoc, at: datetime) -> tuple[StoryMatch, dict]:
        """The best-linked event (or none), and the item's weights (to add it without recomputing)."""
        if not doc.subjects or not doc.counts:
            return NO_MATCH, {}
        query = self._weights(doc)
        telling = sorted(query, key=query.get, reverse=True)[:QUERY_TOKENS]
        keys = [self._key(subject, token) for token in telling for subject in doc.subjects]
        weights = np.array([query[token] for token in telling for _subject in doc.subjects])
        rows, which = self._postings.get(keys, last=POSTINGS)
        # the items sharing the most telling weight with the query; ties to the earliest indexed
        unique, inverse = np.unique(rows, return_inverse=True)
        partial = np.bincount(inverse, weights=weights[which], minlength=len(unique))
        order = np.lexsort((unique, -partial))[:CANDIDATES]
        columns, now, window = self._rows, at.timestamp(), self.window.total_seconds()
        candidates = []
        for row in unique[order].tolist():
            seen = columns.at[row]
            if columns.item[row] == GONE or abs(now - seen) > window:
                continue
            kept = int(columns.kept[row])
            similarity = sum(query.get(t, 0.0) * w for t, w in zip(columns.tokens[row, :kept].tolist(), columns.weights[row, :kept].tolist()))
            event_id = int(columns.event[row])
            since_last = timedelta(seconds=abs(now - self._event_last.get(event_id, seen)))
            candidates.append((similarity, event_id, since_last))
        best = NO_MATCH
        for similarity, event_id, since_last in candidates:
            if similarity <= best.similarity:
                continue
            event_numbers, event_places, event_incidents = self._event_facts.get(event_id, _NO_FACTS)
            shared = tuple(sorted(doc.numbers & event_numbers)) if self.counts_link else ()
            same_place = tuple(sorted(doc.places & event_places))
            elsewhere = bool(doc.places and event_places and not same_place)
            # the same place is a weaker second signal than a shared count (one plant can have an
            # award and a pollution story in a week): it counts only in the upper part of the band
            upper = similarity >= self.low + self.place_share * (self.high - self.low)
            kinds = tuple(sorted(doc.incidents & event_incidents))
            fresh = bool(kinds) and since_last <= self.incident_window
            if similarity >= self.high:
                reasons = (f"text cosine {similarity:.2f} ≥ {self.high:g}",)
            elif elsewhere:
                continue  # below `high` two places never link: two plants, two incidents
            elif similarity >= self.low and (shared or (upper and same_place) or fresh):
                if shared or same_place:
                    second = f"shared {'、'.join(shared + same_place)}"
                else:
                    second = f"same incident ({'、'.join(kinds)}) within {self.incident_window} of its last item"
                reasons = (f"text cosine {similarity:.2f} ≥ {self.low:g}", second)
            elif fresh and (shared or same_place):
                # the incident link: wording apart, the same harm at the same place or with the same count
                reasons = (f"same incident: {'、'.join(kinds)}", f"shared {'、'.join(shared + same_place)}",
                           f"within {self.incident_window} of its last item")
            elif kinds and similarity >= self.incident_floor and since_last <= self.close_in_time:
                # a first-hand post hours before the report: the same harm, some wording, close in time
                reasons = (f"same incident: {'、'.join(kinds)}", f"text cosine {similarity:.2f} ≥ {self.incident_floor:g}",
                           f"within {self.close_in_time} of its last item")
            else:
                continue
            best = StoryMatch(event_id, round(similarity, 3), shared, reasons, same_place)
        return best, query

    def relabel(self, events: dict[int, int]) -> None:
        """Re-point indexed items at other events (item → event), and recompute what the story
        link knows of each event concerned (its last item, numbers, places, kinds) from its items."""
        concerned = set()
        columns = self._rows
        for item_id, event_id in events.items():
            row = self._row_of.get(item_id)
            if row is not None and columns.event[row] != event_id:
                concerned.update((int(columns.event[row]), event_id))
                columns.event[row] = event_id
        if not concerned:
            return
        for event_id in concerned:
            self._event_last.pop(event_id, None)
            self._event_facts.pop(event_id, None)
        n = columns.n
        mine = np.isin(columns.event[:n], list(concerned)) & (columns.item[:n] != GONE)
        for row in np.flatnonzero(mine).tolist():  # merges and splits are rare
            self._note_event(int(columns.event[row]), float(columns.at[row]), self._facts.get(row))

    def forget_before(self, cutoff: datetime) -> int:
        columns, n = self._rows, self._rows.n
        old = np.flatnonzero((columns.at[:n] < cutoff.timestamp()) & (columns.item[:n] != GONE))
        for row in old.tolist():
            del self._row_of[int(columns.item[row])]
            self._facts.pop(row, None)
        columns.item[old] = GONE
        self._dead += len(old)
        # document frequencies age out with use: df is rescaled so idf follows the live index
        if len(old) and self._docs:
            self._df *= len(self._row_of) / self._docs
            self._df[self._df < 0.5] = 0
            self._docs = len(self._row_of)
        if self._dead > n // 4:  # compact: drop the rows gone from the columns and the postings
            alive = columns.item[:n] != GONE
            renumber = columns.keep(alive)
            self._postings.keep(np.append(alive, False), np.append(renumber, -1))
            self._facts = {int(renumber[row]): facts for row, facts in self._facts.items()}
            self._row_of = {int(item): row for row, item in enumerate(columns.item[: columns.n].tolist())}
            self._dead = 0
            self._prune_vocabulary()
        live = set(columns.event[: columns.n][columns.item[: columns.n] != GONE].tolist())
        self._event_last = {e: t for e, t in self._event_last.items() if e in live}
        self._event_facts = {e: f for e, f in self._event_facts.items() if e in live}
        return len(old)

    def _prune_vocabulary(self) -> None:
        """Forget the bigrams no item in the window has (document frequency 0 and in no row), and
        number the rest afresh: the vocabulary follows the window instead of keeping every bigram
        ever read (+16 MB over 8 h of hot stories over the whole intake), and the ids stay below
        the 2^24 a posting key leaves them."""
        size = len(self._ids)
        columns, n = self._rows, self._rows.n
        tokens = columns.tokens[:n]
        used = self._df[:size] > 0
        used[tokens[tokens >= 0]] = True
        kept = int(used.sum())
        if kept > 0.75 * size:  # little to gain: renumbering costs a pass over every row
            return
        remap = np.full(size, -1, dtype=np.int64)
        remap[used] = np.arange(kept)
        self._ids = {bigram: int(remap[i]) for bigram, i in self._ids.items() if used[i]}
        present = tokens >= 0
        tokens[present] = remap[tokens[present]]
        df, idf = np.zeros(max(1024, 2 * kept), dtype=np.float64), np.full(max(1024, 2 * kept), np.nan)
        df[:kept], idf[:kept] = self._df[:size][used], self._idf[:size][used]  # the idf cache as it was
        self._df, self._idf = df, idf
        low = np.uint64((1 << 24) - 1)
        self._postings.rekey(lambda keys: (keys & ~low) | remap[(keys & low).astype(np.int64)].astype(np.uint64))

    def nbytes(self) -> int:
        """Bytes held by the arrays (the per-item part; the bigram vocabulary and per-event facts
        come on top), for the benchmark."""
        return self._rows.nbytes() + self._postings.nbytes() + self._df.nbytes + self._idf.nbytes


_NO_FACTS: tuple[frozenset, frozenset, frozenset] = (frozenset(), frozenset(), frozenset())


# A story document, or a function that builds it once asked (pass a cached one: functools.cache)
LazyDoc = StoryDoc | None | Callable[[], StoryDoc | None]


def _built(doc):
    """A story document given as itself, or as the function that builds it."""
    return doc() if callable(doc) else doc


@dataclass(frozen=True)
class Match:
    """Which event an item joins, by which link, and why (for the log)."""

    event_id: int | None
    link: str  # reprint | story | both | "" (none: the item opens an event)
    similarity: float  # estimated Jaccard for a reprint, else the text cosine
    reasons: tuple[str, ...] = ()
    reprint_of: int | None = None  # the indexed item it near-duplicates (reprint links)


@dataclass
class Grouper:
    """Reprints by MinHash, paraphrases by the story link; reopening a closed event needs more.

    An open event takes an item on either link. A closed event reopens only when the evidence
    does not hang on one number: the reprint similarity clears its threshold by `margin`, or both
    links point at it, or the story link clears its own threshold by `margin` or holds with a
    shared number or place. A follow-up whose similarity sits exactly on the threshold is then
    decided by the second signal, not by rounding.
    """

    threshold: float = 0.5
    window: timedelta = timedelta(hours=72)
    margin: float = 0.1
    stories: StoryIndex = field(default_factory=StoryIndex)
    closed: set[int] = field(default_factory=set)
    reprints: object = field(init=False)
    last_weights: dict | None = field(default=None, init=False)  # of the last item matched
    _last_was_reprint: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        from monitor.events.cluster import Clusterer

        self.reprints = Clusterer(threshold=self.threshold, window=self.window)
        self.stories.window = self.window

    def __len__(self) -> int:
        return len(self.reprints)

    def add(self, item_id: int, event_id: int, at: datetime, minhash, doc: LazyDoc, weights=None) -> None:
        """Index an item. After `match`, pass `last_weights`: None there means it was a reprint of an
        open event, which the story index does not need (its original is there, in the same words)."""
        self.reprints.add(item_id, event_id, at, minhash)
        if not (weights is None and self._last_was_reprint):
            doc = _built(doc)
            if doc is not None:
                self.stories.add(item_id, event_id, at, doc, weights)
        self._last_was_reprint = False

    def match(self, minhash, doc: LazyDoc, at: datetime) -> Match:
        """`doc` may be a function that builds the story document: a reprint of an open story is
        decided by MinHash alone and never needs one (building it is most of a reprint's cost)."""
        # near misses down to threshold - margin: a closed event's two-link test needs them
        reprint_event, jaccard, original = self.reprints.best(minhash, at, floor=self.threshold - self.margin)
        if reprint_event is not None and reprint_event not in self.closed and jaccard >= self.threshold:
            # a reprint of an open story: the story link has nothing to add, and skipping it is
            # half the cost of a reprint (most items in a big story are reprints)
            self.last_weights, self._last_was_reprint = None, True
            return Match(reprint_event, "reprint", round(jaccard, 3),
                         (f"reprint similarity {jaccard:.2f} ≥ {self.threshold:g}",), original)
        doc = _built(doc)
        story, self.last_weights = self.stories.best_event(doc, at) if doc is not None else (NO_MATCH, None)
        self._last_was_reprint = False
        if story.event_id is not None and story.event_id not in self.closed:
            return Match(story.event_id, "story", story.similarity, story.reasons)
        # a closed event: two signals, or one clearing its threshold by the margin
        if reprint_event is not None and reprint_event in self.closed:
            if jaccard >= self.threshold + self.margin:
                return Match(reprint_event, "reprint", round(jaccard, 3),
                             (f"reprint similarity {jaccard:.2f} ≥ {self.threshold:g} + margin {self.margin:g}",),
                             original)
            if story.event_id == reprint_event:
                return Match(reprint_event, "both", round(jaccard, 3),
                             (f"reprint similarity {jaccard:.2f} ≥ {self.threshold - self.margin:g}", *story.reasons),
                             original)
        if story.event_id is not None and story.similarity >= self.stories.high:
            if story.shared_numbers or story.shared_places:
                second = f"shared {'、'.join(story.shared_numbers + story.shared_places)}"
                return Match(story.event_id, "story", story.similarity, (*story.reasons[:1], second))
            if story.similarity >= self.stories.high + self.margin:
                return Match(story.event_id, "story", story.similarity,
                             (f"text cosine {story.similarity:.2f} ≥ {self.stories.high:g} + margin {self.margin:g}",))
        return Match(None, "", 0.0)

    def relabel(self, events: dict[int, int]) -> None:
        """Items moved between events by hand (item → event): both indexes follow, so the next
        reprint or retelling of a moved item joins the event it is in now."""
        self.reprints.relabel(events)
        self.stories.relabel(events)

    def forget_before(self, cutoff: datetime) -> int:
        self.stories.forget_before(cutoff)
        return self.reprints.forget_before(cutoff)
