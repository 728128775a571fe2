"""The grouping stage (the events stage): cluster newly analysed items into events, measure, grade, log every change.

Per batch, in one transaction: new items join (or open) events; every touched event is measured
and graded; a higher grade and its escalation-log entry are written together; events quiet for
the quiet period close, and a closed event that gains an item reopens — both logged too. An event
opened by an item of a hot story takes the story's earlier items with it (monitor/stages/prehistory.py).
"""

from __future__ import annotations

import functools
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts.routing import NO_ROUTING, Routing
from monitor.clock import Clock
from monitor.db import drills as drill_store
from monitor.db import events as event_store
from monitor.db import hotlists as hotlist_store
from monitor.events.cluster import signature
from monitor.events.hotsignal import hotlist_metrics
from monitor.events.levels import LevelsConfig, grade, rank
from monitor.stages import prehistory
from monitor.events.spread import event_metrics
from monitor.events.stories import Grouper, Match, StoryDoc, story_doc
from monitor.states import AUTO, EscalationKind, EventStatus

if TYPE_CHECKING:
    from monitor.stages.trending import HotStories

log = structlog.get_logger("fenghuo.events")


@dataclass
class EventStage:
    sessions: sessionmaker[Session]
    levels: LevelsConfig
    clock: Clock
    routing: Routing = NO_ROUTING
    batch_size: int = 500
    # the leader's hot stories (monitor/stages/trending.py), when it has them: an event opened for
    # an item of a hot story starts with the story's earlier items
    hot: HotStories | None = None
    clusterer: Grouper = field(init=False)  # reprints (MinHash) and paraphrases (story link)
    _log_seen: int = field(init=False, default=0)  # the last escalation-log id looked at for merges/splits
    _hot_seen: object = field(init=False, default=None)  # when hot lists were last looked at
    _on_lists: set[int] = field(init=False, default_factory=set)  # events on a list then

    def __post_init__(self) -> None:
        self._load_index()

    def _load_index(self) -> None:
        """Build the grouping index from the events stored in the window. The index is memory
        beside the database: it is rebuilt whenever a batch's transaction fails, since items it
        learnt in that batch point at events the rollback took away."""
        self.clusterer = Grouper(threshold=self.levels.similarity, window=self.levels.window)
        since = self.clock.now() - self.levels.window
        with self.sessions() as session:
            for item_id, event_id, title, text, seen, groups, terms in event_store.recent_members(session, since=since):
                self.clusterer.add(item_id, event_id, seen, signature(title, text), _doc(title, text, groups, terms))
            self.clusterer.closed = event_store.closed_event_ids(session, since=since)
            # merges and splits logged from here on are applied to the index by _follow_regrouping
            self._log_seen = event_store.last_log_id(session)

    def run_once(self) -> int:
        """Assign pending items, grade touched events, close quiet ones. Returns items assigned."""
        total = 0
        with self.sessions.begin() as session:
            self._follow_regrouping(session)
        with self.hot.caught_up() if self.hot is not None else nullcontext() as stories:
            while True:
                try:
                    with self.sessions.begin() as session:
                        assigned = self._batch(session, stories)
                        self._cool_down(session)
                except Exception:
                    # e.g. the connection was cut mid-batch: nothing of it was stored, so the index
                    # must forget it too, or every later batch would look up events that never were
                    log.warning("grouping_index_rebuilt", reason="batch rolled back")
                    self._load_index()
                    raise
                total += assigned
                if assigned < self.batch_size:
                    break
        with self.sessions.begin() as session:
            self._follow_hotlists(session)
        self.clusterer.forget_before(self.clock.now() - self.levels.window)
        return total

    def _batch(self, session: Session, stories: HotStories | None = None) -> int:
        now = self.clock.now()
        pending = event_store.pending_items(
            session, limit=self.batch_size
        )
        touched: dict[int, event_store.Event] = {}
        drills = drill_store.drill_of_items(session, item_ids=[item.id for item in pending])
        turn = {item.id: n for n, item in enumerate(pending)}  # the order this batch takes them in
        for n, item in enumerate(pending):
            minhash = signature(item.title, item.text)
            # built only if the story link is consulted or the item indexed: not for a reprint
            doc = functools.cache(functools.partial(_doc, item.title, item.text, item.groups, item.terms))
            match = self.clusterer.match(minhash, doc, item.member.first_seen_at)
            event_id, similarity = match.event_id, match.similarity
            event = None
            if event_id is not None:
                event = touched.get(event_id) or event_store.get_event(session, event_id=event_id)
                if event is None:  # deleted behind the index's back (a restore, retention): start afresh
                    log.warning("grouped_event_missing", event_id=event_id, item_id=item.id)
                    match = Match(event_id=None, link="", similarity=1.0)
                elif event.drill_id != drills.get(item.id):  # a drill's story never mixes with real ones
                    event, match = None, Match(event_id=None, link="", similarity=1.0)
            if event is None:
                event = event_store.open_event(session, first=item, now=now)
                event.drill_id = drills.get(item.id)
                similarity = 1.0
                log.info("event_opened", event_id=event.id, title=item.title, outlet=item.member.outlet_id)
                if stories is not None:
                    # history is what came before it: not the items this batch takes after it
                    # (stored at the same instant, published later), whose turn is still to come
                    # and which would then be added a second time (a unique-key error that
                    # rolled the batch back on every retry)
                    earlier = [m for m in stories.story_before(item.id) if turn.get(m, -1) < n]
                    self._attach_prehistory(session, event, item.id, earlier, now)
            else:
                # merged by hand since the index last looked: its items live in the survivor now
                event = event_store.surviving(session, event)
                if event.status == EventStatus.closed:
                    event.status, event.closed_at = EventStatus.open, None
                    self.clusterer.closed.discard(event.id)
                    event_store.log_transition(
                        session, event=event, kind=EscalationKind.reopen, to_level=event.level, at=now,
                        actor=AUTO, reason=f"flared again: item {item.id} from {item.member.outlet_id}",
                        reasons=[f"new item {item.id} joined by {match.link} link", *match.reasons],
                    )
            event_store.add_member(
                session, event_id=event.id, item_id=item.id, similarity=similarity, now=now,
                link=match.link or None, reprint_of=match.reprint_of,
            )
            self.clusterer.add(item.id, event.id, item.member.first_seen_at, minhash, doc, self.clusterer.last_weights)
            event.last_item_at = max(event.last_item_at, item.member.at)
            touched[event.id] = event
        session.flush()
        for event in touched.values():
            self._grade(session, event, now)
        return len(pending)

    def _attach_prehistory(self, session: Session, event, item_id: int, earlier: list[int], now) -> None:
        def index(member: int, title: str, text: str, seen) -> None:
            self.clusterer.add(member, event.id, seen, signature(title, text), None)

        prehistory.attach(session, event=event, item_id=item_id, earlier=earlier, now=now,
                          window=self.levels.window, index=index)

    def _grade(self, session: Session, event, now) -> None:
        regrade(session, levels=self.levels, routing=self.routing, event=event, now=now)

    def set_level(self, event_id: int, level: str | None, *, actor: str, reason: str):
        """An operator's escalation or downgrade, logged with who and why."""
        with self.sessions.begin() as session:
            return set_level_by_hand(
                session, levels=self.levels, routing=self.routing, event_id=event_id, level=level,
                actor=actor, reason=reason, now=self.clock.now(),
            )

    def merge(self, event_id: int, other_id: int, *, actor: str, reason: str):
        """An operator's merge (see merge_by_hand), applied to the grouping index at once."""
        with self.sessions.begin() as session:
            entry = merge_by_hand(session, levels=self.levels, routing=self.routing, event_id=event_id,
                                  other_id=other_id, actor=actor, reason=reason, now=self.clock.now())
        with self.sessions.begin() as session:
            self._follow_regrouping(session)
        return entry

    def split(self, event_id: int, item_ids: list[int], *, actor: str, reason: str):
        """An operator's split (see split_by_hand), applied to the grouping index at once."""
        with self.sessions.begin() as session:
            entry = split_by_hand(session, levels=self.levels, routing=self.routing, event_id=event_id,
                                  item_ids=item_ids, actor=actor, reason=reason, now=self.clock.now())
        with self.sessions.begin() as session:
            self._follow_regrouping(session)
        return entry

    def _follow_regrouping(self, session: Session) -> None:
        """Merges and splits are made by the API or the CLI, often in another process: the index
        learns of them from the escalation log, and re-points the items concerned, so the next
        reprint of a split item follows it and the next item of a merged story joins the survivor."""
        strays = event_store.stray_members(session)
        if strays:  # matched to an event a moment before it was merged: moved to the survivor
            now = self.clock.now()
            by_survivor: dict[int, list[int]] = {}
            for item_id, event_id in strays:
                survivor = event_store.surviving(session, event_store.get_event(session, event_id=event_id))
                by_survivor.setdefault(survivor.id, []).append(item_id)
            for survivor_id, item_ids in by_survivor.items():
                event_store.move_members(session, item_ids=item_ids, event_id=survivor_id)
                self.clusterer.relabel(dict.fromkeys(item_ids, survivor_id))
                survivor = event_store.get_event(session, event_id=survivor_id)
                survivor.last_item_at = max(
                    m.at for m in event_store.members(session, event_id=survivor_id)
                )
                session.flush()
                self._grade(session, survivor, now)
                log.warning("strays_moved_to_survivor", event_id=survivor_id, items=item_ids)
        self._log_seen, items, status = event_store.regrouped_since(session, after=self._log_seen)
        if items:
            self.clusterer.relabel(items)
        for event_id, event_status in status.items():
            if event_status == EventStatus.closed:
                self.clusterer.closed.add(event_id)
            else:
                self.clusterer.closed.discard(event_id)

    def _follow_hotlists(self, session: Session) -> None:
        """A story climbs a hot list without any new item joining its event: regrade the open
        events with an item in a snapshot since the last look, and once more those that were on a
        list then (they may have left it)."""
        now = self.clock.now()
        since = self._hot_seen or now - self.levels.window
        seen = hotlist_store.events_seen_on_hotlists(session, since=since)
        for event_id in sorted(seen | self._on_lists):
            event = event_store.get_event(session, event_id=event_id)
            if event is not None and event.status == EventStatus.open:
                self._grade(session, event, now)
        self._hot_seen, self._on_lists = now, seen

    def _cool_down(self, session: Session) -> None:
        now = self.clock.now()
        for event in event_store.open_events_quiet_since(session, cutoff=now - self.levels.quiet_period):
            event.status, event.closed_at = EventStatus.closed, now
            self.clusterer.closed.add(event.id)
            quiet_hours = self.levels.quiet_period.total_seconds() / 3600
            event_store.log_transition(
                session, event=event, kind=EscalationKind.close, to_level=event.level, at=now, actor=AUTO,
                reason=f"quiet for {quiet_hours:g} h", reasons=[f"last item at {event.last_item_at.isoformat()}"],
            )
            log.info("event_closed", event_id=event.id, level=event.level)


def measure(session: Session, levels: LevelsConfig, event_id: int, members, now) -> dict:
    """The event's metrics as levels.yaml grades them: its current episode (since it last
    reopened, with the carry-over), the fixed windows the rules name, and its hot-list presence."""
    episode_start = event_store.last_reopened_at(session, event_id=event_id)
    metrics = event_metrics(
        members, now, episode_start=episode_start, carry_over=levels.reopen_carry_over, windows=levels.windows(),
    )
    # 上了热搜: the event's items that are hot-list entries, this episode (monitor/events/hotsignal.py)
    status = hotlist_store.event_hotlist_status(session, event_id=event_id, since=episode_start)
    return metrics | hotlist_metrics(status.presences)


def _doc(title: str, text: str, groups: frozenset[str], terms: frozenset[str]) -> StoryDoc | None:
    # The story link needs a watched subject; the words that hit are taken out because every story
    # about the subject shares them (see monitor/events/stories.py).
    return story_doc(title, text, groups, terms) if groups else None


def set_level_by_hand(
    session: Session,
    *,
    levels: LevelsConfig,
    routing: Routing,
    event_id: int,
    level: str | None,
    actor: str,
    reason: str,
    now,
):
    """An operator's escalation or downgrade in the caller's transaction: the event's automatic
    grade right now is what a downgrade overrules; an escalation queues its pushes. Shared by the
    CLI, the API and the stage, none of which needs the clustering index for it."""
    members = event_store.members(session, event_id=event_id)
    automatic = grade(measure(session, levels, event_id, members, now), levels).level if members else None
    entry = event_store.record_manual_level(
        session, event_id=event_id, level=level, actor=actor, reason=reason, now=now,
        automatic_grade=automatic, channels=routing.channels_for(level) if level else [],
        hold=level in routing.digest,
    )
    log.warning(
        "event_level_set_by_hand", event_id=event_id, kind=entry.kind,
        from_level=entry.from_level, to_level=level, actor=actor, reason=reason,
    )
    return entry


def regrade(session: Session, *, levels: LevelsConfig, routing: Routing, event, now) -> None:
    """Measure the event from its members, record its origin, and raise its level (with the log
    entry and the alert) when the grade is higher than both its level and an overruled grade."""
    members = event_store.members(session, event_id=event.id)
    metrics = measure(session, levels, event.id, members, now)
    event.metrics, event.item_count, event.updated_at = metrics, len(members), now
    event_store.refresh_groups(session, event_id=event.id)
    # 信息溯源: the first publisher is the earliest member, whichever was stored first.
    first = min(members, key=lambda m: (m.at, m.item_id))
    event.first_item_id, event.first_outlet_id, event.first_at = first.item_id, first.outlet_id, first.at
    verdict = grade(metrics, levels)
    if rank(verdict.level) > max(rank(event.level), rank(event.overruled_level)):
        previous = event.level
        event_store.log_transition(
            session, event=event, kind=EscalationKind.escalate, to_level=verdict.level, at=now, actor=AUTO,
            reason=verdict.reasons[0], reasons=verdict.reasons[1:],
            channels=routing.channels_for(verdict.level), hold=verdict.level in routing.digest,
        )
        log.warning(
            "event_escalated", event_id=event.id, from_level=previous, to_level=verdict.level,
            label=levels.labels[verdict.level], title=event.title, reasons=verdict.reasons[1:],
        )


def merge_by_hand(
    session: Session, *, levels: LevelsConfig, routing: Routing, event_id: int, other_id: int,
    actor: str, reason: str, now,
):
    """Merge `other_id` into `event_id` in the caller's transaction (db.events.merge_events), then
    regrade the survivor on all its items. Returns the survivor's `merge` log entry. The events
    stage applies it to its grouping index when it next runs (or at once, through EventStage.merge)."""
    entry, other = event_store.merge_events(
        session, event_id=event_id, other_id=other_id, actor=actor, reason=reason, now=now
    )
    survivor = event_store.get_event(session, event_id=event_id)
    regrade(session, levels=levels, routing=routing, event=survivor, now=now)
    log.warning("events_merged", event_id=event_id, merged=other.id, actor=actor, reason=reason)
    return entry


def split_by_hand(
    session: Session, *, levels: LevelsConfig, routing: Routing, event_id: int, item_ids: list[int],
    actor: str, reason: str, now,
):
    """Move `item_ids` out of `event_id` into a new event in the caller's transaction
    (db.events.split_event), then regrade both: the new event on its own items (it may raise its
    own alert), the old one on what is left (its level stays: only a duty officer lowers one).
    Returns the old event's `split` log entry and the new event."""
    from monitor.db.models import Item

    event = event_store.get_event(session, event_id=event_id)
    old_first = event.first_item_id if event is not None else None
    entry, new = event_store.split_event(
        session, event_id=event_id, item_ids=item_ids, actor=actor, reason=reason, now=now
    )
    regrade(session, levels=levels, routing=routing, event=event, now=now)
    if old_first in set(item_ids):  # its title came from an item that left: name it after its first now
        event.title = session.get(Item, event.first_item_id).title
    regrade(session, levels=levels, routing=routing, event=new, now=now)
    log.warning("event_split", event_id=event_id, new_event=new.id, items=list(item_ids), actor=actor, reason=reason)
    return entry, new
