"""Item store: insert parsed entries once, however often they are seen. The caller commits."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from monitor.db.models import Item
from monitor.identity import canonical_url, content_hash, script_language, url_hash

if TYPE_CHECKING:  # only a type: the parser's entries are what the store takes, not a dependency
    from monitor.fetch.parsed import ParsedEntry


@dataclass(frozen=True)
class StoreResult:
    new_ids: list[int]
    seen: int  # entries offered

    @property
    def duplicates(self) -> int:
        return self.seen - len(self.new_ids)


def store_entries(
    session: Session, *, outlet_id: str, entries: Iterable[ParsedEntry], now: datetime
) -> StoreResult:
    rows: dict[str, dict] = {}
    for entry in entries:
        canonical = canonical_url(entry.url)
        hashed = url_hash(canonical)
        if hashed in rows:
            continue
        rows[hashed] = dict(
            outlet_id=outlet_id,
            url=entry.url,
            canonical_url=canonical,
            url_hash=hashed,
            guid=entry.guid,
            content_hash=content_hash(entry.title, entry.text, canonical),
            title=entry.title[:1000],
            text=entry.text,
            author=entry.author[:200] if entry.author else None,
            source=entry.source[:200] if entry.source else None,
            language=script_language(f"{entry.title}\n{entry.text}"),
            published_at=entry.published_at,
            first_seen_at=now,
        )
    if not rows:
        return StoreResult([], 0)
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    # ON CONFLICT DO NOTHING on both unique keys (URL, and outlet + content): a duplicate is a
    # no-op, not an error, even when two workers store the same entry at once.
    # A Core insert on the table: the ORM's bulk path costs twice as much for the same SQL.
    table = Item.__table__
    statement = insert(table).on_conflict_do_nothing().returning(table.c.id)
    new_ids = list(session.execute(statement, list(rows.values())).scalars())
    return StoreResult(new_ids, len(rows))


def known_url_hashes(session: Session, *, hashes: list[str]) -> set[str]:
    if not hashes:
        return set()
    return set(session.scalars(select(Item.url_hash).where(Item.url_hash.in_(hashes))))


def count_items(session: Session, *, outlet_id: str | None = None) -> int:
    query = select(func.count()).select_from(Item)
    if outlet_id is not None:
        query = query.where(Item.outlet_id == outlet_id)
    return session.scalar(query) or 0


def latest_items(session: Session, *, limit: int = 50, outlet_id: str | None = None) -> list[Item]:
    query = select(Item).order_by(Item.first_seen_at.desc(), Item.id.desc()).limit(limit)
    if outlet_id is not None:
        query = query.where(Item.outlet_id == outlet_id)
    return list(session.scalars(query))


def get_item(session: Session, *, item_id: int) -> Item | None:
    return session.get(Item, item_id)


def items_since(
    session: Session, *, since: datetime, after_id: int = 0, limit: int = 1000
) -> list[tuple[int, str, str]]:
    """(id, title, text) of items first seen since `since`, in id order, a page at a time."""
    query = (
        select(Item.id, Item.title, Item.text)
        .where(Item.first_seen_at >= since, Item.id > after_id)
        .order_by(Item.id)
        .limit(limit)
    )
    return [tuple(row) for row in session.execute(query)]


def count_items_since(session: Session, *, since: datetime) -> int:
    return session.scalar(select(func.count()).select_from(Item).where(Item.first_seen_at >= since)) or 0


def titles_of(session: Session, *, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Item.id, Item.title).where(Item.id.in_(ids))).all())


def prune_bodies(
    session: Session, *, before: datetime, now: datetime, batch: int = 5000, after_id: int = 0
) -> list[int]:
    """Empty the raw text of up to `batch` items first seen before `before` (retention), the
    lowest ids above `after_id` first; returns their ids, ascending."""
    ids = list(session.scalars(
        select(Item.id)
        .where(Item.id > after_id, Item.first_seen_at < before, Item.pruned_at.is_(None))
        .order_by(Item.id)
        .limit(batch)
    ))
    if ids:
        session.execute(update(Item).where(Item.id.in_(ids)).values(text="", pruned_at=now))
    return ids


def prune_bodies_in_batches(
    sessions: sessionmaker[Session], *, before: datetime, now: datetime, batch: int = 5000
) -> Iterator[int]:
    """Prune every body first seen before `before`, one short transaction per batch (a large
    table stays writable meanwhile); yields each batch's size. Each batch starts at the id where
    the last one stopped: starting from the first row every time rescanned the pruned rows, which
    made a large backlog quadratic (1 M bodies took 152 s)."""
    after_id = 0
    while True:
        with sessions.begin() as session:
            ids = prune_bodies(session, before=before, now=now, batch=batch, after_id=after_id)
        if not ids:
            return
        after_id = ids[-1]
        yield len(ids)
