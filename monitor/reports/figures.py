"""Every number of the weekly report, computed once from the stored tables.

The HTML, PDF, XLSX, CSV and JSON outputs are renderings of the dict `weekly_figures` returns, so
they cannot disagree with each other. Weeks are ISO weeks (Monday to Sunday) in the report's time
zone, because that is the week the press office means.

Definitions (the report's footnotes repeat them):
- items: what we collected in the week (first seen), whatever they were about;
- relevant items: those that hit at least one keyword rule (about us);
- tone of a relevant item: negative when the analysis called it negative (about us where it names
  us; `monitor.analyze.score.is_negative`, the model's own threshold: the same call as the item's
  risk reasons, `ItemScore.negative` and the event's negative share), positive when its probability
  is < 0.4, neutral in between;
- events of the week: stories with an item collected in the week or a level change in the week;
  an event's peak level is the highest level it reached up to the end of the week;
- alerts: raised in the week; the duty figures follow `monitor.alerts.duty`;
- reviews of the week (复盘): events of the week that reached orange or red by the end of the week,
  and events whose alerts the duty team resolved or marked as noise in the week; each one's
  measures are its post-incident review's (`monitor.reports.review.build_review`, one definition),
  and 发现及时率 / 预警准确率 / 处置及时率 are the shares of those reviews that were found in time,
  accurate, handled in time, over the reviews where the measure can be judged yet.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.alerts.duty import URGENT, AlertStamps, duty_figures
from monitor.analyze.score import NEGATIVE_CALL, is_negative
from monitor.analyze.trends import TrendModel, series
from monitor.records import POSITIVE_BELOW
from monitor.config import TIER_LABELS, Tier
from monitor.db import trends as trend_store
from monitor.db.briefs import brief_material, get_review
from monitor.db.drills import hide_drills
from monitor.db.models import Alert, AlertAction, Escalation, Event, EventItem, Item, ItemAnalysis, Outlet
from monitor.events.levels import LEVELS, rank
from monitor.events.spread import Spread
from monitor.reports.playbook import Playbook, load_playbook
from monitor.reports.review import build_review
from monitor.states import AlertStatus, DutyAction, EventStatus

NEGATIVE_AT = NEGATIVE_CALL  # the model's own negative call, not a band of our choosing
TOP_EVENTS = 10
TOP_OUTLETS = 10
VOLUME_GROUPS = 3  # keyword groups drawn with their baseline band

WEEK_PATTERN = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True)
class Week:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Week:
        """'2026-W47' → Week; a clear ValueError for anything else."""
        match = WEEK_PATTERN.match(text.strip())
        if not match:
            raise ValueError(f"week {text!r} is not an ISO week like 2026-W47")
        year, number = int(match[1]), int(match[2])
        try:
            date.fromisocalendar(year, number, 1)
        except ValueError:
            raise ValueError(f"week {text!r} does not exist: {year} has no week {number}") from None
        return cls(year, number)

    @classmethod
    def containing(cls, moment: datetime, zone: tzinfo) -> Week:
        year, number, _ = moment.astimezone(zone).isocalendar()
        return cls(year, number)

    def __str__(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    def bounds(self, zone: tzinfo) -> tuple[datetime, datetime]:
        start = datetime.combine(self.monday, time(0), tzinfo=zone)
        return start, datetime.combine(self.monday + timedelta(days=7), time(0), tzinfo=zone)

    def previous(self) -> Week:
        year, number, _ = (self.monday - timedelta(days=7)).isocalendar()
        return Week(year, number)

    def days(self) -> list[date]:
        return [self.monday + timedelta(days=n) for n in range(7)]


def tone(negative_prob: float) -> str:
    if is_negative(negative_prob):
        return "negative"
    return "positive" if negative_prob < POSITIVE_BELOW else "neutral"


@dataclass(frozen=True)
class _ItemRow:
    id: int
    outlet_id: str
    title: str
    url: str
    published_at: datetime | None
    first_seen_at: datetime
    negative_prob: float | None  # None: not analysed yet
    risk: int | None
    groups: tuple[str, ...]
    event_id: int | None

    @property
    def relevant(self) -> bool:
        return bool(self.groups)


def _items(session: Session, start: datetime, end: datetime) -> list[_ItemRow]:
    query = (
        select(Item.id, Item.outlet_id, Item.title, Item.url, Item.published_at, Item.first_seen_at,
               ItemAnalysis.negative_prob, ItemAnalysis.risk, ItemAnalysis.hits, EventItem.event_id)
        .outerjoin(ItemAnalysis, ItemAnalysis.item_id == Item.id)
        .outerjoin(EventItem, EventItem.item_id == Item.id)
        .where(Item.first_seen_at >= start, Item.first_seen_at < end)
        .order_by(Item.first_seen_at, Item.id)
        .execution_options(yield_per=2000)
    )
    rows = []
    for row in session.execute(query):
        groups = tuple(dict.fromkeys(hit["group"] for hit in row.hits or []))
        rows.append(_ItemRow(row.id, row.outlet_id, row.title, row.url, row.published_at, row.first_seen_at,
                             row.negative_prob, row.risk, groups, row.event_id))
    return rows


def _overview(session: Session, items: list[_ItemRow], start: datetime, end: datetime) -> dict:
    relevant = [i for i in items if i.relevant]
    negative = sum(tone(i.negative_prob) == "negative" for i in relevant)
    alert_levels = Counter(session.scalars(
        select(Alert.level).where(Alert.alerted_at >= start, Alert.alerted_at < end)
    ))
    new_events = len(list(session.scalars(
        select(Event.id).where(Event.first_at >= start, Event.first_at < end)
    )))
    return {
        "items": len(items),
        "relevant_items": len(relevant),
        "negative_items": negative,
        "negative_share": round(negative / len(relevant), 3) if relevant else None,
        "new_events": new_events,
        "alerts": sum(alert_levels.values()),
        "alerts_by_level": {level: alert_levels.get(level, 0) for level in LEVELS},
    }


def _change(now: dict, before: dict) -> dict:
    change = {}
    for key, value in now.items():
        if isinstance(value, dict):
            change[key] = _change(value, before[key])
        elif value is None or before[key] is None:
            change[key] = None
        else:
            change[key] = round(value - before[key], 3)
    return change


def _events_of_week(session: Session, items: list[_ItemRow], start: datetime, end: datetime) -> list[dict]:
    in_week = Counter(i.event_id for i in items if i.event_id is not None)
    changed = set(session.scalars(select(Escalation.event_id).where(Escalation.at >= start, Escalation.at < end)))
    ids = sorted(set(in_week) | changed)
    if not ids:
        return []
    log: dict[int, list[Escalation]] = defaultdict(list)
    for entry in session.scalars(
        select(Escalation).where(Escalation.event_id.in_(ids), Escalation.at < end).order_by(Escalation.at, Escalation.id)
    ):
        log[entry.event_id].append(entry)
    alerts: dict[int, list[Alert]] = defaultdict(list)
    for alert in session.scalars(
        select(Alert).where(Alert.event_id.in_(ids), Alert.alerted_at < end).order_by(Alert.alerted_at, Alert.id)
    ):
        alerts[alert.event_id].append(alert)
    outlet_names = {oid: name for oid, name in session.execute(select(Outlet.id, Outlet.name))}
    events = []
    # A merged event's story is its survivor's (its items and alerts moved there): not counted twice.
    for event in session.scalars(select(Event).where(Event.id.in_(ids), Event.status != EventStatus.merged)):
        peak = max((e.to_level for e in log[event.id] if e.to_level), key=rank, default=None)
        latest = next((a for a in reversed(alerts[event.id]) if a.status != AlertStatus.superseded), None)
        spread = Spread.of(event)
        events.append({
            "id": event.id,
            "title": event.title,
            "first_outlet": event.first_outlet_id,
            "first_outlet_name": outlet_names.get(event.first_outlet_id, event.first_outlet_id),
            "first_at": event.first_at.isoformat(),
            "peak_level": peak,
            "level_now": event.level,
            "status": event.status,
            "items_total": event.item_count,
            "items_in_week": in_week.get(event.id, 0),
            "outlets": spread.outlets,
            "tiers": list(spread.tiers),
            "negative_share": spread.negative_share,
            "handling": None if latest is None else {
                "alert_id": latest.id, "level": latest.level, "status": latest.status,
                "assignee": latest.assignee, "outcome": latest.outcome,
                "alerted_at": latest.alerted_at.isoformat(),
                "acknowledged_at": latest.acknowledged_at.isoformat() if latest.acknowledged_at else None,
                "resolved_at": latest.resolved_at.isoformat() if latest.resolved_at else None,
            },
            "timeline": [
                {"at": e.at.isoformat(), "kind": e.kind, "from": e.from_level, "to": e.to_level,
                 "actor": e.actor, "reason": e.reason}
                for e in log[event.id]
            ],
        })
    events.sort(key=lambda e: (-rank(e["peak_level"]), -e["items_in_week"], e["id"]))
    return events


def _breakdowns(session: Session, items: list[_ItemRow], group_names: dict[str, str]) -> dict:
    outlets = {o.id: o for o in session.scalars(select(Outlet))}
    per_outlet: Counter = Counter()
    per_outlet_negative: Counter = Counter()
    groups: Counter = Counter()
    for item in items:
        if not item.relevant:
            continue
        per_outlet[item.outlet_id] += 1
        per_outlet_negative[item.outlet_id] += tone(item.negative_prob) == "negative"
        groups.update(item.groups)

    def rollup(key) -> list[dict]:
        counts: Counter = Counter()
        negative: Counter = Counter()
        for outlet_id, count in per_outlet.items():
            name = key(outlets.get(outlet_id))
            counts[name] += count
            negative[name] += per_outlet_negative[outlet_id]
        return [{"name": name, "items": count, "negative": negative[name]}
                for name, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]

    tiers = [
        {"tier": row["name"], **row,
         "name": TIER_LABELS[Tier(row["name"])] if row["name"] in Tier.__members__ else row["name"]}
        for row in rollup(lambda outlet: outlet.tier if outlet else "unknown")
    ]
    return {
        "outlets": [
            {"id": oid, "name": outlets[oid].name if oid in outlets else oid,
             "tier": outlets[oid].tier if oid in outlets else None,
             "items": count, "negative": per_outlet_negative[oid]}
            for oid, count in sorted(per_outlet.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_OUTLETS]
        ],
        "tiers": tiers,
        "regions": rollup(lambda outlet: (outlet.region if outlet and outlet.region else "未标注")),
        "keyword_groups": [
            {"group": group, "name": group_names.get(group, group), "items": count}
            for group, count in sorted(groups.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    }


def _daily(items: list[_ItemRow], session: Session, week: Week, zone: tzinfo, start, end) -> list[dict]:
    days = {day: {"day": day.isoformat(), "items": 0, "positive": 0, "neutral": 0, "negative": 0, "alerts": 0}
            for day in week.days()}
    for item in items:
        row = days[item.first_seen_at.astimezone(zone).date()]
        row["items"] += 1
        if item.relevant:
            row[tone(item.negative_prob)] += 1
    for alerted_at in session.scalars(select(Alert.alerted_at).where(Alert.alerted_at >= start, Alert.alerted_at < end)):
        days[alerted_at.astimezone(zone).date()]["alerts"] += 1
    return list(days.values())


def _duty(session: Session, start, end, now, ack_target, zone) -> dict:
    alerts = list(session.scalars(
        select(Alert).where(Alert.alerted_at >= start, Alert.alerted_at < end).order_by(Alert.alerted_at, Alert.id)
    ))
    figures = duty_figures(
        [AlertStamps(a.level, a.status, a.published_at, a.alerted_at, a.acknowledged_at) for a in alerts],
        now=now, ack_target=ack_target, zone=zone,
    )
    urgent = []
    for alert in alerts:
        if alert.level not in URGENT:
            continue
        ack_minutes = None
        if alert.acknowledged_at is not None:
            ack_minutes = round((alert.acknowledged_at - alert.alerted_at).total_seconds() / 60, 1)
            within = alert.acknowledged_at - alert.alerted_at <= ack_target
        else:
            within = None if now - alert.alerted_at <= ack_target else False
        urgent.append({
            "alert_id": alert.id, "event_id": alert.event_id, "level": alert.level, "title": alert.title,
            "status": alert.status, "assignee": alert.assignee, "outcome": alert.outcome,
            "published_at": alert.published_at.isoformat(), "alerted_at": alert.alerted_at.isoformat(),
            "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
            "detection_minutes": round((alert.alerted_at - alert.published_at).total_seconds() / 60, 1),
            "ack_minutes": ack_minutes,
            "within_target": within,
        })
    return {**figures, "urgent_alerts": urgent}


REVIEWED_LEVELS = ("orange", "red")
# The three review measures, each read from a review's `measures` (key → the figure's name).
REVIEW_RATES = {"found_in_time": "发现及时率", "accurate": "预警准确率", "handled_in_time": "处置及时率"}


def review_link(event_id: int, public_url: str | None) -> str:
    """Where the review is read: the HTML page when the service has a public address, else the
    command that writes it."""
    if public_url:
        return f"{public_url.rstrip('/')}/api/v1/events/{event_id}/review?format=html"
    return f"fenghuo events review {event_id} --format html"


def _reviews(session: Session, events: list[dict], start, end, *, now, zone, labels, playbook: Playbook,
             public_url: str | None) -> dict:
    reached = {e["id"] for e in events if e["peak_level"] in REVIEWED_LEVELS}
    handled = set(session.scalars(
        select(Alert.event_id).join(AlertAction, AlertAction.alert_id == Alert.id)
        .where(AlertAction.action.in_((DutyAction.resolve, DutyAction.noise)), AlertAction.at >= start, AlertAction.at < end)
    ))
    order = {e["id"]: n for n, e in enumerate(events)}  # the week's ranking; handled-only events after it
    ids = sorted(reached | handled, key=lambda i: (order.get(i, len(order)), i))
    find_target = timedelta(minutes=playbook.found_within_minutes)
    rows = []
    for event_id in ids:
        material = brief_material(session, event_id=event_id)
        if material is None:
            continue
        review = build_review(material, get_review(session, event_id=event_id), now=now, zone=zone,
                              labels=labels, playbook=playbook, find_target=find_target)
        event, measures = review["event"], review["measures"]
        rows.append({
            "event_id": event_id, "title": event["title"], "peak_level": event["peak_level"],
            "resolved": event["resolved"], "reason": "level" if event_id in reached else "handled",
            **{key: measures[key] for key in ("found_minutes", "found_in_time", "accurate", "handled_in_time")},
            "verdicts": review["verdicts"], "lessons_written": review["lessons"] is not None,
            "link": review_link(event_id, public_url),
        })
    rates = {}
    for key, name in REVIEW_RATES.items():
        yes = sum(r[key] is True for r in rows)
        no = sum(r[key] is False for r in rows)
        rates[key] = {"name": name, "yes": yes, "no": no, "undecided": len(rows) - yes - no,
                      "share": round(yes / (yes + no), 3) if yes + no else None}
    return {"find_target_minutes": playbook.found_within_minutes, "events": rows, "rates": rates}


def item_rows(session: Session, *, week: Week, zone: tzinfo) -> list[dict]:
    """The relevant items of the week, one dict each (the items CSV and sheet)."""
    hide_drills(session)
    start, end = week.bounds(zone)
    outlets = {o.id: o for o in session.scalars(select(Outlet))}
    rows = []
    for item in _items(session, start, end):
        if not item.relevant:
            continue
        outlet = outlets.get(item.outlet_id)
        rows.append({
            "id": item.id, "first_seen_at": item.first_seen_at.astimezone(zone).isoformat(timespec="minutes"),
            "published_at": item.published_at.astimezone(zone).isoformat(timespec="minutes") if item.published_at else "",
            "outlet": outlet.name if outlet else item.outlet_id, "tier": outlet.tier if outlet else "",
            "region": outlet.region if outlet else "", "title": item.title, "url": item.url,
            "negative_prob": round(item.negative_prob, 3), "tone": tone(item.negative_prob),
            "risk": item.risk, "groups": " ".join(item.groups), "event_id": item.event_id or "",
        })
    return rows


def weekly_figures(
    session: Session,
    *,
    week: Week,
    zone: tzinfo,
    now: datetime,
    ack_target: timedelta,
    group_names: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    playbook: Playbook | None = None,
    public_url: str | None = None,
) -> dict:
    hide_drills(session)  # a drill's items, events and alerts never count in the week
    group_names = group_names or {}
    labels = labels or {level: level for level in LEVELS}
    playbook = playbook or load_playbook()
    start, end = week.bounds(zone)
    previous_start, previous_end = week.previous().bounds(zone)
    items = _items(session, start, end)
    overview = _overview(session, items, start, end)
    before = _overview(session, _items(session, previous_start, previous_end), previous_start, previous_end)
    events = _events_of_week(session, items, start, end)
    peak_levels = Counter(e["peak_level"] for e in events if e["peak_level"])
    breakdowns = _breakdowns(session, items, group_names)
    volume_groups = [row["group"] for row in breakdowns["keyword_groups"][:VOLUME_GROUPS]]
    figures = {
        "week": str(week),
        "from": start.isoformat(),
        "to": end.isoformat(),
        "timezone": str(zone),
        "generated_at": now.astimezone(zone).isoformat(timespec="seconds"),
        "overview": {**overview, "events": len(events)},
        "previous_week": {"week": str(week.previous()), **before},
        "change": _change(overview, before),
        "daily": _daily(items, session, week, zone, start, end),
        "events_by_peak_level": {level: peak_levels.get(level, 0) for level in LEVELS},
        "top_events": events[:TOP_EVENTS],
        "events": events,  # all of them, ranked: the events sheet and CSV
        **breakdowns,
        # hourly volume of the week's busiest groups over their baseline band (README "Volume trends")
        "volume": weekly_volume(session, start=start, end=end, zone=zone, keys=volume_groups, names=group_names),
        "duty": _duty(session, start, end, now, ack_target, zone),
        "reviews": _reviews(session, events, start, end, now=now, zone=zone, labels=labels, playbook=playbook,
                            public_url=public_url),
    }
    return figures


def weekly_volume(session: Session, *, start: datetime, end: datetime, zone, keys: list[str],
                  names: dict[str, str] | None = None, model: TrendModel = TrendModel()) -> list[dict]:
    """The weekly report's volume figure: for each keyword group in `keys`, every hour of the week
    with its count, baseline and band (the same model as the alerts), and its anomalous hours.
    Storage counts the hours; the trends model judges them here, above storage."""
    if not keys:
        return []
    counts = trend_store.hourly_counts(session, start=start - model.history - timedelta(days=model.days), end=end, by="group")
    out = []
    for key in keys:
        verdicts = series(counts.get(key, {}), start, end, model, zone)
        out.append({"group": key, "name": (names or {}).get(key, key), "anomalies": sum(v.anomaly for v in verdicts),
                    "hours": [{"hour": v.hour.isoformat(), "count": v.count, "expected": v.expected, "upper": v.upper,
                               "anomaly": v.anomaly} for v in verdicts]})
    return out
