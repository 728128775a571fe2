"""Hot-list store: snapshots, the stories on each list, their rank history, and what the level
signal asks ("is this story on a hot list, how high, for how long?").

A story is keyed per list by the hash of its canonical link, the same hash items.url_hash holds:
every hot-list entry is also stored as an item, so an event that groups that item with news
reports of the same story finds its hot-list record by the item's url_hash.

Time on the list is counted between consecutive snapshots the story is in; a gap longer than
`max_gap` (the fetcher was down, the platform blocked us) is credited as `max_gap` at most, and a
story that left the list and came back starts counting again from its return.

Store functions never commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from monitor.db.models import Event, EventItem, HotlistEntry, HotlistRank, HotlistSnapshot, Item, Outlet
from monitor.identity import canonical_url, url_hash


class RankedLine(Protocol):
    rank: int
    title: str
    url: str
    heat: float | None


@dataclass(frozen=True)
class SnapshotSummary:
    snapshot_id: int
    entered: list[str]  # titles new on the list (or back on it)
    left: list[str]  # titles in the previous snapshot, not in this one


def record_snapshot(
    session: Session,
    *,
    outlet_id: str,
    lines: Sequence[RankedLine],
    now: datetime,
    max_gap: timedelta = timedelta(minutes=30),
) -> SnapshotSummary:
    previous = session.scalar(
        select(func.max(HotlistSnapshot.taken_at)).where(HotlistSnapshot.outlet_id == outlet_id)
    )
    credited = 0
    if previous is not None and now > previous:
        credited = int(min(now - previous, max_gap).total_seconds())

    keyed: dict[str, RankedLine] = {}
    for line in sorted(lines, key=lambda line: line.rank):
        keyed.setdefault(url_hash(canonical_url(line.url)), line)  # one rank per story: its best
    snapshot = HotlistSnapshot(outlet_id=outlet_id, taken_at=now, entry_count=len(keyed))
    session.add(snapshot)

    existing = {
        entry.url_hash: entry
        for entry in session.scalars(
            select(HotlistEntry).where(
                HotlistEntry.outlet_id == outlet_id, HotlistEntry.url_hash.in_(list(keyed))
            )
        )
    } if keyed else {}
    left = list(
        session.scalars(
            select(HotlistEntry.title).where(
                HotlistEntry.outlet_id == outlet_id, HotlistEntry.on_list.is_(True),
                HotlistEntry.url_hash.not_in(list(keyed)),
            )
        )
    )
    session.execute(
        update(HotlistEntry)
        .where(
            HotlistEntry.outlet_id == outlet_id, HotlistEntry.on_list.is_(True),
            HotlistEntry.url_hash.not_in(list(keyed)),
        )
        .values(on_list=False)
        .execution_options(synchronize_session=False)
    )

    entered: list[str] = []
    for key, line in keyed.items():
        entry = existing.get(key)
        if entry is None:
            entry = HotlistEntry(
                outlet_id=outlet_id, url_hash=key, url=line.url, title=line.title,
                first_seen_at=now, last_seen_at=now, first_rank=line.rank, best_rank=line.rank,
                best_rank_at=now, last_rank=line.rank, peak_heat=line.heat, last_heat=line.heat,
                seconds_on_list=0, snapshots=1, on_list=True,
            )
            session.add(entry)
            existing[key] = entry
            entered.append(line.title)
            continue
        if entry.on_list:
            entry.seconds_on_list += credited
        else:
            entered.append(line.title)
        entry.on_list = True
        entry.snapshots += 1
        entry.title = line.title  # platforms retouch a topic's wording; keep the latest
        entry.last_seen_at = now
        entry.last_rank = line.rank
        if line.rank < entry.best_rank:
            entry.best_rank, entry.best_rank_at = line.rank, now
        entry.last_heat = line.heat
        if line.heat is not None and (entry.peak_heat is None or line.heat > entry.peak_heat):
            entry.peak_heat = line.heat
    session.flush()
    if keyed:
        session.execute(
            insert(HotlistRank),
            [
                dict(snapshot_id=snapshot.id, entry_id=existing[key].id, rank=line.rank, heat=line.heat)
                for key, line in keyed.items()
            ],
        )
    return SnapshotSummary(snapshot.id, entered, left)


# ---------------------------------------------------------------------------------------------
# What the level signal and the API read


@dataclass(frozen=True)
class HotlistPresence:
    """One story on one list."""

    outlet_id: str
    outlet_name: str
    region: str
    entry_id: int
    title: str
    url: str
    on_list: bool
    first_rank: int
    best_rank: int
    last_rank: int
    first_seen_at: datetime
    last_seen_at: datetime
    minutes_on_list: float
    peak_heat: float | None


@dataclass(frozen=True)
class HotlistStatus:
    """What the level signal needs: is the story on a hot list now, the best rank it reached on
    any list, and its longest time on one list. `presences` says which lists, for the message
    ("微博热搜第7位，已在榜42分钟")."""

    on_hotlist: bool
    best_rank: int | None
    minutes_on_list: float
    presences: list[HotlistPresence]


def hotlist_status(
    session: Session,
    *,
    urls: Iterable[str] = (),
    titles: Iterable[str] = (),
    terms: Iterable[str] = (),
    since: datetime | None = None,
) -> HotlistStatus:
    """Find a story on the hot lists by its items' links (the sure match: hot-list entries are
    items too), by exact titles, or by terms that must all appear in the entry's title.
    `since` ignores stories last seen on a list before it."""
    hashes = sorted({url_hash(canonical_url(url)) for url in urls})
    exact = sorted({title.strip() for title in titles if title.strip()})
    words = [term.strip() for term in terms if term.strip()]
    matches = []
    if hashes:
        matches.append(HotlistEntry.url_hash.in_(hashes))
    if exact:
        matches.append(HotlistEntry.title.in_(exact))
    if words:
        matches.append(and_(*(HotlistEntry.title.contains(word, autoescape=True) for word in words)))
    if not matches:
        return HotlistStatus(False, None, 0.0, [])
    return _status(session, or_(*matches), since)


def event_hotlist_status(session: Session, *, event_id: int, since: datetime | None = None) -> HotlistStatus:
    """An event's story on the hot lists: the entries that are items of the event. A hot-list
    entry is stored as an item and joins an event by the same story grouping as any item, so
    membership is the match; `since` (the episode's start) ignores stints on a list before it."""
    hashes = select(Item.url_hash).join(EventItem, EventItem.item_id == Item.id).where(EventItem.event_id == event_id)
    return _status(session, HotlistEntry.url_hash.in_(hashes), since)


def events_seen_on_hotlists(session: Session, *, since: datetime) -> set[int]:
    """Events with an item on a hot list in a snapshot taken since `since`: the ones whose rank
    or time on the list may have moved without a new item joining them."""
    # The recent snapshots first (per outlet, so the (outlet_id, taken_at) index is searched, not
    # the table scanned), then their rank rows by primary key: a join the planner may start from
    # hotlist_ranks scans the whole rank history (69 ms a run at 2,000 snapshots; BENCHMARKS.md).
    recent = select(HotlistSnapshot.id).where(
        HotlistSnapshot.outlet_id.in_(select(Outlet.id)), HotlistSnapshot.taken_at >= since
    )
    query = (
        select(EventItem.event_id)
        .select_from(HotlistRank)
        .join(HotlistEntry, HotlistEntry.id == HotlistRank.entry_id)
        .join(Item, Item.url_hash == HotlistEntry.url_hash)
        .join(EventItem, EventItem.item_id == Item.id)
        .where(HotlistRank.snapshot_id.in_(recent))
        .distinct()
    )
    return set(session.scalars(query))


def _status(session: Session, match, since: datetime | None) -> HotlistStatus:
    query = (
        select(HotlistEntry, Outlet.name, Outlet.region)
        .join(Outlet, Outlet.id == HotlistEntry.outlet_id)
        .where(match)
        .order_by(HotlistEntry.best_rank, HotlistEntry.first_seen_at)
    )
    if since is not None:
        query = query.where(HotlistEntry.last_seen_at >= since)
    presences = [_presence(entry, name, region) for entry, name, region in session.execute(query)]
    return HotlistStatus(
        on_hotlist=any(p.on_list for p in presences),
        best_rank=min((p.best_rank for p in presences), default=None),
        minutes_on_list=max((p.minutes_on_list for p in presences), default=0.0),
        presences=presences,
    )


def _presence(entry: HotlistEntry, name: str, region: str) -> HotlistPresence:
    return HotlistPresence(
        outlet_id=entry.outlet_id, outlet_name=name, region=region, entry_id=entry.id,
        title=entry.title, url=entry.url, on_list=entry.on_list, first_rank=entry.first_rank,
        best_rank=entry.best_rank, last_rank=entry.last_rank, first_seen_at=entry.first_seen_at,
        last_seen_at=entry.last_seen_at, minutes_on_list=entry.seconds_on_list / 60,
        peak_heat=entry.peak_heat,
    )


@dataclass(frozen=True)
class RankPoint:
    at: datetime
    rank: int
    heat: float | None


@dataclass(frozen=True)
class ListedEntry:
    rank: int
    heat: float | None
    presence: HotlistPresence
    history: list[RankPoint]
    # Ours: the entry is an item of an event (it named a watched subject and joined its story)
    event_id: int | None = None
    event_level: str | None = None


@dataclass(frozen=True)
class CurrentList:
    outlet_id: str
    outlet_name: str
    region: str
    taken_at: datetime
    entries: list[ListedEntry]


def current_hotlists(
    session: Session, *, history_since: datetime, outlet_id: str | None = None
) -> list[CurrentList]:
    """Each hot-list outlet's latest snapshot in rank order, with every entry's rank history
    since `history_since`."""
    latest = (
        select(HotlistSnapshot.outlet_id, func.max(HotlistSnapshot.id).label("snapshot_id"))
        .group_by(HotlistSnapshot.outlet_id)
        .subquery()
    )
    query = select(HotlistSnapshot, Outlet.name, Outlet.region).join(
        latest, latest.c.snapshot_id == HotlistSnapshot.id
    ).join(Outlet, Outlet.id == HotlistSnapshot.outlet_id).order_by(Outlet.id)
    if outlet_id is not None:
        query = query.where(HotlistSnapshot.outlet_id == outlet_id)
    lists = []
    for snapshot, name, region in session.execute(query).all():
        rows = session.execute(
            select(HotlistRank.rank, HotlistRank.heat, HotlistEntry)
            .join(HotlistEntry, HotlistEntry.id == HotlistRank.entry_id)
            .where(HotlistRank.snapshot_id == snapshot.id)
            .order_by(HotlistRank.rank)
        ).all()
        history = rank_history(
            session, entry_ids=[entry.id for _, _, entry in rows], since=history_since
        )
        ours = _events_of(session, url_hashes=[entry.url_hash for _, _, entry in rows])
        lists.append(
            CurrentList(
                outlet_id=snapshot.outlet_id, outlet_name=name, region=region, taken_at=snapshot.taken_at,
                entries=[
                    ListedEntry(rank, heat, _presence(entry, name, region), history.get(entry.id, []),
                                *ours.get(entry.url_hash, (None, None)))
                    for rank, heat, entry in rows
                ],
            )
        )
    return lists


def _events_of(session: Session, *, url_hashes: Sequence[str]) -> dict[str, tuple[int, str | None]]:
    """Link hash → (event, its level) for the entries that are items of an event."""
    if not url_hashes:
        return {}
    query = (
        select(Item.url_hash, Event.id, Event.level)
        .join(EventItem, EventItem.item_id == Item.id)
        .join(Event, Event.id == EventItem.event_id)
        .where(Item.url_hash.in_(list(url_hashes)))
    )
    return {url_hash: (event_id, level) for url_hash, event_id, level in session.execute(query)}


def rank_history(
    session: Session, *, entry_ids: Sequence[int], since: datetime | None = None
) -> dict[int, list[RankPoint]]:
    """Entry id → its (time, rank, heat) in every snapshot it was in, oldest first."""
    if not entry_ids:
        return {}
    query = (
        select(HotlistRank.entry_id, HotlistSnapshot.taken_at, HotlistRank.rank, HotlistRank.heat)
        .join(HotlistSnapshot, HotlistSnapshot.id == HotlistRank.snapshot_id)
        .where(HotlistRank.entry_id.in_(list(entry_ids)))
        .order_by(HotlistRank.entry_id, HotlistSnapshot.taken_at)
    )
    if since is not None:
        query = query.where(HotlistSnapshot.taken_at >= since)
    history: dict[int, list[RankPoint]] = {}
    for entry_id, at, rank, heat in session.execute(query):
        history.setdefault(entry_id, []).append(RankPoint(at, rank, heat))
    return history


def prune_rank_history(session: Session, *, before: datetime, batch: int | None = None) -> int:
    """Delete snapshots taken before `before` with their rank rows (the bulk of a hot list's
    storage: BENCHMARKS.md), oldest first, at most `batch` of them; each story's summary (first,
    best and latest rank, time on the list) stays. Returns the number of snapshots deleted."""
    old = select(HotlistSnapshot.id).where(HotlistSnapshot.taken_at < before).order_by(HotlistSnapshot.id)
    if batch is not None:
        old = old.limit(batch)
    ids = list(session.scalars(old))
    for start in range(0, len(ids), 500):  # bound the IN list (SQLite's variable limit)
        chunk = ids[start : start + 500]
        session.execute(
            delete(HotlistRank).where(HotlistRank.snapshot_id.in_(chunk)).execution_options(synchronize_session=False)
        )
        session.execute(
            delete(HotlistSnapshot).where(HotlistSnapshot.id.in_(chunk)).execution_options(synchronize_session=False)
        )
    return len(ids)


def prune_rank_history_in_batches(
    sessions: sessionmaker[Session], *, before: datetime, batch: int = 500
) -> Iterator[int]:
    """The scheduled prune (FENGHUO_HOTLIST_HISTORY_RETENTION): one short transaction per batch
    of snapshots (500 snapshots of a 50-entry list are 25,000 rank rows), so the crawler's own
    snapshot writes are never held up behind a month's backlog; yields each batch's size."""
    while True:
        with sessions.begin() as session:
            deleted = prune_rank_history(session, before=before, batch=batch)
        if not deleted:
            return
        yield deleted
        if deleted < batch:
            return
