"""Search store: items by a rule-language query and filters, newest first or most relevant first.

The database narrows, the keyword library decides (monitor/analyze/query.py):

1. The query's `need` (the spellings an item must contain) becomes SQL. A spelling of three
   characters or more is looked up in the trigram index: FTS5 `MATCH` on SQLite (items_fts, kept in
   step by triggers, migrations 0015 and 0020), `ILIKE '%…%'` served by the pg_trgm GIN indexes on
   PostgreSQL. A new item is queued and indexed in a batch by the worker (index_backlog, right
   after each analysis; migration 0020), off the write path: the queued tail — seconds of intake
   while the worker keeps up — is searched by a substring test, so nothing recent is missed.
   A shorter spelling (停水, 水务: two-character words are most of Chinese) has no trigram of its
   own. On SQLite the index is padded so that it begins one (停水 → 停水通, 停水\x1f …): the
   index's vocabulary lists those, and the query asks for any of them. On PostgreSQL (pg_trgm
   extracts no trigram from a pattern under three characters) a GIN index over every
   two-character substring of title and body serves two-character spellings (_Bigrams,
   migration 0020); one character stays a substring test. A very common word (in more than
   BROAD_ROWS rows, by the FTS5 vocabulary's counts or by counting through the bigram index;
   on SQLite also one that begins more than EXPANSION_LIMIT trigrams), whatever its length, is
   instead a substring test on rows in time order that stops as soon as the page is full: sooner
   than listing and sorting every row that has it (BENCHMARKS.md "Full-text search"). Ranking
   by relevance needs the newest RELEVANCE_LIMIT matches, not a page: the same choice, with the
   line at RELEVANCE_BROAD_ROWS rows. On PostgreSQL each rare spelling is
   looked up once, for its rows' ids, and the and/or tree is evaluated on those ids in Python
   (_Bigrams.narrow): the page's query reads the survivors by primary key.
2. Every candidate row is then matched by the library with the query as one of its rules; only
   items the rule matches are returned, with its spans as highlights. Search results are therefore
   the rule's results, on either engine.

Pages are keyset cursors (opaque strings): by time, (first_seen_at, id) of the last item; by
relevance, its place in the ranking. Relevance ranks at most RELEVANCE_LIMIT of the newest
matching items (`SearchPage.truncated` says when there were more).

Relevance = 3 × occurrences in the title + occurrences in the body (the rule's positive terms,
after exclusion words), newest first among equals: simple, the same on both engines, and
explainable to the person reading the list.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice

from sqlalchemy import (BigInteger, Boolean, and_, any_, bindparam, cast, exists, func, literal_column, or_,
                        select, Text, text, true)
from sqlalchemy.sql.elements import Grouping
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Session, sessionmaker

from monitor.analyze.library import joined_text
from monitor.analyze.query import AllOf, AnyOf, Contains, Need, SearchQuery
from monitor.analyze.text import normalise
from monitor.db.drills import hide_drills
from monitor.db.models import Event, EventItem, Item, ItemAnalysis, Outlet
from monitor.records import NEGATIVE_CALL as NEGATIVE_AT, POSITIVE_BELOW

TONES = ("negative", "neutral", "positive")
SORTS = ("time", "relevance")
RELEVANCE_LIMIT = 1000
TITLE_WEIGHT = 3
SNIPPET_CHARS = 120  # around the first highlighted term of the body
_TRIGRAM = 3
EXPANSION_LIMIT = 300
# A short word in more rows than this (counted from the trigrams it begins) is searched by a scan
# in time order that stops when the page is full: 中国 over 100,000 items took 139 ms through
# the index (every matching row sorted by time) and 26 ms by the scan (bench/search.py).
BROAD_ROWS = 5_000
# PostgreSQL: a bigram that ANALYZE's sample puts in this many times BROAD_ROWS rows is taken
# as common without listing its rows (a sample's estimate is rough; an error costs time only).
SURELY_COMMON = 4
# Ranking reads the newest RELEVANCE_LIMIT matches, twenty times a page: listing a word's rows
# through the index pays off up to about this many rows, and a scan in time order beyond (at
# 1,000,000 items on PostgreSQL: 学生, 12,849 rows, 0.45 s listed and 0.6 s scanned; 银行,
# 119,104 rows, 17 s listed and 0.3 s scanned: bench/relevance.py with the line moved).
RELEVANCE_BROAD_ROWS = 20_000

# Schema objects the migration makes outside the ORM (an FTS5 table and its shadow tables, GIN
# indexes): the comparison of models and migrations leaves them out.
OUTSIDE_THE_ORM = frozenset({
    "items_fts", "items_fts_vocab", "items_fts_data", "items_fts_idx", "items_fts_docsize", "items_fts_config",
    "ix_items_search_title", "ix_items_search_text",
    # The queue of items not indexed yet (migration 0020): a table on SQLite, a column and its
    # partial index on PostgreSQL.
    "search_backlog", "search_indexed", "ix_items_search_backlog",
    "ix_items_search_bigrams",  # PostgreSQL: two-character terms (migration 0020)
})
# Items indexed per transaction by index_backlog: ~1 ms each, so the SQLite write lock is held
# about half a second at a time and the fetcher's writes wait no longer than that.
BACKLOG_BATCH = 500
QUEUE_CHUNK = 10_000  # queued ids per statement (SQLite allows 32,766 bound values)
_INDEXED = literal_column("items.search_indexed", Boolean)  # PostgreSQL
# PostgreSQL: the bigrams of title and body, exactly as migration 0020's expression index has them
# (the planner uses the index only for this very expression).
_BIGRAMS = Grouping(func.search_bigrams(Item.title, type_=ARRAY(Text)).op("||")(
    func.search_bigrams(Item.text, type_=ARRAY(Text))))


class CursorError(ValueError):
    """A cursor that this search did not hand out (or one from another sort order)."""


@dataclass(frozen=True)
class Filters:
    since: datetime | None = None  # first seen at or after
    until: datetime | None = None  # first seen before
    outlets: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    tones: tuple[str, ...] = ()  # negative | neutral | positive (monitor/reports/figures.py tone)
    risk_at_least: int | None = None
    groups: tuple[str, ...] = ()  # keyword groups the item's analysis hit
    event_id: int | None = None
    levels: tuple[str, ...] = ()  # the warning level of the item's event


@dataclass(frozen=True)
class SearchHit:
    id: int
    outlet_id: str
    outlet_name: str
    tier: str
    url: str
    title: str
    published_at: datetime | None
    first_seen_at: datetime
    pruned: bool
    negative_prob: float | None
    risk: int | None
    groups: tuple[str, ...]
    event_id: int | None
    level: str | None
    score: int  # relevance; 0 without a query
    title_highlights: tuple[tuple[int, int], ...]  # spans in `title`
    snippet: str  # from the body around the first body highlight, or its start
    snippet_highlights: tuple[tuple[int, int], ...]  # spans in `snippet`

    @property
    def tone(self) -> str | None:
        if self.negative_prob is None:
            return None
        if self.negative_prob >= NEGATIVE_AT:
            return "negative"
        return "positive" if self.negative_prob < POSITIVE_BELOW else "neutral"


@dataclass
class SearchPage:
    hits: list[SearchHit]
    next_cursor: str | None
    scanned: int = 0  # candidate rows the library looked at (what the index could not decide)
    truncated: bool = False  # relevance: more matches than RELEVANCE_LIMIT; the newest were ranked
    terms: list[str] = field(default_factory=list)


def search_items(
    session: Session,
    *,
    query: SearchQuery | None,
    filters: Filters = Filters(),
    sort: str = "time",
    cursor: str | None = None,
    limit: int = 50,
) -> SearchPage:
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    hide_drills(session)  # a drill's items are not in the archive
    postgres = session.bind.dialect.name == "postgresql"
    base = _base_query(filters, postgres)
    if query is not None and query.need is not None:
        broad_rows = BROAD_ROWS if sort == "time" else RELEVANCE_BROAD_ROWS
        if postgres:
            base = base.where(_Bigrams(session, broad_rows).narrow(query.need).clause())
        else:
            base = base.where(_condition(query.need, postgres, _Index(session, broad_rows)))
    terms = sorted(query.terms) if query else []
    if sort == "relevance" and query is not None:
        return _by_relevance(session, base, query, cursor, limit, terms)
    return _by_time(session, base, query, cursor, limit, terms)


# -- the queue of items to index ---------------------------------------------------------------


def index_queued(session: Session, *, batch: int = BACKLOG_BATCH) -> int:
    """Index up to `batch` queued items, oldest first (migration 0020); returns how many.
    SQLite: leaving the backlog indexes the item (a trigger). PostgreSQL: flipping the flag puts
    the row into the partial GIN indexes; SKIP LOCKED lets two workers share the queue."""
    if session.bind.dialect.name == "postgresql":
        statement = ("UPDATE items SET search_indexed = true WHERE id IN (SELECT id FROM items "
                     "WHERE NOT search_indexed ORDER BY id LIMIT :batch FOR UPDATE SKIP LOCKED)")
    else:
        statement = ("DELETE FROM search_backlog WHERE item_id IN "
                     "(SELECT item_id FROM search_backlog ORDER BY item_id LIMIT :batch)")
    return session.execute(text(statement), {"batch": batch}).rowcount


def index_backlog(sessions: sessionmaker[Session], *, batch: int = BACKLOG_BATCH, at_most: int = 20_000) -> int:
    """Index queued items, one short transaction per batch, until none are left or `at_most`
    were done (the rest wait for the next call: each call is bounded). Returns how many."""
    done = 0
    while done < at_most:
        with sessions.begin() as session:
            indexed = index_queued(session, batch=min(batch, at_most - done))
        done += indexed
        if indexed == 0:
            break
    return done


def backlog_age(session: Session, *, now: datetime) -> float:
    """How long the oldest queued item has waited to be indexed (seconds; 0 when none waits).
    Searches still find queued items (a substring scan of the queue), but each one slows every
    search: a queue that only grows means no worker is indexing (e.g. `fenghuo api` alone).
    The oldest queued item is the lowest id, found through the queue's own index."""
    if session.bind.dialect.name == "postgresql":
        statement = "SELECT first_seen_at FROM items WHERE NOT search_indexed ORDER BY id LIMIT 1"
    else:
        statement = ("SELECT first_seen_at FROM items WHERE id = "
                     "(SELECT item_id FROM search_backlog ORDER BY item_id LIMIT 1)")
    oldest = session.execute(select(Item.first_seen_at).from_statement(text(statement))).scalar()
    return max(0.0, round((now - oldest).total_seconds(), 3)) if oldest else 0.0


def backlog_size(session: Session) -> int:
    """How many items wait to be indexed (searched meanwhile by a substring test)."""
    if session.bind.dialect.name == "postgresql":
        return session.scalar(text("SELECT count(*) FROM items WHERE NOT search_indexed"))
    return session.scalar(text("SELECT count(*) FROM search_backlog"))


# -- SQL ---------------------------------------------------------------------------------------


def _base_query(filters: Filters, postgres: bool):
    """(id, first_seen_at) of the items the filters admit. Only keys: sorting them by time does
    not drag bodies through the sorter (a broad term made SQLite sort every matching row whole)."""
    query = select(Item.id, Item.first_seen_at)
    if filters.tiers:
        query = query.join(Outlet, Outlet.id == Item.outlet_id).where(Outlet.tier.in_(filters.tiers))
    if filters.tones or filters.risk_at_least is not None or filters.groups:
        query = query.join(ItemAnalysis, ItemAnalysis.item_id == Item.id)
    if filters.event_id is not None or filters.levels:
        query = query.join(EventItem, EventItem.item_id == Item.id)
    if filters.levels:
        query = query.join(Event, Event.id == EventItem.event_id).where(Event.level.in_(filters.levels))
    if filters.since is not None:
        query = query.where(Item.first_seen_at >= filters.since)
    if filters.until is not None:
        query = query.where(Item.first_seen_at < filters.until)
    if filters.outlets:
        query = query.where(Item.outlet_id.in_(filters.outlets))
    if filters.tones:
        bands = {
            "negative": ItemAnalysis.negative_prob >= NEGATIVE_AT,
            "neutral": and_(ItemAnalysis.negative_prob >= POSITIVE_BELOW, ItemAnalysis.negative_prob < NEGATIVE_AT),
            "positive": ItemAnalysis.negative_prob < POSITIVE_BELOW,
        }
        query = query.where(or_(*(bands[t] for t in filters.tones)))
    if filters.risk_at_least is not None:
        query = query.where(ItemAnalysis.risk >= filters.risk_at_least)
    if filters.groups:
        query = query.where(or_(*(_hit_group(g, postgres) for g in filters.groups)))
    if filters.event_id is not None:
        query = query.where(EventItem.event_id == filters.event_id)
    return query


def _details(session: Session, ids: list[int]) -> list:
    """The rows to show and to verify, in the order of `ids`."""
    if not ids:
        return []
    query = (
        select(
            Item.id, Item.outlet_id, Outlet.name.label("outlet_name"), Outlet.tier, Item.url, Item.title,
            Item.text, Item.published_at, Item.first_seen_at, Item.pruned_at, ItemAnalysis.negative_prob,
            ItemAnalysis.risk, ItemAnalysis.hits, EventItem.event_id, Event.level,
        )
        .join(Outlet, Outlet.id == Item.outlet_id)
        .outerjoin(ItemAnalysis, ItemAnalysis.item_id == Item.id)
        .outerjoin(EventItem, EventItem.item_id == Item.id)
        .outerjoin(Event, Event.id == EventItem.event_id)
        .where(Item.id.in_(ids))
    )
    found = {row.id: row for row in session.execute(query)}
    return [found[i] for i in ids if i in found]


def _hit_group(group: str, postgres: bool):
    """The item's analysis has a hit in keyword group `group` (hits: a JSON list of RuleHit)."""
    if postgres:
        return cast(ItemAnalysis.hits, JSONB).contains([{"group": group}])
    each = func.json_each(ItemAnalysis.hits).table_valued("value")
    return exists(select(1).select_from(each).where(func.json_extract(each.c.value, "$.group") == group))


def _condition(need: Need, postgres: bool, index):
    if isinstance(need, AllOf):
        return and_(*(_condition(part, postgres, index) for part in need.parts))
    if isinstance(need, AnyOf):
        return or_(*(_condition(part, postgres, index) for part in need.parts))
    return _contains(need, postgres, index)


class _Index:
    """SQLite: what the FTS5 vocabulary says about a spelling.

    Every column is indexed padded with two U+001F (migration 0011), so a spelling of one or two
    characters occurs in a row exactly when one of the row's trigrams begins with it."""

    def __init__(self, session: Session, broad_rows: int | None = None) -> None:
        self.session = session
        self._queue: list[int] | None = None  # read once per search
        self.broad_rows = BROAD_ROWS if broad_rows is None else broad_rows

    def trigrams(self, spelling: str) -> list[str] | None:
        """The indexed trigrams a short spelling begins; None when it is too common for the index
        to help (more than EXPANSION_LIMIT of them, or in more than broad_rows rows)."""
        found = self.session.execute(
            text("SELECT term, doc FROM items_fts_vocab WHERE term >= :low AND term <= :low || char(1114111) "
                 "LIMIT :limit"),
            {"low": spelling.lower(), "limit": EXPANSION_LIMIT + 1},
        ).all()
        if len(found) > EXPANSION_LIMIT or sum(doc for _, doc in found) > self.broad_rows:
            return None
        return [term for term, _ in found]

    def queued(self, spellings: list[str]) -> list[int]:
        """Ids of the items still queued for the index whose title or body contains one of the
        spellings: a substring test over the queue, which is short while the worker keeps up.

        The queue's ids are read first, then those items by id: as one join, SQLite's planner,
        once ANALYZE had seen the queue empty, read every item and probed the queue for each
        (400 ms a term at 100,000 items)."""
        if self._queue is None:
            self._queue = list(self.session.scalars(text("SELECT item_id FROM search_backlog ORDER BY item_id")))
        found: list[int] = []
        for start in range(0, len(self._queue), QUEUE_CHUNK):
            found += self.session.scalars(select(Item.id).where(
                Item.id.in_(self._queue[start : start + QUEUE_CHUNK]),
                or_(*(_substring(s, False) for s in spellings))))
        return found

    def broad(self, spelling: str) -> bool:
        """Is a long spelling in more than broad_rows rows? (At most as many as its rarest trigram.)"""
        folded = spelling.lower()
        grams = {folded[i : i + _TRIGRAM] for i in range(len(folded) - _TRIGRAM + 1)}
        counts = self.session.execute(
            text("SELECT doc FROM items_fts_vocab WHERE term IN :grams").bindparams(
                bindparam("grams", expanding=True)), {"grams": sorted(grams)},
        ).scalars().all()
        return len(counts) == len(grams) and min(counts) > self.broad_rows


def _contains(need: Contains, postgres: bool, index):
    """Title or body contains one of the spellings, case-insensitively."""
    spellings = sorted(need.spellings)
    if postgres:
        return index.contains(need).clause()
    tokens: list[str] = []
    for spelling in spellings:
        if len(spelling) < _TRIGRAM:
            found = index.trigrams(spelling)
            if found is None:
                break
            tokens += found  # an exact trigram: a phrase of one token
        elif index.broad(spelling):
            break
        else:
            tokens.append(spelling)
    else:
        # The queued items that have it, looked up first: usually none, and then the query is
        # the index's alone (an IN over the index's rows and the queue's together made SQLite
        # scan every item in time order instead: 1.3 s for a term that occurs nowhere).
        queued = index.queued(spellings)
        if not tokens:
            return Item.id.in_(queued)  # no indexed trigram begins with it: only a queued item may
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in tokens)
        found = Item.id.in_(
            select(literal_column("rowid")).select_from(text("items_fts"))
            .where(literal_column("items_fts").op("MATCH")(match))
        )
        return or_(found, Item.id.in_(queued)) if queued else found
    # A word in many rows: test rows in time order and stop when the page is full (sooner than
    # the index can list every row that has it and sort them all by time).
    return or_(*(_substring(s, postgres) for s in spellings))


@dataclass(frozen=True)
class _Narrowed:
    """PostgreSQL: the rows whose id is in `ids` (None: any id) and that meet every condition in
    `where`."""

    ids: frozenset[int] | None
    where: tuple = ()

    def clause(self):
        parts = list(self.where)
        if self.ids is not None:
            parts.insert(0, Item.id == any_(cast(sorted(self.ids), ARRAY(BigInteger))))
        return and_(true(), *parts)


class _Bigrams:
    """PostgreSQL: a query's need, narrowed through the bigram and trigram indexes.

    Each spelling in fewer than BROAD_ROWS indexed rows is looked up once, for the ids of the rows
    that have it (the one statement that tells whether it is common); an AllOf intersects the
    parts' ids and an AnyOf unites them, here, so the query that pages the results in time order
    reads a short list of ids by primary key. (Counting each term through its index and then
    intersecting the indexes again in the page's query did every lookup twice: the issue's rule
    took 111 ms at 100,000 items.) A common spelling, or one of one character, is a substring
    test instead, on rows in time order, that stops when the page is full."""

    def __init__(self, session: Session, broad_rows: int | None = None) -> None:
        self.session = session
        self.broad_rows = BROAD_ROWS if broad_rows is None else broad_rows
        self._frequent: dict[str, float] | None = None  # read once per search
        self._queue: list[int] | None = None  # likewise

    def surely_common(self, bigram: str) -> bool:
        """ANALYZE's sample of the bigram index (its most common elements and their frequencies)
        puts `bigram` in far more than BROAD_ROWS rows: no need to find out by listing them.
        (Finding out took 120 ms for 中国 at 200,000 items, more than the scan it led to.) A
        sample that is wrong only changes the plan, never the results."""
        if self._frequent is None:
            row = self.session.execute(text(
                "SELECT most_common_elems::text::text[], most_common_elem_freqs, reltuples FROM pg_stats "
                "JOIN pg_class ON relname = 'items' WHERE tablename = 'ix_items_search_bigrams'")).first()
            self._frequent = {}
            if row is not None and row[0] is not None and row[2] > 0:
                self._frequent = {e: f * row[2] for e, f in zip(row[0], row[1])}
        return self._frequent.get(bigram, 0) > SURELY_COMMON * self.broad_rows

    def narrow(self, need: Need) -> _Narrowed:
        if isinstance(need, Contains):
            return self.contains(need)
        if isinstance(need, AllOf):
            return self._all_of(need)
        parts = [self.narrow(part) for part in need.parts]
        if all(part.ids is not None and not part.where for part in parts):
            return _Narrowed(frozenset().union(*(part.ids for part in parts)))
        return _Narrowed(None, (or_(*(part.clause() for part in parts)),))

    def _all_of(self, need: AllOf) -> _Narrowed:
        """Every part: the parts' ids intersected. Single terms are looked up first; once the
        rows are few (at most BROAD_ROWS), the remaining parts are a substring test on those
        rows, which the page's query reads anyway, instead of lookups of their own (each term's
        rows read from the table: 停水 and 断水 after 水务 doubled the rule's cost)."""
        together = self._together(need)
        if together is not None:
            return together
        known: frozenset[int] | None = None
        where: list = []
        for part in sorted(need.parts, key=lambda part: not isinstance(part, Contains)):
            if known is not None and len(known) <= self.broad_rows:
                where.append(_substring_of(part))
                continue
            narrowed = self.narrow(part)
            if narrowed.ids is not None:
                known = narrowed.ids if known is None else known & narrowed.ids
            where += narrowed.where
        return _Narrowed(known, tuple(where))

    def _together(self, need: AllOf) -> _Narrowed | None:
        """Every part at once, when each is two-character spellings (a word, or words any of
        which will do): one statement that the bigram index answers by itself, `@>` for a part
        of one spelling and `&&` for several, so that only the rows that have them all are read
        from the table. None when a part is anything else, when every part has a spelling the
        statistics call common, or when more than BROAD_ROWS rows have them all; then the parts
        are looked up one by one. (One by one, the issue's rule at 1,000,000 items read every row
        with 水务 — 6,805, listed up to 5,001 to find that it is common — and each of 停水, 断水
        and 斷水 on its own: 120 ms of lookups, against 16 ms for this one statement.)"""
        groups = [_two_character_spellings(part) for part in need.parts]
        if len(groups) < 2 or None in groups:
            return None
        if all(any(self.surely_common(spelling) for spelling in group) for group in groups):
            return None
        conditions = [
            _BIGRAMS.contains(cast(sorted(group), ARRAY(Text))) if len(group) == 1
            else _BIGRAMS.overlap(cast(sorted(group), ARRAY(Text)))
            for group in groups
        ]
        ids = set(self.session.scalars(select(Item.id).where(_INDEXED, *conditions).limit(self.broad_rows + 1)))
        if len(ids) > self.broad_rows:
            return None
        queued = set.intersection(*(self.queued(sorted(group)) for group in groups))
        return _Narrowed(frozenset(ids | queued))

    def contains(self, need: Contains) -> _Narrowed:
        """Title or body contains one of the spellings, case-insensitively."""
        spellings = sorted(need.spellings)
        ids: set[int] = set()
        for spelling in spellings:
            found = self.lookup(spelling)
            if found is None:
                break
            ids |= found
        else:
            return _Narrowed(frozenset(ids | self.queued(spellings)))
        # A word in many rows: test rows in time order and stop when enough have it.
        return _Narrowed(None, (or_(*(_substring(s, True, like=len(s) >= _TRIGRAM) for s in spellings)),))

    def lookup(self, spelling: str) -> set[int] | None:
        """The ids of the indexed rows that contain `spelling`; None when it has no index to go
        through (one character) or is in more than BROAD_ROWS rows."""
        if len(spelling) >= _TRIGRAM and self.broad(spelling) or len(spelling) == 2 and self.surely_common(spelling):
            return None
        rows = self.rows_with(spelling)
        if rows is None:
            return None
        ids = set(self.session.scalars(rows.limit(self.broad_rows + 1)))
        return ids if len(ids) <= self.broad_rows else None

    @classmethod
    def rows_with(cls, spelling: str):
        """The ids of the indexed rows that contain `spelling`, through its index; None without one."""
        condition = cls._indexed(spelling)
        return None if condition is None else select(Item.id).where(_INDEXED, condition)

    @staticmethod
    def _indexed(spelling: str):
        """The condition an index serves for `spelling`, if any: pg_trgm's GIN indexes serve ILIKE
        for three characters and more, the bigram index two characters."""
        if len(spelling) >= _TRIGRAM:
            return _substring(spelling, True, like=True)
        return _has_bigram(spelling) if len(spelling) == 2 else None

    def queued(self, spellings: list[str]) -> set[int]:
        """Ids of the items still queued for the index (outside the partial GIN indexes; a
        partial btree lists them) whose title or body contains one of the spellings. A plain
        substring test where there is no case to fold (ILIKE lower-cases every multibyte
        character first: ~100 µs per 200-character body). The queue's ids are read once per
        search: usually there are none, and then no term costs a query for them."""
        if self._queue is None:
            self._queue = list(self.session.scalars(select(Item.id).where(~_INDEXED)))
        found: set[int] = set()
        for start in range(0, len(self._queue), QUEUE_CHUNK):
            found.update(self.session.scalars(select(Item.id).where(
                Item.id == any_(cast(self._queue[start : start + QUEUE_CHUNK], ARRAY(BigInteger))),
                or_(*(_substring(s, True) for s in spellings)))))
        return found

    def common(self, spelling: str) -> bool:
        """A two-character spelling in more than BROAD_ROWS indexed rows: counted through the
        index, up to one more."""
        if self.surely_common(spelling):
            return True
        rows = select(literal_column("1")).where(_INDEXED, _has_bigram(spelling)).limit(self.broad_rows + 1)
        return self.session.scalar(select(func.count()).select_from(rows.subquery())) > self.broad_rows

    def broad(self, spelling: str) -> bool:
        """Is a long spelling in more than broad_rows rows? Every one of its bigrams is, then
        (exact counts, where pg_trgm would re-test each row it lists: listing every row that has
        有限公司 and sorting them took 1.6 s at 100,000 items, the scan in time order 35 ms)."""
        folded = spelling.lower()
        return all(self.common(folded[i : i + 2]) for i in range(len(folded) - 1))


def _two_character_spellings(need: Need) -> set[str] | None:
    """The lower-cased spellings of a need that is a word, or words any of which will do, when
    every spelling is two characters long (what the bigram index holds exactly); else None."""
    parts = need.parts if isinstance(need, AnyOf) else (need,)
    if not all(isinstance(part, Contains) for part in parts):
        return None
    spellings = {spelling.lower() for part in parts for spelling in part.spellings}
    return spellings if all(len(spelling) == 2 for spelling in spellings) else None


def _substring_of(need: Need):
    """PostgreSQL: the need as substring tests, for rows already narrowed down to a few."""
    if isinstance(need, Contains):
        return or_(*(_substring(s, True, like=len(s) >= _TRIGRAM) for s in sorted(need.spellings)))
    return (and_ if isinstance(need, AllOf) else or_)(*(_substring_of(part) for part in need.parts))


def _has_bigram(spelling: str):
    return _BIGRAMS.contains(cast([spelling.lower()], ARRAY(Text)))


def _substring(spelling: str, postgres: bool, like: bool = False):
    return or_(_in(Item.title, spelling, postgres, like), _in(Item.text, spelling, postgres, like))


def _in(column, spelling: str, postgres: bool, like: bool = False):
    """`column` contains `spelling`, case-insensitively."""
    if not like and spelling.lower() == spelling.upper():
        # Nothing to fold (Chinese): a plain substring test, 30% cheaper than LIKE's matcher
        # (measured on SQLite).
        position = func.strpos if postgres else func.instr
        return position(column, spelling) > 0
    compare = "ilike" if postgres else "like"  # SQLite's LIKE folds ASCII case
    return getattr(column, compare)(_like_pattern(spelling), escape="\\")


def _like_pattern(spelling: str) -> str:
    escaped = spelling.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# -- paging ------------------------------------------------------------------------------------


class _NewestFirst:
    """The hits among `base`'s rows, newest first, from `position` on: keys read in chunks of
    `chunk`, each chunk's rows read and matched by the library. Reads no further than its
    consumer takes, so a page in time order and the newest matches to rank both stop early.
    `scanned` counts the candidate rows the library looked at."""

    def __init__(self, session, base, query, position, chunk: int) -> None:
        self.session, self.base, self.query = session, base, query
        self.position, self.chunk = position, chunk
        self.scanned = 0

    def __iter__(self) -> Iterator[SearchHit]:
        position = self.position
        while True:
            page = self.base
            if position is not None:
                at, last_id = datetime.fromisoformat(position[0]), position[1]
                page = page.where(or_(Item.first_seen_at < at, and_(Item.first_seen_at == at, Item.id < last_id)))
            keys = self.session.execute(
                page.order_by(Item.first_seen_at.desc(), Item.id.desc()).limit(self.chunk)).all()
            for row in _details(self.session, [key.id for key in keys]):
                self.scanned += 1
                hit = _hit(row, self.query)
                if hit is not None:
                    yield hit
            if len(keys) < self.chunk:
                return
            position = (keys[-1].first_seen_at.isoformat(), keys[-1].id)


def _by_time(session, base, query, cursor, limit, terms) -> SearchPage:
    # Candidates in chunks a few times the page: most pass the library when the index did the
    # work, few when a common word is a substring test; either way, stop when the page is full.
    matches = _NewestFirst(session, base, query, _decode(cursor, "time"), chunk=max(limit * 4, 200))
    hits = list(islice(matches, limit + 1))  # one more than asked: is there a next page?
    next_cursor = None
    if len(hits) > limit:
        hits = hits[:limit]
        next_cursor = _encode("time", hits[-1].first_seen_at.isoformat(), hits[-1].id)
    return SearchPage(hits, next_cursor, matches.scanned, terms=terms)


def _by_relevance(session, base, query, cursor, limit, terms) -> SearchPage:
    """Ranks the newest RELEVANCE_LIMIT matches, found as a page in time order is: through the
    index for a rare word, by a scan in time order that stops at the limit for a common one.
    (Listing every match of a common word through the index to keep the newest 1,000 took
    16 s for 有限公司 at 1,000,000 items on PostgreSQL; BENCHMARKS.md "Full-text search".)"""
    position = _decode(cursor, "relevance")
    matches = _NewestFirst(session, base, query, None, chunk=RELEVANCE_LIMIT + 1)
    ranked = list(islice(matches, RELEVANCE_LIMIT + 1))
    truncated = len(ranked) > RELEVANCE_LIMIT
    ranked = ranked[:RELEVANCE_LIMIT]
    ranked.sort(key=_rank)
    if position is not None:
        after = (-int(position[0]), _negated_time(datetime.fromisoformat(position[1])), -int(position[2]))
        ranked = [hit for hit in ranked if _rank(hit) > after]
    page = ranked[:limit]
    next_cursor = None
    if len(ranked) > limit:
        last = page[-1]
        next_cursor = _encode("relevance", last.score, last.first_seen_at.isoformat(), last.id)
    return SearchPage(page, next_cursor, matches.scanned, truncated, terms)


def _rank(hit: SearchHit) -> tuple:
    return (-hit.score, _negated_time(hit.first_seen_at), -hit.id)


def _negated_time(at: datetime) -> float:
    return -at.timestamp()


def _encode(sort: str, *key) -> str:
    return base64.urlsafe_b64encode(json.dumps([sort, *key]).encode()).decode().rstrip("=")


def _decode(cursor: str | None, sort: str) -> list | None:
    if not cursor:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        raise CursorError("not a cursor from this search (pass next_cursor back unchanged)") from None
    if not isinstance(data, list) or not data or data[0] != sort:
        raise CursorError(f"this cursor belongs to another sort order, not sort={sort}")
    return data[1:]


# -- one result --------------------------------------------------------------------------------


def _hit(row, query: SearchQuery | None) -> SearchHit | None:
    title, body = row.title, row.text or ""
    title_spans: list[tuple[int, int]] = []
    body_spans: list[tuple[int, int]] = []
    score = 0
    shown_title, shown_body = title, body
    if query is not None:
        matched = query.match(title, body)
        if matched is None:
            return None
        joined, title_length = joined_text(title, body)
        body_start = len(joined) - len(normalise(body))
        for start, end in matched.spans:
            if end <= title_length:
                title_spans.append((start, end))
            elif start >= body_start:
                body_spans.append((start - body_start, end - body_start))
        score = TITLE_WEIGHT * len(title_spans) + len(body_spans)
        # Spans index the normalised text; where normalising changed a length (rare: ligatures,
        # circled numbers), show the normalised text so that the highlights stay on their words.
        if title_length != len(title):
            shown_title = joined[:title_length]
        if len(joined) - body_start != len(body):
            shown_body = joined[body_start:]
    snippet, snippet_spans = _snippet(shown_body, body_spans)
    groups = tuple(dict.fromkeys(hit["group"] for hit in row.hits or []))
    return SearchHit(
        id=row.id, outlet_id=row.outlet_id, outlet_name=row.outlet_name, tier=row.tier, url=row.url,
        title=shown_title, published_at=row.published_at, first_seen_at=row.first_seen_at,
        pruned=row.pruned_at is not None, negative_prob=row.negative_prob, risk=row.risk, groups=groups,
        event_id=row.event_id, level=row.level, score=score, title_highlights=tuple(title_spans),
        snippet=snippet, snippet_highlights=snippet_spans,
    )


def _snippet(body: str, spans: list[tuple[int, int]]) -> tuple[str, tuple[tuple[int, int], ...]]:
    if not body:
        return "", ()
    if not spans:
        return body[:SNIPPET_CHARS], ()
    first = spans[0][0]
    start = max(0, min(first - SNIPPET_CHARS // 3, len(body) - SNIPPET_CHARS))
    end = start + SNIPPET_CHARS
    inside = tuple((max(s, start) - start, min(e, end) - start) for s, e in spans if s < end and e > start)
    return body[start:end], inside


def all_hits(
    session: Session, *, query: SearchQuery | None, filters: Filters = Filters(), sort: str = "time",
    at_most: int = 10_000,
) -> tuple[list[SearchHit], bool]:
    """Every hit, page by page, up to `at_most` (for an export); and whether there were more."""
    hits: list[SearchHit] = []
    cursor = None
    while len(hits) < at_most:
        page = search_items(session, query=query, filters=filters, sort=sort, cursor=cursor,
                            limit=min(500, at_most - len(hits)))
        hits += page.hits
        cursor = page.next_cursor
        if cursor is None:
            return hits, False
    return hits, cursor is not None
