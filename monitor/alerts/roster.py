"""roster.yaml: who is on duty when, so that pushes mention the right people and each incoming
officer gets a handover summary.

    timezone: Asia/Shanghai
    people:
      zhang: {name: 张三, mobile: "13800000001", wecom: zhangsan, feishu: ou_7d8a6e, slack: U024BE7LH}
      li:    {name: 李四, mobile: "13800000002", dingtalk: li4}
    shifts:
      - {name: 白班, start: "08:00", end: "20:00", on_duty: [zhang]}
      - {name: 夜班, start: "20:00", end: "08:00", on_duty: [li]}        # overnight: ends next day
      - {name: 周末, start: "09:00", end: "21:00", days: [sat, sun], on_duty: [li]}

A shift belongs to the day it starts on (`days`, default every day). When two shifts cover the same
moment, the one listed first wins: list the exceptions (weekends, holidays) first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from monitor.config import config_error, read_yaml

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Person(BaseModel):
    """One officer and how each chat vendor addresses them."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    mobile: str | None = Field(None, description="DingTalk and WeCom mention by phone number")
    wecom: str | None = Field(None, description="WeCom userid")
    dingtalk: str | None = Field(None, description="DingTalk userId")
    feishu: str | None = Field(None, description="Feishu/Lark open_id (ou_…)")
    slack: str | None = Field(None, description="Slack member id (U…)")


class Shift(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    start: time
    end: time  # at or before start: the shift ends the next day
    days: list[str] = Field(default_factory=lambda: list(DAYS))
    on_duty: list[str] = Field(min_length=1)

    @field_validator("days")
    @classmethod
    def _known_days(cls, value: list[str]) -> list[str]:
        unknown = [day for day in value if day not in DAYS]
        if unknown:
            raise ValueError(f"unknown day {unknown[0]!r}; use {', '.join(DAYS)}")
        return value

    def length(self) -> timedelta:
        start, end = (datetime.combine(date.min, t) for t in (self.start, self.end))
        return end - start if end > start else end - start + timedelta(days=1)


class RosterFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timezone: str = "Asia/Shanghai"
    people: dict[str, Person]
    shifts: list[Shift] = Field(min_length=1)
    # Channels that receive the handover summary when a shift begins.
    handover: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _shifts_name_people(self) -> RosterFile:
        for number, shift in enumerate(self.shifts, 1):
            for person in shift.on_duty:
                if person not in self.people:
                    raise ValueError(f"shift {shift.name!r} (#{number}) names {person!r}, who is not under people")
        ZoneInfo(self.timezone)
        return self


@dataclass(frozen=True)
class OnDuty:
    shift: str
    start: datetime
    end: datetime
    people: tuple[Person, ...]


@dataclass(frozen=True)
class Roster:
    config: RosterFile

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.config.timezone)

    def _covering(self, moment: datetime) -> OnDuty | None:
        local = moment.astimezone(self.zone)
        for shift in self.config.shifts:
            for day in (local.date(), local.date() - timedelta(days=1)):
                if DAYS[day.weekday()] not in shift.days:
                    continue
                start = datetime.combine(day, shift.start, tzinfo=self.zone)
                end = start + shift.length()
                if start <= local < end:
                    people = tuple(self.config.people[p] for p in shift.on_duty)
                    return OnDuty(shift.name, start, end, people)
        return None

    def on_duty(self, moment: datetime) -> OnDuty | None:
        """Who is on duty at moment; None in a gap the roster leaves uncovered."""
        return self._covering(moment)

    def person(self, key: str) -> Person | None:
        return self.config.people.get(key)

    def shift_began(self, moment: datetime, within: timedelta) -> OnDuty | None:
        """The shift that began in (moment - within, moment], if any: it is owed a handover."""
        current = self._covering(moment)
        if current is not None and moment - within < current.start <= moment:
            return current
        return None

    def previous(self, current: OnDuty) -> OnDuty | None:
        return self._covering(current.start - timedelta(seconds=1))


def load_roster(path: Path) -> Roster:
    raw = read_yaml(path) or {}
    try:
        return Roster(RosterFile.model_validate(raw))
    except ValidationError as error:
        raise config_error(path, error) from None
