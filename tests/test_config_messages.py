"""Every configuration file tells a mistake the same way: file, line and column, field, message."""

import pytest

from monitor.alerts.roster import load_roster
from monitor.alerts.routing import load_routing
from monitor.config import ConfigError, load_outlets
from monitor.events.levels import load_levels
from monitor.reports.playbook import load_playbook
from monitor.stages.replay import read_timeline

CASES = [
    (load_levels, "levels.yaml", "levels:\n  red: {any: [[{metric: likes, gte: 1}]]}\n",
     "2:25: field 'levels.red.any.0.0.metric': "),
    (load_roster, "roster.yaml", "people: {a: {name: A}}\nshifts: [{name: x, start: '25:00', end: '20:00', on_duty: [a]}]\n",
     "2:27: field 'shifts.0.start': "),
    (load_routing, "notify.yaml", "channels:\n  duty: {kind: generic, url_env: X, colour: red}\n",
     "2:45: field 'channels.duty.colour': Extra inputs are not permitted"),
    (load_playbook, "playbook.yaml", "levels:\n  blue: {first_response_minutes: 60, statement: '{secret}'}\n",
     "2:49: field 'levels.blue.statement': unknown placeholder(s) ['secret']"),
    (load_outlets, "outlets.yaml", "outlets:\n  - {id: a, name: A, url: 'https://example.org/', kind: rss, tier: tv}\n",
     "2:68: outlet 'a' (#1): field 'tier': Input should be"),
    (read_timeline, "timeline.yaml", "- {at: 0, outlet: forum, title: 停水, text: 停水了}\n- {at: 5, outlet: forum, text: 又停了}\n",
     "2:3: item 2: field 'title': Field required"),
]


@pytest.mark.parametrize(("load", "name", "text", "expected"), CASES, ids=[case[1] for case in CASES])
def test_a_mistake_names_file_line_and_field_the_same_way_in_every_file(tmp_path, load, name, text, expected):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load(path)
    message = str(raised.value)
    assert message.startswith(f"{path}:{expected}"), message
    assert "Value error, " not in message  # pydantic's wording of our own checks is dropped everywhere


def test_a_problem_of_the_whole_file_has_no_empty_field(tmp_path):
    """A check across fields has no one field to name: the message follows the place directly
    (notify and roster files used to say "field ''")."""
    path = tmp_path / "roster.yaml"
    path.write_text("people: {a: {name: A}}\nshifts: [{name: x, start: '08:00', end: '20:00', on_duty: [b]}]\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_roster(path)
    assert str(raised.value) == f"{path}:1:1: shift 'x' (#1) names 'b', who is not under people"
