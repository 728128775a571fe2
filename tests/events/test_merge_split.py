"""Merge and split by hand: an operator corrects the grouping, the log says who and why, both
events are regraded, and the grouping keeps to the correction afterwards — in the stage that
made it, in a stage running elsewhere (it reads the log), and in one rebuilt from the database."""

from datetime import timedelta

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.db import events as event_store
from monitor.db.models import Alert, EventItem
from monitor.stages.grouping import EventStage, merge_by_hand, split_by_hand
from tests.events.test_scenarios import COMPLAINT, Timeline, reprint

# Another story about the same organisation, in other words: the grouping keeps it apart.
FEES = ("江城水务集团被曝违规收费 多收居民二次供水费",
        "多名居民向记者反映，江城水务集团在水费中违规收取二次供水费用，涉及上千户，金额从几十元到数百元不等。")


@pytest.fixture
def timeline(sessions, clock, tmp_path):
    return Timeline(sessions, clock, tmp_path)


def two_events(timeline):
    """The 停水 complaint on a forum, then the fee story in the local paper: two events."""
    timeline.publish("forum-a", *COMPLAINT)
    timeline.publish("local-daily", *FEES)
    first, second = timeline.events()
    assert first.first_outlet_id == "forum-a" and second.first_outlet_id == "local-daily"
    return first.id, second.id


def items_of(timeline, event_id):
    with timeline.sessions() as session:
        return [item.id for item in event_store.event_items(session, event_id=event_id)]


def regrouping_log(timeline):
    with timeline.sessions() as session:
        return [(e.event_id, e.kind, e.actor, e.reason, e.reasons) for e in event_store.escalation_log(session)
                if e.kind in ("merge", "split")]


def test_a_merge_moves_the_items_closes_the_other_as_merged_and_is_logged(timeline):
    a, b = two_events(timeline)
    (fee_item,) = items_of(timeline, b)
    timeline.stage.merge(a, b, actor="值班员张三", reason="同一事件：停水与收费投诉同一批小区")
    survivor, merged = timeline.events()
    assert (merged.status, merged.merged_into, merged.item_count) == ("merged", a, 0)
    assert merged.closed_at == timeline.clock.now()
    assert survivor.status == "open" and survivor.item_count == 2 and fee_item in items_of(timeline, a)
    # regraded on all its items: two outlets, all negative, local media
    assert survivor.metrics["outlets"] == 2 and survivor.metrics["local_media"] is True
    assert rank_of(survivor.level) >= rank_of("yellow")
    assert regrouping_log(timeline) == [
        (b, "merge", "值班员张三", "同一事件：停水与收费投诉同一批小区", [f"merged into event {a}: 1 items moved there", "by 值班员张三"]),
        (a, "merge", "值班员张三", "同一事件：停水与收费投诉同一批小区", [f"merged event {b} into this one: 1 items", "by 值班员张三"]),
    ]


def rank_of(level):
    return ["blue", "yellow", "orange", "red"].index(level) + 1 if level else 0


def test_items_of_a_merged_story_keep_joining_the_survivor(timeline, sessions, clock):
    a, b = two_events(timeline)
    # the merge is made elsewhere (the API or the CLI): the running stage learns of it from the log
    with sessions.begin() as session:
        merge_by_hand(session, levels=timeline.levels, routing=timeline.stage.routing, event_id=a, other_id=b,
                      actor="张三", reason="同一事件", now=clock.now())
    timeline.publish("local-tv", FEES[0], reprint(FEES[1], 1))
    assert len(items_of(timeline, a)) == 3 and items_of(timeline, b) == []
    # and a stage rebuilt from the database (a restart, a new leader) does the same
    timeline.stage = EventStage(sessions, timeline.levels, clock)
    timeline.publish("self-1", FEES[0], reprint(FEES[1], 2))
    assert len(items_of(timeline, a)) == 4 and [e.item_count for e in timeline.events()] == [4, 0]


def test_a_split_items_reprints_follow_it_to_the_new_event(timeline, sessions, clock):
    a, b = two_events(timeline)
    (fee_item,) = items_of(timeline, b)
    timeline.stage.merge(a, b, actor="张三", reason="看错了，以为是同一事件")
    # undone by a split, made elsewhere: the running stage must re-point the item it indexed
    with sessions.begin() as session:
        entry, new = split_by_hand(session, levels=timeline.levels, routing=timeline.stage.routing, event_id=a,
                                   item_ids=[fee_item], actor="李四", reason="收费问题是另一件事", now=clock.now())
        new_id = new.id
    assert (entry.kind, entry.actor, entry.event_id) == ("split", "李四", a)
    timeline.publish("local-tv", FEES[0], reprint(FEES[1], 1))  # a reprint of the split item
    timeline.publish("forum-b", COMPLAINT[0], reprint(COMPLAINT[1], 1))  # and one of the complaint
    assert len(items_of(timeline, new_id)) == 2 and fee_item in items_of(timeline, new_id)
    assert len(items_of(timeline, a)) == 2
    old, merged, split_out = timeline.events()
    assert split_out.id == new_id and split_out.title == FEES[0] and split_out.first_outlet_id == "local-daily"
    assert split_out.level == "yellow"  # graded on its own items: two outlets, all negative
    assert [(e[0], e[1], e[2]) for e in regrouping_log(timeline)][-2:] == [(new_id, "split", "李四"), (a, "split", "李四")]
    assert regrouping_log(timeline)[-1][4] == [f"moved items {fee_item} to new event {new_id}", "by 李四"]


def test_a_split_regrades_both_and_the_old_event_keeps_its_level(timeline):
    timeline.publish("forum-a", *COMPLAINT)
    for n, outlet in enumerate(["forum-b", "local-daily"]):
        timeline.publish(outlet, COMPLAINT[0], reprint(COMPLAINT[1], n))
    (event,) = timeline.events()
    assert event.level == "orange"
    first, *_rest, last = items_of(timeline, event.id)
    _entry, new = timeline.stage.split(event.id, [first], actor="张三", reason="论坛帖是旧闻")
    old, split_out = timeline.events()
    # measured again on what is left, but only a duty officer lowers a level
    assert old.item_count == 2 and old.metrics["outlets"] == 2 and old.level == "orange"
    # its title and origin came from the item that left: now from its first remaining item
    assert old.first_outlet_id == "forum-b" and old.first_item_id != first
    assert (split_out.item_count, split_out.first_item_id, split_out.level) == (1, first, "blue")
    with timeline.sessions() as session:
        alerts = {a.event_id: a.level for a in session.query(Alert).filter(Alert.status == "new")}
        path = {row.item_id: row.reprint_of for row in session.query(EventItem)}
    assert alerts == {old.id: "orange", split_out.id: "blue"}  # the new story raised its own alert
    assert first not in path.values() or path[first] is None  # no reprint link crosses the split
    assert all(path[item] != first for item in items_of(timeline, old.id))
    assert last in items_of(timeline, old.id)


def test_a_merge_carries_the_higher_level_and_leaves_one_alert_to_act_on(timeline):
    a, b = two_events(timeline)  # a: blue (one forum post); b: blue
    for n, outlet in enumerate(["local-tv", "gov"]):
        timeline.publish(outlet, FEES[0], reprint(FEES[1], n))  # b spreads: orange
    levels = {e.id: e.level for e in timeline.events()}
    assert levels == {a: "blue", b: "orange"}
    timeline.stage.merge(a, b, actor="张三", reason="同一批小区")
    survivor = timeline.events()[0]
    assert survivor.level == "orange"
    with timeline.sessions() as session:
        merge = event_store.escalation_log(session, event_id=a, kind="merge")[0]
        alerts = session.query(Alert).filter(Alert.event_id == a).all()
    assert (merge.from_level, merge.to_level) == ("blue", "orange")
    assert f"level orange carried over from event {b}" in merge.reasons
    # b's alerts are the story's now; one thing to act on: the orange one
    assert [al.level for al in alerts if al.status == "new"] == ["orange"]
    assert {al.level for al in alerts} == {"blue", "yellow", "orange"}


def test_a_closed_survivor_opens_again_when_an_open_event_merges_into_it(timeline):
    timeline.publish("forum-a", *COMPLAINT)
    timeline.clock.advance(timedelta(hours=25))
    timeline.run()
    timeline.publish("local-daily", *FEES)
    closed, open_ = timeline.events()
    assert (closed.status, open_.status) == ("closed", "open")
    timeline.stage.merge(closed.id, open_.id, actor="张三", reason="同一事件")
    survivor = timeline.events()[0]
    assert survivor.status == "open" and survivor.closed_at is None
    assert "open again: the merged event was open" in regrouping_log(timeline)[-1][4]


def test_an_item_matched_to_an_event_as_it_was_merged_is_moved_to_the_survivor(timeline, sessions, clock):
    a, b = two_events(timeline)
    timeline.stage.merge(a, b, actor="张三", reason="同一事件")
    before = set(items_of(timeline, a))
    timeline.publish("local-tv", FEES[0], reprint(FEES[1], 1))
    (late,) = set(items_of(timeline, a)) - before
    with sessions.begin() as session:  # as if the stage had matched it a moment before the merge committed
        event_store.move_members(session, item_ids=[late], event_id=b)
    timeline.run()
    assert late in items_of(timeline, a) and items_of(timeline, b) == []
    assert timeline.events()[0].item_count == 3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda stage, a, b, items: stage.merge(a, a, actor="张三", reason="x"), "cannot be merged with itself"),
        (lambda stage, a, b, items: stage.merge(a, 999, actor="张三", reason="x"), "no event with id 999"),
        (lambda stage, a, b, items: stage.merge(a, b, actor="张三", reason=" "), "say why"),
        (lambda stage, a, b, items: stage.merge(a, b, actor="", reason="x"), "say who"),
        (lambda stage, a, b, items: stage.split(a, [items[b][0]], actor="张三", reason="x"), "not items of event"),
        (lambda stage, a, b, items: stage.split(a, items[a], actor="张三", reason="x"), "nothing would be left"),
        (lambda stage, a, b, items: stage.split(a, [], actor="张三", reason="x"), "name the items"),
    ],
)
def test_a_regrouping_that_cannot_be_made_says_why_and_changes_nothing(timeline, change, message):
    a, b = two_events(timeline)
    items = {a: items_of(timeline, a), b: items_of(timeline, b)}
    before = timeline.log()
    with pytest.raises(event_store.TransitionError, match=message):
        change(timeline.stage, a, b, items)
    assert timeline.log() == before and {a: items_of(timeline, a), b: items_of(timeline, b)} == items


def test_a_merged_event_cannot_be_merged_or_split_again(timeline):
    a, b = two_events(timeline)
    timeline.stage.merge(a, b, actor="张三", reason="同一事件")
    with pytest.raises(event_store.TransitionError, match=f"was merged into event {a}: use that one"):
        timeline.stage.merge(b, a, actor="张三", reason="x")
    with pytest.raises(event_store.TransitionError, match=f"was merged into event {a}"):
        timeline.stage.split(b, [1], actor="张三", reason="x")


def test_merge_and_split_from_the_command_line(timeline, database_url, monkeypatch):
    a, b = two_events(timeline)
    monkeypatch.setenv("FENGHUO_DATABASE_URL", database_url)
    runner = CliRunner()
    merged = runner.invoke(app, ["events", "merge", str(a), str(b), "--by", "张三", "--reason", "同一事件"])
    assert merged.exit_code == 0, merged.output
    assert f"event {b} merged into event {a} by 张三" in merged.output
    fee_item = items_of(timeline, a)[-1]
    refused = runner.invoke(app, ["events", "split", str(a), str(fee_item), "--by", "张三", "--reason", " "])
    assert refused.exit_code == 2 and "say why" in refused.output
    split = runner.invoke(app, ["events", "split", str(a), str(fee_item), "--by", "李四", "--reason", "另一件事"])
    assert split.exit_code == 0, split.output
    assert f"items {fee_item} moved from event {a} to new event" in split.output
    log = runner.invoke(app, ["events", "log", str(a)], env={"COLUMNS": "200"})
    assert "merge" in log.output and "split" in log.output and "李四" in log.output and "另一件事" in log.output
    assert f"merged event {b} into this one" in log.output and f"moved items {fee_item} to new event" in log.output
    # the stage, running all along, keeps to both
    timeline.publish("local-tv", FEES[0], reprint(FEES[1], 1))
    new = timeline.events()[-1]
    assert len(items_of(timeline, a)) == 1 and new.item_count == 2 and fee_item in items_of(timeline, new.id)


def test_the_weekly_report_counts_a_merged_story_once(timeline):
    from zoneinfo import ZoneInfo

    from monitor.reports.figures import Week, weekly_figures

    a, b = two_events(timeline)
    timeline.stage.merge(a, b, actor="值班员张三", reason="同一事件")
    zone = ZoneInfo("Asia/Shanghai")
    with timeline.sessions() as session:
        figures = weekly_figures(session, week=Week.containing(timeline.clock.now(), zone), zone=zone,
                                 now=timeline.clock.now() + timedelta(days=7), ack_target=timedelta(minutes=30))
    listed = [event["id"] for event in figures["events"]]
    assert a in listed and b not in listed  # the merged event's items and alerts are the survivor's
