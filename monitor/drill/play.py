"""Play a drill: store a marked story as the fetch stage stores what it fetched, then let the
deployment's own pipeline take it from there.

The whole story is stored in one transaction with the drill's row, published as its timeline
says and ending at the drill's start: a kill -9 while starting leaves the whole drill or none of
it, and a drill that started is finished by the workers whoever started it. Its items come from
the drill's own outlets (kind "drill", never fetched), one per tier the story names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts.routing import Routing
from monitor.config import ConfigError, Tier
from monitor.db import drills as drill_store
from monitor.db import items as item_store
from monitor.db.models import Escalation, EventItem, Item, ItemAnalysis
from monitor.events.levels import LevelsConfig, rank
from monitor.fetch.parsed import ParsedEntry
from monitor.stages.replay import TimelineItem, read_timeline
from monitor.states import EventStatus

log = structlog.get_logger("fenghuo.drill")

DRILL_LEVELS = ("orange", "red")
STORIES = Path(__file__).parent / "stories"
DRILL_ACTOR = "drill"
OUTLET = re.compile(r"[a-z_]+(-[0-9A-Za-z_]{1,16})?")  # a tier, and a short suffix when it has several  # the escalation log's actor when the drill raises its event itself


@dataclass(frozen=True)
class DrillStory:
    name: str
    items: list[TimelineItem]


def load_story(level: str, path: Path | None = None) -> DrillStory:
    """The built-in story for `level`, or a timeline file in the `fenghuo events replay` format
    whose `outlet` names a tier (forum, social, local_media, central_media…), with a suffix when
    one tier has several outlets (local_media-2)."""
    if level not in DRILL_LEVELS:
        raise ConfigError(f"a drill is orange or red, not {level!r}")
    source = path or STORIES / f"{level}.yaml"
    return story_of(f"built-in {level}" if path is None else str(path), read_timeline(source))


def story_of(name: str, items: list[TimelineItem]) -> DrillStory:
    """A story from timeline items (a file's, or an API request's), each outlet a tier."""
    if not items:
        raise ConfigError(f"{name}: a story needs at least one item")
    for n, item in enumerate(items):
        tier = item.outlet.split("-", 1)[0]
        if tier not in Tier.__members__ or not OUTLET.fullmatch(item.outlet):
            raise ConfigError(
                f"{name}: item {n + 1}: outlet {item.outlet!r} must be a tier ({', '.join(Tier.__members__)}), "
                "optionally with a suffix (local_media-2)"
            )
    return DrillStory(name, items)


def start_drill(
    sessions: sessionmaker[Session], *, story: DrillStory, level: str, started_by: str, now: datetime
) -> int:
    """Store the story, marked, and the drill's row, in one transaction; returns the drill's id."""
    if level not in DRILL_LEVELS:
        raise ConfigError(f"a drill is orange or red, not {level!r}")
    ends = max(_minutes(item) for item in story.items)
    with sessions.begin() as session:
        drill_store.ensure_outlets(
            session, outlets={drill_store.OUTLET_PREFIX + i.outlet: i.outlet.split("-", 1)[0] for i in story.items},
            now=now,
        )
        drill = drill_store.start(session, level=level, story=story.name, started_by=started_by, now=now,
                                  items=len(story.items))
        stored = []
        for n, item in enumerate(story.items, start=1):
            entry = ParsedEntry(
                # never the story's own link: a drill item must not be taken for a real page
                url=f"{drill_store.URL_BASE}/{drill.id}/{n}",
                title=drill_store.MARKER + item.title, text=drill_store.MARKER + item.text,
                published_at=now - timedelta(minutes=ends - _minutes(item)),
            )
            # the fetch stage's own store step: what a fetched story goes through
            result = item_store.store_entries(
                session, outlet_id=drill_store.OUTLET_PREFIX + item.outlet, entries=[entry], now=now
            )
            stored.extend(result.new_ids)
        drill_store.mark_items(session, drill_id=drill.id, item_ids=stored)
        drill_id = drill.id
    log.warning("drill_started", drill=drill_id, level=level, story=story.name, items=len(stored), by=started_by)
    return drill_id


def _minutes(item: TimelineItem) -> float:
    if isinstance(item.at, datetime):
        return item.at.timestamp() / 60
    return float(item.at)


def advance(
    sessions: sessionmaker[Session], *, drill_id: int, levels: LevelsConfig, routing: Routing, now: datetime
) -> str | None:
    """The one step a drill takes itself: once the pipeline has analysed and grouped every item
    of the story and graded its event below the drill's level (the deployment's levels.yaml is
    its own), raise the event to the drill's level by hand — logged with actor "drill" and the
    reason — so the push to the real channels and the wait for acknowledgement still happen.
    Idempotent; returns what it did, if anything."""
    from monitor.db.events import TransitionError
    from monitor.stages.grouping import set_level_by_hand

    with sessions.begin() as session:
        drill = drill_store.get(session, drill_id=drill_id)
        events = drill_store.events_of(session, drill_id=drill_id) if drill is not None else []
        if not events:
            return None
        main = max(events, key=lambda e: (e.item_count, -e.id))
        if rank(main.level) >= rank(drill.level) or main.status == EventStatus.merged or not _settled(session, drill):
            return None
        raised = session.scalar(select(func.count()).select_from(Escalation).where(
            Escalation.event_id == main.id, Escalation.actor == DRILL_ACTOR))
        if raised:
            return None
        graded = levels.labels.get(main.level, "no level") if main.level else "no level"
        try:
            set_level_by_hand(
                session, levels=levels, routing=routing, event_id=main.id, level=drill.level, actor=DRILL_ACTOR,
                reason=f"演练/DRILL {drill_id}: levels.yaml grades the story {graded}; the drill pushes it at "
                       f"{levels.labels.get(drill.level, drill.level)}",
                now=now,
            )
        except TransitionError:  # graded or raised meanwhile by another process: nothing to do
            return None
    return f"event {main.id} raised from {main.level or 'no level'} to {drill.level} by the drill"


def advance_recent(
    sessions: sessionmaker[Session], *, levels: LevelsConfig, routing: Routing, now: datetime,
    within: timedelta = timedelta(hours=6),
) -> list[str]:
    """`advance` every drill started within `within`: the pipeline's leader does it after grading,
    so a drill is finished by the deployment whoever started it (and whether that one still runs)."""
    with sessions() as session:
        ids = drill_store.started_since(session, since=now - within)
    return [done for drill_id in ids
            if (done := advance(sessions, drill_id=drill_id, levels=levels, routing=routing, now=now))]


def _settled(session: Session, drill) -> bool:
    """Every item of the drill analysed, and every one that hit the library in an event."""
    waiting = session.scalar(
        select(func.count()).select_from(Item)
        .outerjoin(ItemAnalysis, ItemAnalysis.item_id == Item.id)
        .outerjoin(EventItem, EventItem.item_id == Item.id)
        .where(drill_store.of_drill(drill))
        .where((ItemAnalysis.item_id.is_(None)) | ((ItemAnalysis.risk > 0) & EventItem.item_id.is_(None)))
    )
    return waiting == 0
