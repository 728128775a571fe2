"""The spread record: what the events stage stores of an event's spread, read back typed (the push,
the weekly report and the CLI read it through Spread.of, never by key)."""

from dataclasses import fields
from datetime import UTC, datetime, timedelta

from monitor.db.models import Event
from monitor.events.hotsignal import hotlist_metrics
from monitor.events.spread import Member, Spread, event_metrics

T0 = datetime(2026, 11, 23, 8, tzinfo=UTC)


def member(n, minutes, outlet, tier, negative=False):
    at = T0 + timedelta(minutes=minutes)
    return Member(n, outlet, tier, at, at + timedelta(minutes=2), 60, negative, 0.8)


MEMBERS = [member(1, 0, "forum-a", "forum", negative=True), member(2, 30, "paper", "local_media"),
           member(3, 50, "xinhua", "central_media", negative=True), member(4, 55, "paper", "local_media")]


def test_every_measure_the_stage_stores_is_a_field_of_the_record():
    stored = event_metrics(MEMBERS, T0 + timedelta(hours=1), windows=(timedelta(hours=24),))
    plain = {key for key in stored if "@" not in key}  # outlets@24h …: read by the grader alone
    assert plain == {f.name for f in fields(Spread)} - {"hotlist_text"}
    assert "hotlist_text" in hotlist_metrics([])


def test_a_stored_spread_reads_back_as_it_was_measured():
    stored = event_metrics(MEMBERS, T0 + timedelta(hours=1)) | hotlist_metrics([])
    spread = Spread.of(Event(metrics=stored, item_count=4))
    assert (spread.items, spread.outlets, spread.tiers, spread.tier_count) == (4, 3, ("central_media", "forum", "local_media"), 3)
    assert (spread.central_media, spread.local_media, spread.kol, spread.negative_share) == (True, True, False, 0.5)
    assert (spread.first_item_id, spread.first_outlet_id, spread.first_tier) == (1, "forum-a", "forum")
    assert spread.hotlist_text is None and spread.items_last_hour == 4


def test_an_event_not_yet_measured_counts_its_stored_items():
    assert Spread.of(Event(metrics={}, item_count=2)) == Spread(items=2, items_total=2, outlets=1)
    assert Spread.of(Event(metrics=None, item_count=0)) == Spread()


def test_a_row_written_by_another_version_still_reads():
    """Keys the record does not know (a newer measure, the hot-list detail) are left to the grader;
    a measure a row lacks takes its default."""
    old = {"items": 5, "outlets": 2, "tiers": ["social"], "velocity": 1.5, "hotlist": {"rank": 3}, "outlets@24h": 2}
    assert Spread.of(Event(metrics=old, item_count=5)) == Spread(items=5, outlets=2, tiers=("social",), velocity=1.5,
                                                                 items_total=5)
