"""Configuration mistakes are reported with the file, the outlet and the field."""

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import ConfigError, Settings, load_outlets, load_settings, parse_duration

VALID = """
outlets:
  - id: people-politics
    name: 人民网·时政
    kind: rss
    url: http://www.people.com.cn/rss/politics.xml
    tier: central_media
    interval: 15m
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "outlets.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_file_fills_in_interval_bounds(tmp_path):
    (outlet,) = load_outlets(write(tmp_path, VALID))
    assert outlet.interval == timedelta(minutes=15)
    assert (outlet.min_interval, outlet.max_interval) == (timedelta(minutes=7.5), timedelta(minutes=90))
    assert outlet.region == "全国" and outlet.enabled and outlet.respect_robots


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("tier: central_media", "tier: tv"), "outlet 'people-politics' (#1): field 'tier': Input should be"),
        (("kind: rss", "kind: csv"), "outlet 'people-politics' (#1): field 'kind'"),
        (("url: http://www.people.com.cn/rss/politics.xml", "url: not a url"), "field 'url'"),
        (("interval: 15m", "interval: soon"), "field 'interval': not a duration: 'soon'"),
        (("interval: 15m", "interval: 2s"), "interval must be at least 10s"),
        (("interval: 15m", "interval: 15m\n    encoding: klingon"), "field 'encoding': unknown encoding 'klingon'"),
        (("interval: 15m", "interval: 15m\n    timezone: Mars/Olympus"), "unknown time zone"),
        (("interval: 15m", "interval: 15m\n    colour: red"), "field 'colour': Extra inputs are not permitted"),
        (("id: people-politics", "id: People Politics"), "field 'id': use 1-64 lower-case"),
    ],
)
def test_invalid_fields_are_named(tmp_path, change, expected):
    path = write(tmp_path, VALID.replace(*change))
    with pytest.raises(ConfigError) as raised:
        load_outlets(path)
    assert str(path) in str(raised.value)
    assert expected in str(raised.value)


def test_duplicate_ids_are_refused(tmp_path):
    path = write(tmp_path, VALID + VALID.split("outlets:")[1])
    with pytest.raises(ConfigError, match="outlet id 'people-politics' is used twice"):
        load_outlets(path)


def test_yaml_syntax_error_gives_line_and_column(tmp_path):
    path = write(tmp_path, VALID + "  - id: [unclosed\n")
    with pytest.raises(ConfigError, match=r"outlets\.yaml:10:\d+: YAML syntax error"):
        load_outlets(path)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_outlets(tmp_path / "nope.yaml")


def test_settings_come_from_env_then_yaml_then_defaults(tmp_path, monkeypatch):
    config = tmp_path / "fenghuo.yaml"
    config.write_text("api_port: 9000\nper_host_delay: 3s\nlog_format: json\n", encoding="utf-8")
    monkeypatch.setenv("FENGHUO_CONFIG", str(config))
    monkeypatch.setenv("FENGHUO_API_PORT", "9100")
    monkeypatch.setenv("FENGHUO_ALLOW_NETWORKS", '["127.0.0.0/8"]')
    settings = load_settings()
    assert settings.api_port == 9100  # env beats the file
    assert settings.per_host_delay == timedelta(seconds=3)  # the file beats the default
    assert settings.allow_networks == ["127.0.0.0/8"]
    monkeypatch.setenv("FENGHUO_ALLOW_NETWORKS", "127.0.0.0/8, ::1/128")
    assert load_settings().allow_networks == ["127.0.0.0/8", "::1/128"]
    assert settings.database_url == "sqlite:///./fenghuo.db"


def test_bad_setting_is_named(monkeypatch):
    monkeypatch.setenv("FENGHUO_ALLOW_NETWORKS", '["10.0.0.0/33"]')
    with pytest.raises(ConfigError, match="settings: field 'allow_networks"):
        load_settings()


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("10m", 600), ("1h30m", 5400), ("2d", 172800), ("45", 45), (12, 12)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


def test_every_setting_has_help():
    for name, field in Settings.model_fields.items():
        assert field.description, name


# -- encodings: every configuration file is UTF-8, with or without a byte-order mark ---------

ROSTER = """
people:
  zhang: {name: 张三}
shifts:
  - {name: 白班, start: "08:00", end: "20:00", on_duty: [zhang]}
"""
NOTIFY = "channels:\n  值班室: {kind: generic, url_env: DUTY_URL}\nroutes:\n  red: [值班室]\n"


def loaders():
    from monitor.alerts.roster import load_roster
    from monitor.alerts.routing import load_routing
    from monitor.events.levels import DEFAULT_FILE, load_levels

    return {
        "outlets.yaml": (VALID, load_outlets),
        "levels.yaml": (DEFAULT_FILE.read_text(encoding="utf-8"), load_levels),
        "roster.yaml": (ROSTER, load_roster),
        "notify.yaml": (NOTIFY, load_routing),
    }


@pytest.mark.parametrize("name", ["outlets.yaml", "levels.yaml", "roster.yaml", "notify.yaml"])
def test_a_file_saved_in_gbk_is_named_with_the_fix(tmp_path, monkeypatch, name):
    monkeypatch.setenv("DUTY_URL", "http://127.0.0.1:9/duty")
    text, load = loaders()[name]
    path = tmp_path / name
    path.write_bytes(text.encode("gbk"))  # what Windows Notepad writes for Chinese by default
    with pytest.raises(ConfigError) as raised:  # before: a UnicodeDecodeError traceback
        load(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: is not UTF-8 text (it looks like GBK/GB18030")
    assert "save it as UTF-8" in message and "line " in message


@pytest.mark.parametrize("name", ["outlets.yaml", "levels.yaml", "roster.yaml", "notify.yaml"])
def test_a_byte_order_mark_is_accepted(tmp_path, monkeypatch, name):
    monkeypatch.setenv("DUTY_URL", "http://127.0.0.1:9/duty")
    text, load = loaders()[name]
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8-sig"))  # Notepad's "UTF-8 with BOM"
    assert load(path)


def test_utf16_and_unreadable_files_are_named(tmp_path):
    path = tmp_path / "outlets.yaml"
    path.write_bytes(VALID.encode("utf-16"))  # Notepad's "Unicode"
    with pytest.raises(ConfigError, match=r"outlets\.yaml: is UTF-16 \(Notepad's 'Unicode'\), not UTF-8; save it as UTF-8"):
        load_outlets(path)
    with pytest.raises(ConfigError, match=r"is a folder, not a file"):
        load_outlets(tmp_path)


def test_a_settings_file_in_gbk_is_a_config_error(tmp_path, monkeypatch):
    config = tmp_path / "fenghuo.yaml"
    config.write_bytes("user_agent: 江城水务舆情监测\n".encode("gbk"))
    monkeypatch.setenv("FENGHUO_CONFIG", str(config))
    with pytest.raises(ConfigError, match=r"fenghuo\.yaml: is not UTF-8 text .*save it as UTF-8"):
        load_settings()
    config.write_bytes("user_agent: 江城水务舆情监测\n".encode("utf-8-sig"))
    assert load_settings().user_agent == "江城水务舆情监测"
