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
from array import array
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.analyze.text import normalise

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
class _Entry:
    __slots__ = ("event_id", "at", "tokens", "weights", "numbers", "places", "incidents")
    event_id: int
    at: datetime
    tokens: tuple[int, ...]  # the item's most telling bigrams (interned ids)
    weights: array  # their TF-IDF weights, over the norm of the whole item
    numbers: frozenset[str]
    places: frozenset[str]  # kept to recompute the event's when items move (merge, split)
    incidents: frozenset[str]


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
    _entries: dict[int, _Entry] = field(default_factory=dict)
    _postings: dict[int, list[int] | int] = field(default_factory=dict)  # (subject, bigram) -> items
    _subjects: dict[str, int] = field(default_factory=dict)  # subject -> interned id
    _ids: dict[str, int] = field(default_factory=dict)  # bigram -> interned id
    _df: Counter = field(default_factory=Counter)
    _docs: int = 0
    _idf: dict[int, float] = field(default_factory=dict)
    _idf_docs: int = 0
    _event_last: dict[int, datetime] = field(default_factory=dict)
    _event_numbers: dict[int, set[str]] = field(default_factory=dict)  # every member's numbers
    _event_places: dict[int, set[str]] = field(default_factory=dict)  # and places
    _event_incidents: dict[int, set[str]] = field(default_factory=dict)  # and kinds of harm

    def __len__(self) -> int:
        return len(self._entries)

    def _weights(self, doc: StoryDoc) -> dict[int, float]:
        """Unit-length TF-IDF weights by interned bigram id, idf from the index as it is now
        (cached, and recomputed when the index has grown or shrunk by a tenth: idf moves slowly)."""
        if not 0.9 * self._idf_docs <= self._docs <= 1.1 * self._idf_docs + 10:
            self._idf.clear()
            self._idf_docs = self._docs
        docs, df, ids, cache = self._idf_docs + 1, self._df, self._ids, self._idf
        weights = {}
        for token, count in doc.counts.items():
            token_id = ids.get(token)
            if token_id is None:
                token_id = ids[token] = len(ids)
            idf = cache.get(token_id)
            if idf is None:
                idf = cache[token_id] = math.log(1 + docs / (df[token_id] + 1))
            weights[token_id] = idf if count == 1 else (1 + math.log(count)) * idf
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {t: w / norm for t, w in weights.items()}

    def add(self, item_id: int, event_id: int, at: datetime, doc: StoryDoc, weights: dict | None = None) -> None:
        if item_id in self._entries or not doc.subjects:
            return
        weights = weights or self._weights(doc)
        kept = sorted(weights, key=weights.get, reverse=True)[:KEPT_TOKENS]
        self._entries[item_id] = _Entry(event_id, at, tuple(kept), array("f", (weights[t] for t in kept)), doc.numbers, doc.places, doc.incidents)
        self._docs += 1
        self._df.update(weights.keys())
        last = self._event_last.get(event_id)
        self._event_last[event_id] = at if last is None else max(last, at)
        self._event_numbers.setdefault(event_id, set()).update(doc.numbers)
        self._event_places.setdefault(event_id, set()).update(doc.places)
        self._event_incidents.setdefault(event_id, set()).update(doc.incidents)
        # Only the most telling bigrams are posted: a story's items share some of them, and the
        # lists stay few (memory: one int key per (subject, bigram), a bare int for one item).
        for token in kept[:POSTED_TOKENS]:
            for subject in doc.subjects:
                key = self._key(subject, token)
                postings = self._postings.get(key)
                if postings is None:
                    self._postings[key] = item_id
                elif isinstance(postings, int):
                    self._postings[key] = [postings, item_id]
                else:
                    postings.append(item_id)
                    if len(postings) > 2 * POSTINGS:
                        del postings[:-POSTINGS]

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
        partial: Counter[int] = Counter()
        for token in telling:
            weight = query[token]
            for subject in doc.subjects:
                postings = self._postings.get(self._key(subject, token), ())
                if isinstance(postings, int):
                    partial[postings] += weight
                    continue
                for item in postings[-POSTINGS:]:
                    partial[item] += weight
        candidates = []
        for item, _score in partial.most_common(CANDIDATES):
            entry = self._entries.get(item)
            if entry is None or abs(at - entry.at) > self.window:
                continue
            similarity = sum(query.get(t, 0.0) * w for t, w in zip(entry.tokens, entry.weights))
            since_last = abs(at - self._event_last.get(entry.event_id, entry.at))
            candidates.append((similarity, entry.event_id, since_last))
        best = NO_MATCH
        for similarity, event_id, since_last in candidates:
            if similarity <= best.similarity:
                continue
            shared = tuple(sorted(doc.numbers & self._event_numbers.get(event_id, set())))
            event_places = self._event_places.get(event_id, set())
            same_place = tuple(sorted(doc.places & event_places))
            elsewhere = bool(doc.places and event_places and not same_place)
            # the same place is a weaker second signal than a shared count (one plant can have an
            # award and a pollution story in a week): it counts only in the upper part of the band
            upper = similarity >= self.low + self.place_share * (self.high - self.low)
            kinds = tuple(sorted(doc.incidents & self._event_incidents.get(event_id, set())))
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
        link knows of each event concerned (its last item, numbers and places) from its items."""
        concerned = set()
        for item_id, event_id in events.items():
            entry = self._entries.get(item_id)
            if entry is not None and entry.event_id != event_id:
                concerned.update((entry.event_id, event_id))
                entry.event_id = event_id
        if not concerned:
            return
        for event_id in concerned:
            self._event_last.pop(event_id, None)
            self._event_numbers[event_id], self._event_places[event_id] = set(), set()
            self._event_incidents[event_id] = set()
        for entry in self._entries.values():  # one pass; merges and splits are rare
            if entry.event_id in concerned:
                last = self._event_last.get(entry.event_id)
                self._event_last[entry.event_id] = entry.at if last is None else max(last, entry.at)
                self._event_numbers[entry.event_id].update(entry.numbers)
                self._event_places[entry.event_id].update(entry.places)
                self._event_incidents[entry.event_id].update(entry.incidents)

    def forget_before(self, cutoff: datetime) -> int:
        old = [item for item, entry in self._entries.items() if entry.at < cutoff]
        for item in old:
            del self._entries[item]
        # document frequencies and postings age out with use: dropped ids are skipped at lookup
        # and trimmed from the capped lists; df is rescaled so idf follows the live index
        if old and self._docs:
            scale = len(self._entries) / self._docs
            self._df = Counter({t: n * scale for t, n in self._df.items() if n * scale >= 0.5})
            self._docs = len(self._entries)
        live = {entry.event_id for entry in self._entries.values()}
        self._event_last = {e: t for e, t in self._event_last.items() if e in live}
        self._event_numbers = {e: n for e, n in self._event_numbers.items() if e in live}
        self._event_places = {e: n for e, n in self._event_places.items() if e in live}
        self._event_incidents = {e: n for e, n in self._event_incidents.items() if e in live}
        return len(old)


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

    def add(self, item_id: int, event_id: int, at: datetime, minhash, doc: StoryDoc | None, weights=None) -> None:
        """Index an item. After `match`, pass `last_weights`: None there means it was a reprint of an
        open event, which the story index does not need (its original is there, in the same words)."""
        self.reprints.add(item_id, event_id, at, minhash)
        if doc is not None and not (weights is None and self._last_was_reprint):
            self.stories.add(item_id, event_id, at, doc, weights)
        self._last_was_reprint = False

    def match(self, minhash, doc: StoryDoc | None, at: datetime) -> Match:
        # near misses down to threshold - margin: a closed event's two-link test needs them
        reprint_event, jaccard, original = self.reprints.best(minhash, at, floor=self.threshold - self.margin)
        if reprint_event is not None and reprint_event not in self.closed and jaccard >= self.threshold:
            # a reprint of an open story: the story link has nothing to add, and skipping it is
            # half the cost of a reprint (most items in a big story are reprints)
            self.last_weights, self._last_was_reprint = None, True
            return Match(reprint_event, "reprint", round(jaccard, 3),
                         (f"reprint similarity {jaccard:.2f} ≥ {self.threshold:g}",), original)
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
