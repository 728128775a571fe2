"""notify.yaml: chat channels and which levels go where.

    channels:
      duty-room:
        kind: generic                          # generic | wecom | dingtalk | feishu | slack
        url_env: FENGHUO_WEBHOOK_DUTY_URL      # the URL comes from the environment, never the file
        secret_env: FENGHUO_WEBHOOK_DUTY_SECRET
    routes:
      yellow: [duty-room]
      orange: [duty-room]
      red: [duty-room]
    reports: [duty-room]                       # where the weekly report is announced
    anomalies: [duty-room]                     # where a volume anomaly (声量异常) is announced
    roster: roster.yaml                        # who is on duty when (monitor/alerts/roster.py)
    mentions:
      orange: [on_duty]
      red: [on_duty, all]
    digest: {blue: 30m, yellow: 30m}           # batched: one message per channel per period
    quiet_hours: {start: "22:00", end: "07:30"}  # digests wait; orange and red never do

Webhook URLs and secrets are credentials: they are read from environment variables (or files
named by them), so the config file can be committed and no secret reaches a log or a response.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from monitor.alerts.roster import Person, Roster, load_roster
from monitor.config import ConfigError, Duration, config_error, read_yaml
from monitor.events.levels import Level


class ChannelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["generic", "wecom", "dingtalk", "feishu", "slack"]
    url_env: str = Field(description="environment variable holding the webhook URL")
    secret_env: str | None = Field(None, description="environment variable holding the signing secret")
    per_minute: int | None = Field(
        None, ge=1, description="messages per minute the channel accepts; default by kind (WeCom, DingTalk: 20)"
    )


class QuietHours(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: time
    end: time  # at or before start: ends the next morning

    def contains(self, moment: time) -> bool:
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


class NotifyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    routes: dict[Level, list[str]] = Field(default_factory=dict)
    # Time limits (通报时限): an alert of this level not acknowledged within it is pushed again…
    repeat_after: dict[Level, Duration] = Field(default_factory=dict)
    # …to its channels and to these (the next group up, like an escalation policy).
    escalate_to: dict[Level, list[str]] = Field(default_factory=dict)
    # Where the weekly report is announced with its headline numbers.
    reports: list[str] = Field(default_factory=list)
    # Where a volume anomaly of a keyword group is announced (once per burst, monitor/stages/trends.py).
    anomalies: list[str] = Field(default_factory=list)
    # Who is @-mentioned per level: "on_duty" (from the roster), "all", or people of the roster.
    mentions: dict[Level, list[str]] = Field(default_factory=dict)
    roster: Path | None = Field(None, description="roster.yaml, relative to this file")
    # Levels batched into one digest per channel and period instead of a push each (blue, yellow).
    digest: dict[Level, Duration] = Field(default_factory=dict)
    # Digests wait while these last (22:00–07:30); orange and red are never held.
    quiet_hours: QuietHours | None = None
    timezone: str = "Asia/Shanghai"

    @field_validator("digest")
    @classmethod
    def _only_low_levels(cls, value: dict) -> dict:
        urgent = [level for level in value if level in ("orange", "red")]
        if urgent:
            raise ValueError(f"{urgent[0]} alerts are pushed at once, never batched: digest only blue and yellow")
        return value

    @model_validator(mode="after")
    def _routes_name_channels(self) -> NotifyFile:
        for section in (self.routes, self.escalate_to, {"reports": self.reports}, {"anomalies": self.anomalies}):
            for level, names in section.items():
                for name in names:
                    if name not in self.channels:
                        raise ValueError(f"route {level} names channel {name!r}, which is not defined")
        return self


# The vendors' documented limits per robot, in HTTP requests (shared notes: chat-webhooks).
# Exceeding DingTalk's throttles the robot for ten minutes, so the worker queues rather than tries
# its luck; Feishu also allows only 5 a second, Slack about one.
PER_MINUTE = {"wecom": 20, "dingtalk": 20, "feishu": 100, "slack": 60}
PER_SECOND = {"feishu": 5, "slack": 1}


@dataclass(frozen=True)
class Channel:
    name: str
    kind: str
    url: str = field(repr=False)  # a credential: never printed
    secret: str | None = field(default=None, repr=False)
    per_minute: int | None = None

    @property
    def limit(self) -> int | None:
        return self.per_minute or PER_MINUTE.get(self.kind)

    @property
    def per_second(self) -> int | None:
        return PER_SECOND.get(self.kind)

    @property
    def robot(self) -> str:
        """Which robot the channel posts to: two channels on one webhook share its limits. A hash,
        since the URL is a credential."""
        return hashlib.sha256(f"{self.kind} {self.url}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Routing:
    channels: dict[str, Channel]
    routes: dict[str, list[str]]
    repeat_after: dict[str, timedelta] = field(default_factory=dict)
    escalate_to: dict[str, list[str]] = field(default_factory=dict)
    report_channels: list[str] = field(default_factory=list)
    mentions: dict[str, list[str]] = field(default_factory=dict)
    roster: Roster | None = None
    digest: dict[str, timedelta] = field(default_factory=dict)
    quiet_hours: QuietHours | None = None
    zone: ZoneInfo = ZoneInfo("Asia/Shanghai")
    anomaly_channels: list[str] = field(default_factory=list)

    def in_quiet_hours(self, now: datetime) -> bool:
        return self.quiet_hours is not None and self.quiet_hours.contains(now.astimezone(self.zone).time())

    def mentions_for(self, level: str, now: datetime) -> tuple[tuple[Person, ...], bool]:
        """(people to @-mention, whether to mention everyone) for a push of this level now: the
        roster is read at send time, so a 3 a.m. reminder reaches the night shift."""
        people: list[Person] = []
        everyone = False
        for entry in self.mentions.get(level, []):
            if entry == "all":
                everyone = True
            elif entry == "on_duty":
                duty = self.roster.on_duty(now) if self.roster else None
                people += list(duty.people) if duty else []
            elif self.roster and (person := self.roster.person(entry)):
                people.append(person)
        return tuple(dict.fromkeys(people)), everyone

    def same_robot(self, name: str) -> list[str]:
        """The channels posting to the same robot as `name` (itself included)."""
        robot = self.channels[name].robot
        return [other for other, channel in self.channels.items() if channel.robot == robot]

    def channels_for(self, level: str) -> list[str]:
        return list(self.routes.get(level, []))

    def repeat_channels_for(self, level: str) -> list[str]:
        return list(dict.fromkeys(self.channels_for(level) + self.escalate_to.get(level, [])))


NO_ROUTING = Routing({}, {})


def _secret(variable: str, path: Path) -> str:
    value = os.environ.get(variable)
    if value is None and os.environ.get(variable + "_FILE"):
        value = Path(os.environ[variable + "_FILE"]).read_text(encoding="utf-8").strip()
    if not value:
        raise ConfigError(f"{path}: environment variable {variable} (or {variable}_FILE) is not set")
    return value


def load_routing(path: Path | None) -> Routing:
    if path is None:
        return NO_ROUTING
    raw = read_yaml(path) or {}
    try:
        config = NotifyFile.model_validate(raw)
    except ValidationError as error:
        raise config_error(path, error) from None
    channels = {
        name: Channel(
            name, channel.kind, _secret(channel.url_env, path),
            _secret(channel.secret_env, path) if channel.secret_env else None,
            channel.per_minute,
        )
        for name, channel in config.channels.items()
    }
    roster = load_roster(path.parent / config.roster) if config.roster else None
    for level, entries in config.mentions.items():
        for entry in entries:
            if entry == "on_duty" and roster is None:
                raise ConfigError(f"{path}: field 'mentions.{level}': on_duty needs a roster (roster: roster.yaml)")
            if entry not in ("on_duty", "all") and (roster is None or roster.person(entry) is None):
                raise ConfigError(f"{path}: field 'mentions.{level}': {entry!r} is not a person of the roster")
    if roster is not None:
        for name in roster.config.handover:
            if name not in channels:
                raise ConfigError(f"{path}: roster handover names channel {name!r}, which is not defined")
    return Routing(
        channels, dict(config.routes), dict(config.repeat_after), dict(config.escalate_to), list(config.reports),
        dict(config.mentions), roster, dict(config.digest), config.quiet_hours, ZoneInfo(config.timezone),
        list(config.anomalies),
    )
