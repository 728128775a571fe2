"""The analysis stage scores stored items, records the library version, and back-fills."""

from datetime import timedelta

from monitor.analyze.holder import LibraryHolder
from monitor.analyze.sentiment import load_model
from monitor.config import OutletConfig
from monitor.db import analyses as analysis_store
from monitor.db import items as item_store
from monitor.db import outlets as outlet_store
from monitor.fetch.parsed import ParsedEntry
from monitor.stages.analysis import Analyser

ENTRIES = [
    ParsedEntry(url="http://example.invalid/1", title="江城水务集团停水三天无人管 居民愤怒投诉",
                text="河西片区居民反映停水三天没有任何通知。"),
    ParsedEntry(url="http://example.invalid/2", title="NBL第三日：四川河北鞍山取三连胜", text="香港再遭败绩。"),
]


def store(sessions, clock, entries=ENTRIES):
    config = OutletConfig(id="forum", name="论坛", kind="rss", url="http://example.invalid/", tier="forum")
    with sessions.begin() as session:
        outlet_store.sync_outlets(session, configs=[config], now=clock.now())
        return item_store.store_entries(session, outlet_id="forum", entries=entries, now=clock.now()).new_ids


def test_new_items_are_scored_once_with_their_library_version(sessions, clock, tmp_path):
    import shutil
    from pathlib import Path

    folder = tmp_path / "keywords"
    shutil.copytree(Path(__file__).parents[2] / "keywords", folder)
    complaint, sport = store(sessions, clock)
    analyser = Analyser(sessions, LibraryHolder(folder), load_model(), clock, batch_size=1)
    assert analyser.count_pending() == 2
    assert analyser.run_once() == 2
    assert analyser.run_once() == 0  # nothing left: scored items are not scored again
    with sessions() as session:
        scored = analysis_store.analysis_of(session, item_id=complaint)
        unrelated = analysis_store.analysis_of(session, item_id=sport)
    assert scored.risk >= 60 and scored.library_version == analyser.library.library.version
    assert {hit["rule"] for hit in scored.hits} >= {"org-complaint", "org-incident"}
    assert scored.analysed_at == clock.now()
    assert unrelated.risk == 0 and unrelated.hits == []

    # The team edits the library: a back-fill re-scores everything under the new version.
    with (folder / "industry.yaml").open("a", encoding="utf-8") as handle:
        handle.write("\n# reviewed 2026-11\n")
    assert analyser.library.reload_if_changed().changed
    assert analyser.count_pending() == 0 and analyser.count_pending(backfill=True) == 2
    clock.advance(timedelta(minutes=5))
    assert analyser.run_once(backfill=True) == 2
    with sessions() as session:
        rescored = analysis_store.analysis_of(session, item_id=complaint)
    assert rescored.library_version == analyser.library.library.version != scored.library_version
    assert rescored.analysed_at == clock.now()
