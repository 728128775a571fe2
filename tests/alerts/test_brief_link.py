"""Orange and red pushes carry a link to the event's brief (研判报告), in each vendor's link form;
other levels and follow-ups do not."""

import json
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from monitor.alerts.delivery import DeliveryWorker
from monitor.alerts.routing import Channel, Routing
from monitor.alerts.vendors import Message, feishu_card, draft, markdown, slack_text
from monitor.db.models import Alert
from monitor.stages.grouping import EventStage, set_level_by_hand
from tests.events.test_scenarios import COMPLAINT, Timeline, reprint

BRIEF = "https://yq.example.org/#/events/3"
MESSAGE = Message(
    alert_id=7, event_id=3, level="orange", label="三级（橙色）", title="江城多个小区自来水浑浊发黄 居民质疑水质安全",
    reason="local_media is true; outlets 3 ≥ 3", first_outlet="demo-forum", first_at="11-23 09:30", outlets=3,
    tiers=["forum", "local_media"], negative_share=0.83, link="https://yq.example.org/api/v1/alerts/7",
    items=12, items_last_hour=9, velocity=4.5, brief_link=BRIEF,
)


def test_each_vendor_links_the_brief_in_its_own_form():
    assert f"[研判报告]({BRIEF})" in markdown(MESSAGE, 4096)  # WeCom and DingTalk
    assert f"<{BRIEF}|研判报告>" in slack_text(MESSAGE)
    assert f"[研判报告]({BRIEF})" in json.dumps(feishu_card(draft(MESSAGE)), ensure_ascii=False)
    without = Message(**{**MESSAGE.__dict__, "brief_link": None})
    assert "研判报告" not in markdown(without, 4096)


def test_the_brief_link_survives_a_message_cut_to_fit():
    long = Message(**{**MESSAGE.__dict__, "reason": "依据" * 3000,
                      "top_items": tuple(("人民日报", f"报道{n}", f"https://people.example/{n}") for n in range(20))})
    assert f"[研判报告]({BRIEF})" in markdown(long, 2048)


@pytest.fixture
def timeline(sessions, clock, tmp_path, farm):
    timeline = Timeline(sessions, clock, tmp_path)
    timeline.routing = Routing({"duty": Channel("duty", "generic", farm.url("/hook"))},
                               {"yellow": ["duty"], "orange": ["duty"], "red": ["duty"]})
    timeline.stage = EventStage(sessions, timeline.levels, clock, timeline.routing)
    timeline.publish("forum-a", *COMPLAINT)
    timeline.publish("forum-b", COMPLAINT[0], reprint(COMPLAINT[1], 1))  # yellow
    return timeline


async def test_orange_and_red_fire_and_repeat_pushes_link_the_brief_and_nothing_else_does(timeline, sessions, clock):
    async with httpx.AsyncClient(timeout=5) as client:
        worker = DeliveryWorker(sessions, timeline.routing, clock, client, {}, "https://yq.example.org/",
                                ZoneInfo("Asia/Shanghai"))
        with sessions() as session:
            yellow = session.scalars(select(Alert).where(Alert.level == "yellow")).one()
        assert worker.message(yellow.id, "fire").brief_link is None
        assert "brief_link" not in worker._generic(1, yellow.id, "k", "fire")["alert"]
        with sessions.begin() as session:
            set_level_by_hand(session, levels=timeline.levels, routing=timeline.routing, event_id=yellow.event_id,
                              level="orange", actor="张三", reason="local media picked it up", now=clock.now())
        with sessions() as session:
            orange = session.scalars(select(Alert).where(Alert.level == "orange")).one()
        link = f"https://yq.example.org/#/events/{orange.event_id}"
        assert worker.message(orange.id, "fire").brief_link == link
        assert worker.message(orange.id, "repeat").brief_link == link
        assert worker.message(orange.id, "ack").brief_link is None  # a follow-up stays short
        assert worker._generic(2, orange.id, "k2", "fire")["alert"]["brief_link"] == link
        worker.public_url = None  # no public address: no link to give
        assert worker.message(orange.id, "fire").brief_link is None
