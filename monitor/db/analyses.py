"""Item-analysis store: which items await analysis, and saving scores. The caller commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from monitor.db.models import Item, ItemAnalysis

if TYPE_CHECKING:  # the store only reads a score's fields; the analysis that makes it sits above
    from monitor.analyze.score import ItemScore


@dataclass(frozen=True)
class ItemText:
    id: int
    title: str
    text: str


def items_to_analyse(
    session: Session,
    *,
    limit: int,
    stale_for: tuple[str, str] | None = None,
    after_id: int = 0,
    claim: bool = False,
) -> list[ItemText]:
    """Items with no analysis yet, oldest first; with stale_for=(library version, model), also
    those analysed by another version or model (a back-fill). With claim (PostgreSQL), the rows
    are locked for the caller's transaction and skipped by other workers claiming at once."""
    query = (
        select(Item.id, Item.title, Item.text)
        .outerjoin(ItemAnalysis, ItemAnalysis.item_id == Item.id)
        .where(Item.id > after_id, _pending(stale_for))
        .order_by(Item.id)
        .limit(limit)
    )
    if claim:
        query = query.with_for_update(skip_locked=True, of=Item)
    return [ItemText(*row) for row in session.execute(query)]


def count_to_analyse(session: Session, *, stale_for: tuple[str, str] | None = None) -> int:
    query = (
        select(func.count())
        .select_from(Item)
        .outerjoin(ItemAnalysis, ItemAnalysis.item_id == Item.id)
        .where(_pending(stale_for))
    )
    return session.scalar(query) or 0


def _pending(stale_for: tuple[str, str] | None):
    """Not analysed; or, with stale_for, analysed by another library version or model — unless
    retention pruned its text (a score from the title alone would be worse than the old one)."""
    if stale_for is None:
        return ItemAnalysis.item_id.is_(None)
    version, model = stale_for
    return or_(
        ItemAnalysis.item_id.is_(None),
        and_(Item.pruned_at.is_(None), or_(ItemAnalysis.library_version != version, ItemAnalysis.model != model)),
    )


def save_scores(session: Session, *, scores: list[tuple[int, ItemScore]], now: datetime) -> None:
    if not scores:
        return
    rows = [
        dict(
            item_id=item_id,
            library_version=score.library_version,
            model=score.model,
            negative_prob=score.negative_probability,
            item_negative_prob=score.item_negative_probability,
            keyword_strength=score.keyword_strength,
            risk=score.risk,
            hits=score.hits_as_json(),
            reasons=score.reasons_as_json(),
            analysed_at=now,
        )
        for item_id, score in scores
    ]
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    statement = insert(ItemAnalysis.__table__)
    replace = {
        column: statement.excluded[column]
        for column in rows[0]
        if column != "item_id"
    }
    session.execute(statement.on_conflict_do_update(index_elements=["item_id"], set_=replace), rows)


def analysis_of(session: Session, *, item_id: int) -> ItemAnalysis | None:
    return session.get(ItemAnalysis, item_id)
