"""Hot stories (热点) across the whole intake: what everyone is talking about, named or not.

Every item — keyword hit or not — is grouped into stories by the grouping the events stage uses
(monitor/events/stories.py `Grouper`: reprints by MinHash, retellings by the story link), with
one subject for everything ("*"), since most of the web does not name a watched subject. Stories
live in memory only, for `window` (24 h), and the index holds at most `max_items` items: past
that, the oldest are forgotten first, so memory has a ceiling whatever the intake.

Every few minutes the leader ranks the stories and stores the top ones (trending_snapshots), which
`GET /api/v1/trending` and the console's 热点 view read. The rank is growth × breadth:

    score = items in the last 3 h                                 how loud now (velocity)
          × √(growth),  growth = (last hour + 1) / (hour average of the 3 h before + 1), at most 9
          × (1 + ln outlets)                                      many outlets, not one outlet's feed
          × (1 + 0.25 × (tiers − 1))                              forums and the press, not one tier

A story needs items from `min_outlets` outlets (2) to be ranked at all: one site repeating itself
is not a hot story. A hot story whose items mention a region or industry term of trending.yaml
is flagged for a look (`flagged`, with the terms), whether or not it names a watched subject.

A hot story that later names a watched subject becomes an event with its earlier history: the
events stage, opening an event for an item, asks `story_before` for the items of that item's hot
story seen before it (monitor/stages/prehistory.py attaches them). Both run in the leader; the
events stage first brings the grouping up to date (`caught_up`), under a lock, since the ranking
job runs in another thread.
"""

from __future__ import annotations

import functools
import math
import threading
from array import array
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session, sessionmaker

from monitor.analyze.trends import HOUR, hour_of
from monitor.clock import Clock
from monitor.config import Duration, config_error, read_yaml
from monitor.db import trends as trend_store
from monitor.events.cluster import signature
from monitor.events.stories import Grouper, StoryIndex, story_doc

log = structlog.get_logger("fenghuo.trending")

EVERYTHING = frozenset({"*"})  # one subject for all items: the story link compares every item
BATCH = 2000
SCAN = 300  # characters of an item read for flag terms: title and lead


class TrendingFile(BaseModel):
    """trending.yaml (FENGHUO_TRENDING_FILE)."""

    model_config = ConfigDict(extra="forbid")
    regions: list[str] = Field(default_factory=list, description="place names that make a hot story ours to look at")
    industries: list[str] = Field(default_factory=list, description="industry words, likewise")
    window: Duration = Field(timedelta(hours=24), description="how long a story is kept after its last item")
    max_items: int = Field(100_000, ge=1000, description="items the grouping holds at most; the oldest go first")
    top: int = Field(50, ge=1, le=500, description="stories kept in each ranking")
    min_outlets: int = Field(2, ge=1, description="outlets a story needs to be ranked")


def load_trending(path: Path | None) -> TrendingFile:
    if path is None:
        return TrendingFile()
    try:
        return TrendingFile.model_validate(read_yaml(path) or {})
    except ValidationError as error:
        raise config_error(path, error) from None


@dataclass
class Story:
    id: int
    title: str  # its first item's
    first_item: int
    first_at: datetime
    last_at: datetime
    items: int = 0
    outlets: set[str] = field(default_factory=set)
    tiers: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)  # keyword groups its items hit (a watched subject named)
    terms: set[str] = field(default_factory=set)  # flag terms its items mention
    hours: dict[datetime, int] = field(default_factory=dict)  # items per hour, for velocity and growth
    # its items in the index and when each was seen (seconds), in the order read: flat arrays, no
    # object per item (a tuple each made the collector's passes over the index a fifth slower)
    members: array = field(default_factory=lambda: array("q"))
    seen: array = field(default_factory=lambda: array("d"))

    def add(self, at: datetime, outlet: str, tier: str, groups: list[str] | None, terms: set[str],
            item_id: int = 0) -> None:
        self.members.append(item_id)
        self.seen.append(at.timestamp())
        self.items += 1
        self.last_at = max(self.last_at, at)
        self.outlets.add(outlet)
        self.tiers.add(tier)
        self.groups.update(groups or ())
        self.terms.update(terms)
        hour = hour_of(at)
        self.hours[hour] = self.hours.get(hour, 0) + 1

    def score(self, now: datetime) -> tuple[float, dict]:
        this_hour = hour_of(now)
        last_hour = self.hours.get(this_hour, 0)
        recent = sum(self.hours.get(this_hour - k * HOUR, 0) for k in range(3))
        before = sum(self.hours.get(this_hour - k * HOUR, 0) for k in range(1, 4)) / 3
        growth = min(9.0, (last_hour + 1) / (before + 1))
        score = recent * math.sqrt(growth) * (1 + math.log(len(self.outlets))) * (1 + 0.25 * (len(self.tiers) - 1))
        return score, {"last_hour": last_hour, "last_3h": recent, "growth": round(growth, 2)}


class HotStories:
    def __init__(self, sessions: sessionmaker[Session], clock: Clock, config: TrendingFile = TrendingFile()) -> None:
        self.sessions, self.clock, self.config = sessions, clock, config
        self.grouper = Grouper(window=config.window, stories=StoryIndex(counts_link=False))
        self.stories: dict[int, Story] = {}
        self._order: deque[tuple[int, datetime]] = deque()  # indexed items, oldest first
        self._story_of: dict[int, int] = {}  # indexed item -> its story
        self._after = 0  # the last item id read
        self._lock = threading.Lock()  # the ranking job and the events stage run in different threads
        self.built = False  # the first read of the window is done (a new leader's takes a while)
        self._next_story = 1
        self._terms = sorted({*config.regions, *config.industries} - {""}, key=len, reverse=True)

    def __len__(self) -> int:
        return len(self._order)

    # -- reading the intake -------------------------------------------------------------------

    def take(self, rows) -> None:
        """Group items (as trend_store.items_after gives them) into stories."""
        for item_id, title, lead, at, outlet, tier, groups in rows:
            self._after = max(self._after, item_id)
            minhash = signature(title, lead)
            # built only if the story link is consulted or the item indexed, as in the events stage
            doc = functools.cache(functools.partial(story_doc, title, lead, EVERYTHING))
            match = self.grouper.match(minhash, doc, at)
            story = self.stories.get(match.event_id) if match.event_id is not None else None
            if story is None:
                story = Story(self._next_story, title, item_id, at, at)
                self.stories[story.id] = story
                self._next_story += 1
            text = f"{title} {lead[:SCAN]}"
            story.add(at, outlet, tier, groups, {term for term in self._terms if term in text}, item_id)
            self.grouper.add(item_id, story.id, at, minhash, doc, self.grouper.last_weights)
            self._order.append((item_id, at))
            self._story_of[item_id] = story.id

    def forget(self, now: datetime) -> None:
        """Drop what is older than the window, and past max_items the oldest items, so memory has
        a ceiling; stories with no item left in the index go with them."""
        cutoff = now - self.config.window
        if len(self._order) > self.config.max_items:
            cutoff = max(cutoff, self._order[len(self._order) - self.config.max_items][1])
        while self._order and self._order[0][1] < cutoff:
            self._story_of.pop(self._order.popleft()[0], None)
        self.grouper.forget_before(cutoff)
        self.stories = {sid: s for sid, s in self.stories.items() if s.last_at >= cutoff}
        for story in self.stories.values():
            gone = 0
            while gone < len(story.members) and story.members[gone] not in self._story_of:
                gone += 1  # the oldest leave first (one out of order is skipped by story_before)
            if gone:
                del story.members[:gone], story.seen[:gone]
            if len(story.hours) > 6:  # ranking reads the last four hours only
                story.hours = {h: n for h, n in story.hours.items() if h >= hour_of(now) - 4 * HOUR}

    def _read(self, now: datetime) -> int:
        read = 0
        while True:
            with self.sessions() as session:
                rows = trend_store.items_after(session, after_id=self._after, since=now - self.config.window,
                                               limit=BATCH)
            self.take(rows)
            read += len(rows)
            if len(rows) < BATCH:
                return read

    def run_once(self) -> int:
        """Read what arrived, rank, store the ranking; returns the number of items read."""
        with self._lock:
            return self._run_once()

    def _run_once(self) -> int:
        now = self.clock.now()
        read = self._read(now)
        self.built = True
        self.forget(now)
        ranking = self.ranking(now)
        with self.sessions.begin() as session:
            trend_store.save_trending(session, stories=ranking, items_indexed=len(self), now=now)
        log.info("trending_ranked", items_read=read, items_indexed=len(self), stories=len(self.stories),
                 ranked=len(ranking), flagged=sum(1 for s in ranking if s["flagged"]))
        return read

    # -- for the events stage: a story's earlier history ------------------------------------------

    @contextmanager
    def caught_up(self, wait: float = 2.0) -> Iterator[HotStories | None]:
        """The stories with every stored item read, held still while the caller looks (the lock);
        None when they cannot be had at once: not built yet (a new leader's first read of the
        window is running, which takes a minute at 100,000 items a day) or busy past `wait`."""
        # not built: the first read holds the lock for a minute; do not wait for it at all
        if not self.built or not self._lock.acquire(timeout=wait):
            yield None
            return
        try:
            ready = True
            try:
                self._read(self.clock.now())
            except Exception:  # the events stage grades without them rather than not at all
                log.exception("hot_stories_unavailable")
                ready = False
            yield self if ready else None
        finally:
            self._lock.release()

    def story_before(self, item_id: int) -> list[int]:
        """The items of `item_id`'s story seen before it, oldest first; [] when the item is not in
        the index or its story began with it. Items seen at the same instant (one fetch stores its
        entries at once) count as before it only with a lower id; the events stage also leaves out
        the ones its batch takes after the item (by publication time)."""
        story = self.stories.get(self._story_of.get(item_id, -1))
        if story is None:
            return []
        try:
            at = story.seen[story.members.index(item_id)]
        except ValueError:
            return []
        return [member for seen, member in sorted(zip(story.seen, story.members))
                if (seen, member) < (at, item_id) and member in self._story_of]

    def ranking(self, now: datetime) -> list[dict]:
        scored = []
        for story in self.stories.values():
            if len(story.outlets) < self.config.min_outlets:
                continue
            score, parts = story.score(now)
            if score > 0:
                scored.append((score, story, parts))
        scored.sort(key=lambda entry: (-entry[0], -entry[1].items, entry[1].id))
        return [
            {"rank": rank, "title": story.title, "score": round(score, 2), "first_item": story.first_item,
             "first_at": story.first_at.isoformat(), "last_at": story.last_at.isoformat(), "items": story.items,
             "outlets": len(story.outlets), "tiers": sorted(story.tiers), **parts,
             "groups": sorted(story.groups), "flagged": bool(story.terms), "terms": sorted(story.terms)}
            for rank, (score, story, parts) in enumerate(scored[: self.config.top], start=1)
        ]
