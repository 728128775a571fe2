"""roster.yaml: who is on duty when (day and overnight shifts, weekend exceptions), and
notify.yaml mentions that follow it."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.alerts.roster import load_roster
from monitor.alerts.routing import load_routing
from monitor.config import ConfigError

BEIJING = ZoneInfo("Asia/Shanghai")
ROSTER = """
timezone: Asia/Shanghai
people:
  zhang: {name: 张三, mobile: "13800000001", wecom: zhangsan}
  li: {name: 李四, dingtalk: li4}
  wang: {name: 王五, mobile: "13800000003"}
shifts:
  - {name: 周末, start: "09:00", end: "21:00", days: [sat, sun], on_duty: [wang]}
  - {name: 白班, start: "08:00", end: "20:00", on_duty: [zhang]}
  - {name: 夜班, start: "20:00", end: "08:00", on_duty: [li]}
handover: [duty-room]
"""


def at(day, hour, minute=0):
    return datetime(2026, 11, day, hour, minute, tzinfo=BEIJING)  # 23 Nov 2026 is a Monday


@pytest.fixture
def roster(tmp_path):
    path = tmp_path / "roster.yaml"
    path.write_text(ROSTER, encoding="utf-8")
    return load_roster(path)


@pytest.mark.parametrize("moment, shift, people", [
    (at(23, 8), "白班", ["张三"]),
    (at(23, 19, 59), "白班", ["张三"]),
    (at(23, 20), "夜班", ["李四"]),
    (at(24, 3), "夜班", ["李四"]),  # overnight: the shift that began on Monday evening
    (at(28, 10), "周末", ["王五"]),  # Saturday: the exception listed first wins
    (at(28, 22), "夜班", ["李四"]),
])
def test_who_is_on_duty(roster, moment, shift, people):
    duty = roster.on_duty(moment)
    assert (duty.shift, [p.name for p in duty.people]) == (shift, people)


def test_a_gap_in_the_roster_is_nobody_and_a_new_shift_is_noticed_once(tmp_path, roster):
    path = tmp_path / "gappy.yaml"
    path.write_text("people: {a: {name: A}}\nshifts: [{name: 白班, start: '09:00', end: '17:00', on_duty: [a]}]\n",
                    encoding="utf-8")
    assert load_roster(path).on_duty(at(23, 18)) is None
    began = roster.shift_began(at(23, 20, 1), timedelta(minutes=30))
    assert (began.shift, began.start) == ("夜班", at(23, 20))
    assert roster.shift_began(at(23, 21), timedelta(minutes=30)) is None
    assert roster.previous(began).shift == "白班"


@pytest.mark.parametrize("text, problem", [
    ("people: {a: {name: A}}\nshifts: [{name: x, start: '08:00', end: '20:00', on_duty: [b]}]",
     "shift 'x' (#1) names 'b', who is not under people"),
    ("people: {a: {name: A}}\nshifts: [{name: x, start: '08:00', end: '20:00', days: [monday], on_duty: [a]}]",
     "unknown day 'monday'"),
    ("people: {a: {name: A}}\nshifts: [{name: x, start: '25:00', end: '20:00', on_duty: [a]}]", "shifts.0.start"),
])
def test_a_broken_roster_names_the_field(tmp_path, text, problem):
    path = tmp_path / "roster.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        load_roster(path)


def notify(tmp_path, monkeypatch, body: str):
    monkeypatch.setenv("HOOK_URL", "http://127.0.0.1:9/hook")
    (tmp_path / "roster.yaml").write_text(ROSTER, encoding="utf-8")
    path = tmp_path / "notify.yaml"
    path.write_text("channels: {duty-room: {kind: dingtalk, url_env: HOOK_URL}}\n" + body, encoding="utf-8")
    return load_routing(path)


def test_mentions_follow_the_roster_at_send_time(tmp_path, monkeypatch):
    routing = notify(tmp_path, monkeypatch, "roster: roster.yaml\nmentions: {orange: [on_duty], red: [on_duty, zhang, all]}\n")
    people, everyone = routing.mentions_for("orange", at(24, 3))
    assert ([p.name for p in people], everyone) == (["李四"], False)
    people, everyone = routing.mentions_for("red", at(23, 10))
    assert ([p.name for p in people], everyone) == (["张三"], True)  # on duty and named: once
    assert routing.mentions_for("blue", at(23, 10)) == ((), False)


@pytest.mark.parametrize("body, problem", [
    ("mentions: {red: [on_duty]}\n", "on_duty needs a roster"),
    ("roster: roster.yaml\nmentions: {red: [zhao]}\n", "'zhao' is not a person of the roster"),
])
def test_mentions_that_cannot_be_resolved_are_refused(tmp_path, monkeypatch, body, problem):
    with pytest.raises(ConfigError, match=problem):
        notify(tmp_path, monkeypatch, body)
