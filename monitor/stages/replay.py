"""Replay a timeline: what a past (or invented) crisis would have done with these settings.

The real analysis and events stages run on a fresh database with a simulated clock: each item is
stored at its time, the stages run after every arrival and every `step` of simulated time, then a
quiet tail long enough to see events close. Used by `fenghuo events replay` and by the scenario
tests, so a user tuning levels.yaml or the keyword library sees what an alert officer would have.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from monitor.config import ConfigError, OutletConfig, config_error
from monitor.events.levels import LevelsConfig, rank
from monitor.states import EscalationKind, EventStatus

START = datetime(2026, 1, 1, tzinfo=UTC)  # "minute 0" when the timeline counts in minutes


class TimelineItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: float | datetime = Field(description="minutes from the start, or an ISO time")
    outlet: str
    title: str
    text: str
    url: str | None = None


def read_timeline(path: Path) -> list[TimelineItem]:
    """A YAML list (or {items: [...]}) or JSON lines; a mistake is told as in every configuration
    file (config_error), naming the item: `<file>:<line>:<column>: item 2: field 'title': …`."""
    raw_text = path.read_text(encoding="utf-8")
    if path.suffix in {".jsonl", ".ndjson"}:
        raw = [json.loads(line) for line in raw_text.splitlines() if line.strip()]
    else:
        raw = yaml.safe_load(raw_text)
    listed = raw.get("items") if isinstance(raw, dict) else raw
    if not isinstance(listed, list) or not listed:
        raise ConfigError(f"{path}: expected a list of items (at, outlet, title, text)")
    try:
        if isinstance(raw, dict):  # validated where it stands, so a problem's position is found
            return _Timeline.model_validate({"items": listed}).items
        return _ITEMS.validate_python(listed)
    except ValidationError as error:
        raise config_error(path, error, label=_item) from None


class _Timeline(BaseModel):
    items: list[TimelineItem]


_ITEMS = TypeAdapter(list[TimelineItem])


def _item(location: list) -> tuple[str, list]:
    """A problem inside the list names the item by its number (from 1), not by its index."""
    location = location[1:] if location[:1] == ["items"] else location
    if location and isinstance(location[0], int):
        return f"item {location[0] + 1}", location[1:]
    return "", location


@dataclass
class _Times:
    start: datetime
    in_minutes: bool

    def at(self, item: TimelineItem) -> datetime:
        if isinstance(item.at, datetime):
            return item.at if item.at.tzinfo else item.at.replace(tzinfo=UTC)
        return self.start + timedelta(minutes=item.at)

    def show(self, moment: datetime | None):
        if moment is None:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        if self.in_minutes:
            return round((moment - self.start).total_seconds() / 60, 1)
        return moment.isoformat()


def replay(
    items: list[TimelineItem],
    *,
    outlets: list[OutletConfig],
    keywords: Path,
    levels: LevelsConfig,
    database_url: str | None = None,
    step: timedelta = timedelta(minutes=5),
    model: str | None = None,
) -> list[dict]:
    from monitor.analyze.holder import LibraryHolder
    from monitor.analyze.sentiment import load_model
    from monitor.clock import FrozenClock
    from monitor.db import events as event_store
    from monitor.db import items as item_store
    from monitor.db import make_engine, make_session_factory, upgrade_database
    from monitor.db import outlets as outlet_store
    from monitor.fetch.parsed import ParsedEntry
    from monitor.stages.analysis import Analyser
    from monitor.stages.grouping import EventStage

    known = {outlet.id for outlet in outlets}
    unknown = sorted({item.outlet for item in items} - known)
    if unknown:
        raise ConfigError(f"outlets not in the outlets file: {', '.join(unknown)}")
    in_minutes = all(not isinstance(item.at, datetime) for item in items)
    times = _Times(START, in_minutes)
    if not in_minutes:
        times.start = min(times.at(item) for item in items)
    ordered = sorted(items, key=times.at)

    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite:///{Path(folder) / 'replay.sqlite'}"
        upgrade_database(url)
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        clock = FrozenClock(times.start)
        with sessions.begin() as session:
            outlet_store.sync_outlets(session, configs=outlets, now=clock.now())
        analyser = Analyser(sessions, LibraryHolder(keywords), load_model(model) if model else load_model(), clock)
        stage = EventStage(sessions, levels, clock)

        end = times.at(ordered[-1]) + levels.quiet_period + timedelta(hours=2)
        pending = list(ordered)
        moment = times.start
        count = 0
        while moment <= end:
            arriving = []
            while pending and times.at(pending[0]) <= moment:
                arriving.append(pending.pop(0))
            clock.current = moment
            for item in arriving:
                count += 1
                entry = ParsedEntry(
                    url=item.url or f"replay://{item.outlet}/{count}", title=item.title, text=item.text,
                    published_at=times.at(item),
                )
                with sessions.begin() as session:
                    item_store.store_entries(session, outlet_id=item.outlet, entries=[entry], now=moment)
            analyser.run_once()
            stage.run_once()
            following = times.at(pending[0]) if pending else end + step
            moment = min(moment + step, following) if pending else moment + max(step, timedelta(minutes=30))

        with sessions() as session:
            report = _report(session, event_store, times)
        engine.dispose()
    return report


def _report(session, event_store, times: _Times) -> list[dict]:
    from sqlalchemy import func, select

    from monitor.db.models import Alert

    alerts = dict(session.execute(select(Alert.event_id, func.count()).group_by(Alert.event_id)).all())
    report = []
    for event in event_store.all_events(session):
        log = event_store.escalation_log(session, event_id=event.id)
        items = event_store.event_items(session, event_id=event.id)
        changes = [
            {"at": times.show(e.at), "level": e.to_level, "kind": e.kind, "reasons": [e.reason, *e.reasons]}
            for e in log if e.kind in {EscalationKind.escalate, EscalationKind.downgrade}
        ]
        closes = [e.at for e in log if e.kind == EscalationKind.close]
        reopens = [e.at for e in log if e.kind == EscalationKind.reopen]
        report.append({
            "id": event.id,
            "title": event.title,
            "items": len(items),
            "titles": [item.title for item in items],
            "outlets": sorted({item.outlet_id for item in items}),
            "origin": {"outlet": event.first_outlet_id, "at": times.show(event.first_at)},
            "levels": changes,
            "max_level": max((c["level"] for c in changes), key=rank, default=None),
            "alerts": alerts.get(event.id, 0),
            "closed_at": times.show(closes[-1]) if closes and event.status == EventStatus.closed else None,
            "closes": [times.show(at) for at in closes],
            "reopened_at": times.show(reopens[-1]) if reopens else None,
        })
    return report
