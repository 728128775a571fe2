"""Retention: raw item bodies older than FENGHUO_BODY_RETENTION are emptied; titles, links,
scores, event membership and the escalation log stay, and a back-fill leaves pruned items alone."""

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from typer.testing import CliRunner

from monitor.cli import app
from monitor.db import analyses as analysis_store
from monitor.db import items as item_store
from monitor.db.models import EventItem, Item, ItemAnalysis
from tests.conftest import make_settings
from tests.reports.week import NOW, load_week


def test_old_bodies_are_emptied_and_everything_else_is_kept(sessions):
    with sessions.begin() as session:
        load_week(session)  # items first seen 10–23 November
    before = NOW - timedelta(days=7)  # 16 November, 08:00 Beijing
    with sessions.begin() as session:
        assert item_store.prune_bodies(session, before=before, now=NOW, batch=2) == [11, 12]
    with sessions.begin() as session:
        assert item_store.prune_bodies(session, before=before, now=NOW) == [13]  # the rest, batch by batch
        assert item_store.prune_bodies(session, before=before, now=NOW) == []  # and no more
    with sessions() as session:
        items = {i.id: i for i in session.scalars(select(Item))}
        pruned = sorted(i.id for i in items.values() if i.pruned_at is not None)
        assert pruned == [11, 12, 13]  # last week's
        assert all(items[i].text == "" and items[i].title for i in pruned)
        assert all(items[i].text == "正文" for i in items if i not in pruned)
        assert session.get(ItemAnalysis, 11) is not None and session.get(EventItem, 11) is not None


def test_batches_walk_up_the_ids_and_prune_everything_once(sessions):
    with sessions.begin() as session:
        load_week(session)
    before = NOW - timedelta(days=7)
    assert list(item_store.prune_bodies_in_batches(sessions, before=before, now=NOW, batch=2)) == [2, 1]
    assert list(item_store.prune_bodies_in_batches(sessions, before=before, now=NOW, batch=2)) == []
    with sessions() as session:
        assert sorted(session.scalars(select(Item.id).where(Item.pruned_at.is_not(None)))) == [11, 12, 13]


def test_a_batch_starts_after_the_id_it_is_given(sessions):
    with sessions.begin() as session:
        load_week(session)
        assert item_store.prune_bodies(session, before=NOW - timedelta(days=7), now=NOW, after_id=11) == [12, 13]


def test_a_backfill_does_not_rescore_what_it_can_no_longer_read(sessions):
    with sessions.begin() as session:
        load_week(session)
        item_store.prune_bodies(session, before=NOW - timedelta(days=7), now=NOW)
    with sessions() as session:
        stale = analysis_store.items_to_analyse(session, limit=100, stale_for=("v2", "fixture"))
    assert {item.id for item in stale} == {1, 2, 3, 4, 5, 6, 7, 8, 9}  # 8 was never analysed


@pytest.mark.parametrize("value, expected", [("90d", timedelta(days=90)), ("", None), ("off", None)])
def test_retention_setting(tmp_path, value, expected):
    assert make_settings(tmp_path, body_retention=value).body_retention == expected


def test_a_retention_shorter_than_a_week_is_refused(tmp_path):
    with pytest.raises(ValidationError, match="at least 7d"):
        make_settings(tmp_path, body_retention="3d")


def test_fenghuo_db_prune(tmp_path, monkeypatch):
    from datetime import UTC, datetime

    from monitor.db import make_engine, make_session_factory, upgrade_database
    from monitor.db.models import Outlet

    url = f"sqlite:///{tmp_path / 'prune.db'}"
    monkeypatch.setenv("FENGHUO_DATABASE_URL", url)
    upgrade_database(url)
    now = datetime.now(UTC)
    with make_session_factory(make_engine(url)).begin() as session:
        session.add(Outlet(id="o", name="o", kind="rss", url="http://o.invalid/", tier="forum", region="",
                           enabled=True, config={}, interval_seconds=600))
        session.flush()
        for n, age in enumerate((40, 35, 2)):
            session.add(Item(outlet_id="o", url=f"http://o.invalid/{n}", canonical_url=f"http://o.invalid/{n}",
                             url_hash=f"{n:064d}", content_hash=f"{n:064d}", title=f"标题{n}", text="正文",
                             language="zh", first_seen_at=now - timedelta(days=age)))
    result = CliRunner().invoke(app, ["db", "prune", "--older-than", "30d"])
    assert result.exit_code == 0, result.output
    assert "2 item bodies older than" in result.output
