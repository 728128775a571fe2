"""An item keeps who wrote it and which outlet it credits (来源): the start of a reprint chain."""

from datetime import UTC, datetime

from sqlalchemy import select

from monitor.db import items as item_store
from monitor.db.models import Item, Outlet
from monitor.fetch.parsed import ParsedEntry

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_author_and_source_are_stored_with_the_item(sessions):
    with sessions.begin() as session:
        session.add(Outlet(id="news163", name="网易", kind="html", url="http://163.invalid/",
                           tier="portal", region="全国", config={}, interval_seconds=600))
    entries = [
        ParsedEntry(url="http://163.invalid/a/1.html", title="国务院联防联控机制印发通知", text="正文",
                    author="李曦", source="新华社"),
        ParsedEntry(url="http://163.invalid/a/2.html", title="没有来源的一篇", text="另一段正文",
                    author="x" * 300),
    ]
    with sessions.begin() as session:
        item_store.store_entries(session, outlet_id="news163", entries=entries, now=NOW)
    with sessions() as session:
        stored = {item.title: item for item in session.scalars(select(Item))}
    assert (stored["国务院联防联控机制印发通知"].author, stored["国务院联防联控机制印发通知"].source) == ("李曦", "新华社")
    assert stored["没有来源的一篇"].source is None
    assert len(stored["没有来源的一篇"].author) == 200  # cut to the column, never an insert error
