"""The demo works offline: every sample outlet yields items through the real crawler."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from monitor.config import load_outlets
from monitor.db import outlets as outlet_store
from monitor.db.models import Item
from monitor.demo.farm import DemoFarm, write_demo_outlets
from monitor.fetch.http import Fetcher
from monitor.stages.crawl import Crawler


async def test_every_demo_outlet_yields_chinese_items(tmp_path, db_settings, sessions, clock):
    # Started five steps ago: the invented story has reached the forum and self-media.
    started = datetime.now(UTC) - timedelta(seconds=150)
    farm = DemoFarm(step=timedelta(seconds=30), started=started).start()
    try:
        configs = load_outlets(write_demo_outlets(farm.base_url, tmp_path / "demo.yaml"))
        with sessions.begin() as session:
            outlet_store.sync_outlets(session, configs=configs, now=clock.now())
        async with Fetcher(db_settings) as fetcher:
            runs = await Crawler(db_settings, sessions, fetcher, clock).run_due()
    finally:
        farm.stop()
    assert {run.outlet_id for run in runs} == {c.id for c in configs}
    assert all(run.error is None and run.new_items >= 10 for run in runs), runs
    encodings = {run.outlet_id: run.encoding for run in runs}
    assert encodings["demo-local"] == encodings["demo-gov"] == "gb18030"
    with sessions() as session:
        per_outlet = dict(session.execute(select(Item.outlet_id, func.count()).group_by(Item.outlet_id)).all())
        titles = set(session.scalars(select(Item.title)))
    assert len(per_outlet) == 6
    assert "江城水务又停水了？河西片区三天两次停水没有任何通知" in titles  # the story has begun
    assert "江城河西片区三天两次停水没有任何通知 居民质疑水质安全" not in titles  # central media: not yet


async def test_the_demo_story_spreads_from_the_forum_to_red(tmp_path, db_settings, sessions, clock):
    import shutil
    from pathlib import Path

    from monitor.analyze.holder import LibraryHolder
    from monitor.analyze.sentiment import load_model
    from monitor.db import events as event_store
    from monitor.events.levels import load_levels
    from monitor.stages.analysis import Analyser
    from monitor.stages.grouping import EventStage

    farm = DemoFarm(step=timedelta(seconds=30), started=datetime.now(UTC) - timedelta(minutes=10)).start()
    clock.current = datetime.now(UTC)  # the farm publishes in real time; we fetch after it did
    try:
        configs = load_outlets(write_demo_outlets(farm.base_url, tmp_path / "demo.yaml"))
        with sessions.begin() as session:
            outlet_store.sync_outlets(session, configs=configs, now=clock.now())
        async with Fetcher(db_settings) as fetcher:
            await Crawler(db_settings, sessions, fetcher, clock).run_due()
    finally:
        farm.stop()
    folder = tmp_path / "keywords"
    shutil.copytree(Path(__file__).parents[2] / "keywords", folder)
    Analyser(sessions, LibraryHolder(folder), load_model(), clock).run_once()
    EventStage(sessions, load_levels(), clock).run_once()
    with sessions() as session:
        story = [e for e in event_store.all_events(session) if e.level == "red"]
        assert len(story) == 1
        (event,) = story
        assert event.first_outlet_id == "demo-forum"
        assert event.metrics["central_media"] and event.metrics["outlets"] >= 6
        assert [e.to_level for e in event_store.escalation_log(session, event_id=event.id)][-1] == "red"


def test_an_article_stays_online_after_it_drops_off_the_list():
    import httpx

    farm = DemoFarm(step=timedelta(seconds=1), started=datetime.now(UTC) - timedelta(seconds=45)).start()
    try:
        listed = httpx.get(f"{farm.base_url}/forum/list.html").text
        assert "a/s3.html" not in listed  # 35 newer items since: off the list
        assert httpx.get(f"{farm.base_url}/forum/a/s3.html").status_code == 200
        assert httpx.get(f"{farm.base_url}/forum/a/s9.html").status_code == 404  # not a forum story step
    finally:
        farm.stop()
