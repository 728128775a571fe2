"""Alert store: raising alerts with the escalation that caused them, the feed, and duty actions.

The caller owns the transaction: an alert is committed together with its escalation-log entry
and its pending deliveries, so no escalation is ever without its alert. Every message this module
produces (the alert's pushes, repeats, duty follow-ups, digests) is queued through the outbox
(monitor/db/outbox.py), which holds all the delivery SQL.

Duty states: new → acknowledged → resolved, and new/acknowledged → noise (a false alarm).
An alert superseded by a higher one for the same story takes no more actions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, Select, bindparam, func, select
from sqlalchemy.orm import Session

from monitor.db import outbox
from monitor.db.drills import hide_drills, not_drill_alert, only_drill_alert
from monitor.db.models import (
    Alert,
    AlertAction,
    AlertFeedVersion,
    Escalation,
    Event,
    EventGroup,
    EventItem,
    Item,
    ItemAnalysis,
    Outlet,
)
from monitor.errors import DomainError, ErrorKind
from monitor.states import LEVELS, OPEN_ALERT, AlertStatus, DeliveryKind, DutyAction

OPEN = OPEN_ALERT
ACTIONS = tuple(DutyAction)


class ActionError(DomainError):
    """A duty action that cannot be taken: no such alert, not in its current state, or incomplete."""


def raise_alert(
    session: Session,
    *,
    event: Event,
    escalation: Escalation,
    now: datetime,
    channels: list[str] = (),
    hold: bool = False,
) -> Alert:
    """The alert and its pending deliveries (the outbox), in the caller's transaction. A story
    marked as noise is not pushed again. With hold (a level batched into digests) the deliveries
    wait as `held` until the digest that carries them is queued."""
    for older in session.scalars(
        select(Alert).where(Alert.event_id == event.id, Alert.status == AlertStatus.new)
    ):
        older.status = AlertStatus.superseded
    first_seen, first_analysed = session.execute(
        select(func.min(Item.first_seen_at), func.min(ItemAnalysis.analysed_at))
        .join(EventItem, EventItem.item_id == Item.id)
        .outerjoin(ItemAnalysis, ItemAnalysis.item_id == Item.id)
        .where(EventItem.event_id == event.id)
    ).one()
    alert = Alert(
        event_id=event.id, escalation_id=escalation.id, level=escalation.to_level, title=event.title,
        reason="; ".join([escalation.reason, *escalation.reasons]), status=AlertStatus.new,
        published_at=event.first_at, fetched_at=first_seen or now, analysed_at=first_analysed,
        alerted_at=now,
    )
    session.add(alert)
    session.flush()
    muted = session.scalar(
        select(func.count()).select_from(Alert).where(Alert.event_id == event.id, Alert.status == AlertStatus.noise)
    )
    for channel in [] if muted else channels:
        outbox.enqueue(session, key=f"alert-{alert.id}-{channel}", channel=channel, kind=DeliveryKind.fire, now=now,
                       alert_id=alert.id, hold=hold)
    return alert


@dataclass(frozen=True)
class AlertFilter:
    min_level: str | None = None
    status: str | None = None
    event_id: int | None = None
    text: str | None = None
    alerted_from: datetime | None = None
    alerted_to: datetime | None = None
    outlet: str | None = None  # the story reached this outlet
    tier: str | None = None  # … an outlet of this tier
    region: str | None = None  # … an outlet of this region
    group: str | None = None  # its items hit this keyword group
    drills: str = "hide"  # drills' alerts (应急演练): hide (the default view) | only | include


def list_alerts(
    session: Session,
    *,
    filters: AlertFilter,
    limit: int,
    since: int | None = None,
    before: int | None = None,
) -> list[Alert]:
    """With `since`, alerts with a larger id in ascending order (a poller's feed: ids only grow,
    so nothing is missed or repeated), up to `before` if given; otherwise newest first, `before`
    paging backwards."""
    return list(session.scalars(feed_query(filters=filters, limit=limit, since=since, before=before)))


def feed_query(*, filters: AlertFilter, limit: int, since: int | None = None, before: int | None = None) -> Select:
    """The query behind :func:`list_alerts`: :func:`feed_statement` with the values bound."""
    shape, values = feed_parameters(filters=filters, limit=limit, since=since, before=before)
    return feed_statement(shape).params(values)


def feed_parameters(
    *, filters: AlertFilter, limit: int, since: int | None = None, before: int | None = None,
) -> tuple[tuple, dict]:
    """The feed query's shape (which criteria it has: the key of its SQL, :func:`feed_statement`)
    and the values of its parameters. A reader that runs the statement's SQL itself (the API's
    feed, monitor/api/serialised.py) compiles it once per shape."""
    values: dict = {"limit": limit}
    shape: list = [filters.drills]
    if filters.min_level:
        levels = LEVELS[LEVELS.index(filters.min_level):]
        shape.append(("levels", len(levels)))
        values.update((f"level_{n}", level) for n, level in enumerate(levels))
    named = (
        ("status", filters.status), ("event_id", filters.event_id), ("text", filters.text or None),
        ("alerted_from", filters.alerted_from), ("alerted_to", filters.alerted_to), ("outlet", filters.outlet),
        ("tier", filters.tier), ("region", filters.region), ("group", filters.group), ("before", before),
        ("since", since),
    )
    for name, value in named:
        if value is not None:
            shape.append(name)
            values[name] = value
    return tuple(shape), values


# The alerts' version (migration 0022: raised by the database at every committed change to the
# alerts table), read on a DBAPI cursor by the feed's route with the tokens' version.
FEED_VERSION_SQL = f"SELECT version FROM {AlertFeedVersion.__tablename__} WHERE id = 1"

# Criteria whose answer depends on more than the alerts table (and the events' drill marks, set
# once when a drill's event is made): which outlets an event's items reached, which keyword
# groups they hit. Those change without any alert changing, so their pages are not remembered.
BEYOND_THE_ALERTS = frozenset({"outlet", "tier", "region", "group"})


def feed_page_depends_only_on_alerts(shape: tuple) -> bool:
    """Whether a feed query of this shape (:func:`feed_parameters`) gives the same page for as
    long as the alerts' version (FEED_VERSION_SQL) stays the same."""
    return BEYOND_THE_ALERTS.isdisjoint(shape[1:])


@functools.lru_cache(maxsize=512)  # shapes: 3 drill views x 5 level sets x 2^11 other criteria, few used
def feed_statement(shape: tuple) -> Select:
    """The feed's query for a shape of :func:`feed_parameters`, each value a named parameter.
    With `since`, alerts with a larger id, oldest first; otherwise newest first, `before` paging
    backwards."""
    criteria = set(shape[1:])
    query = select(Alert)
    if shape[0] == "hide":
        query = query.where(not_drill_alert())
    elif shape[0] == "only":
        query = query.where(only_drill_alert())
    for criterion in shape[1:]:
        if isinstance(criterion, tuple):  # ("levels", n): this level and the ones above it
            query = query.where(Alert.level.in_([bindparam(f"level_{n}", type_=Alert.level.type) for n in range(criterion[1])]))
    if "status" in criteria:
        query = query.where(Alert.status == bindparam("status"))
    if "event_id" in criteria:
        query = query.where(Alert.event_id == bindparam("event_id"))
    if "text" in criteria:
        query = query.where(Alert.title.contains(bindparam("text", type_=Alert.title.type)))
    if "alerted_from" in criteria:
        query = query.where(Alert.alerted_at >= bindparam("alerted_from"))
    if "alerted_to" in criteria:
        query = query.where(Alert.alerted_at < bindparam("alerted_to"))
    spread = [column == bindparam(name)
              for column, name in ((Outlet.id, "outlet"), (Outlet.tier, "tier"), (Outlet.region, "region"))
              if name in criteria]
    if spread:
        reached = (
            select(EventItem.event_id)
            .join(Item, Item.id == EventItem.item_id)
            .join(Outlet, Outlet.id == Item.outlet_id)
            .where(*spread)
        )
        query = query.where(Alert.event_id.in_(reached))
    if "before" in criteria:
        query = query.where(Alert.id < bindparam("before"))
    if "group" in criteria:
        query = query.where(
            Alert.event_id.in_(select(EventGroup.event_id).where(EventGroup.group_id == bindparam("group")))
        )
    if "since" in criteria:
        query = query.where(Alert.id > bindparam("since")).order_by(Alert.id)
    else:
        query = query.order_by(Alert.id.desc())
    return query.limit(bindparam("limit", type_=Integer()))


def latest_alert_id(session: Session) -> int:
    return session.scalar(select(func.max(Alert.id))) or 0


def get_alert(session: Session, *, alert_id: int) -> Alert | None:
    return session.get(Alert, alert_id)


def actions_of(session: Session, *, alert_id: int) -> list[AlertAction]:
    query = select(AlertAction).where(AlertAction.alert_id == alert_id).order_by(AlertAction.at, AlertAction.id)
    return list(session.scalars(query))


def act(
    session: Session,
    *,
    alert_id: int,
    action: str,
    actor: str,
    now: datetime,
    note: str | None = None,
    assignee: str | None = None,
    outcome: str | None = None,
) -> Alert:
    alert = session.get(Alert, alert_id, with_for_update=True)
    if alert is None:
        raise ActionError(f"no alert with id {alert_id}", ErrorKind.not_found)
    if action not in ACTIONS:
        raise ActionError(f"unknown action {action!r}", ErrorKind.invalid)
    if alert.status == AlertStatus.superseded and action != DutyAction.note:
        raise ActionError(
            f"alert {alert_id} was superseded by a higher alert for the same event; act on that one"
        )
    if action == DutyAction.acknowledge:
        if alert.status != AlertStatus.new:
            raise ActionError(f"alert {alert_id} is {alert.status}, not new: nothing to acknowledge")
        alert.status, alert.acknowledged_at = AlertStatus.acknowledged, now
    elif action == DutyAction.assign:
        if alert.status not in OPEN:
            raise ActionError(f"alert {alert_id} is {alert.status}: assign an open alert")
        if not (assignee or "").strip():
            raise ActionError("say to whom: an assignee is required", ErrorKind.invalid)
        alert.assignee = assignee.strip()
    elif action == DutyAction.note:
        if not (note or "").strip():
            raise ActionError("a note needs text", ErrorKind.invalid)
    elif action == DutyAction.resolve:
        if alert.status not in OPEN:
            raise ActionError(f"alert {alert_id} is {alert.status} already")
        if not (outcome or "").strip():
            raise ActionError("say how it ended: an outcome is required to resolve", ErrorKind.invalid)
        alert.status, alert.resolved_at, alert.outcome = AlertStatus.resolved, now, outcome.strip()
        alert.acknowledged_at = alert.acknowledged_at or now
    elif action == DutyAction.noise:
        if alert.status not in OPEN:
            raise ActionError(f"alert {alert_id} is {alert.status} already")
        alert.status, alert.resolved_at, alert.outcome = AlertStatus.noise, now, "false alarm"
        # A false alarm is not pushed: what is still waiting in the outbox is cancelled.
        outbox.cancel_for_alert(session, alert_id=alert_id, reason=f"marked as noise by {actor}")
        alert.acknowledged_at = alert.acknowledged_at or now
    if action in (DutyAction.acknowledge, DutyAction.resolve):
        kind = DeliveryKind.ack if action == DutyAction.acknowledge else DeliveryKind.resolve
        _queue_follow_up(session, alert, kind, now)
    session.add(AlertAction(
        alert_id=alert_id, action=action, actor=actor, at=now, note=(note or "").strip() or None,
        data={k: v for k, v in {"assignee": assignee, "outcome": outcome}.items() if v},
    ))
    return alert


def stamps_between(session: Session, *, start: datetime, end: datetime) -> list:
    """Latency stamps of the alerts raised in [start, end): rows with level, status, published_at,
    alerted_at and acknowledged_at, the fields monitor/alerts/duty.py reads (its AlertStamps), so
    the store need not import the alerting code."""
    query = select(
        Alert.level, Alert.status, Alert.published_at, Alert.alerted_at, Alert.acknowledged_at
    ).where(Alert.alerted_at >= start, Alert.alerted_at < end).order_by(Alert.alerted_at, Alert.id)
    # In a stable order: PostgreSQL returned the same rows in another order once a drill had
    # written beside them, and tests/drill/test_kill.py compares them as a list.
    return list(hide_drills(session).execute(query))  # a drill's times are not the team's KPIs


def rule_texts_for_suggestions(session: Session, *, alert_id: int, since: datetime, limit: int = 2000):
    """For the rules behind an alert's story: texts of items in noise-marked stories, and of
    the rules' other items. Returns (rules, groups, noise texts, other texts)."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        return None
    own = session.execute(
        select(ItemAnalysis.hits).join(EventItem, EventItem.item_id == ItemAnalysis.item_id)
        .where(EventItem.event_id == alert.event_id)
    ).scalars()
    rules = {hit["rule"] for hits in own for hit in hits}
    groups = {hit["group"] for hits in session.execute(
        select(ItemAnalysis.hits).join(EventItem, EventItem.item_id == ItemAnalysis.item_id)
        .where(EventItem.event_id == alert.event_id)
    ).scalars() for hit in hits if hit["rule"] in rules}
    noisy_events = select(Alert.event_id).where(Alert.status == AlertStatus.noise)
    rows = session.execute(
        select(Item.title, Item.text, ItemAnalysis.hits, EventItem.event_id.in_(noisy_events))
        .join(ItemAnalysis, ItemAnalysis.item_id == Item.id)
        .join(EventItem, EventItem.item_id == Item.id)
        .where(ItemAnalysis.risk > 0, Item.first_seen_at >= since)
        .order_by(Item.id.desc())
        .limit(limit)
    )
    noise, others = [], []
    for title, text, hits, is_noise in rows:
        if rules & {hit["rule"] for hit in hits}:
            (noise if is_noise else others).append(f"{title}\n{text}")
    return sorted(rules), sorted(groups), noise, others


# The API reads the delivery log beside the alerts; the query belongs to the outbox.
delivery_log = outbox.delivery_log


def _queue_follow_up(session: Session, alert: Alert, kind: str, now: datetime) -> None:
    """A short follow-up to every channel that was told of the alert: the group sees it handled."""
    for channel in outbox.told_channels(session, alert_id=alert.id):
        outbox.enqueue(session, key=f"alert-{alert.id}-{kind}-{channel}", channel=channel, kind=kind, now=now,
                       alert_id=alert.id)


def queue_repeats(session: Session, *, now: datetime, routing) -> int:
    """Pushes again the alerts still new past their level's time limit (once each)."""
    queued = 0
    for level, limit in routing.repeat_after.items():
        overdue = session.scalars(
            select(Alert).where(Alert.level == level, Alert.status == AlertStatus.new, Alert.alerted_at <= now - limit)
        )
        for alert in overdue:
            for channel in routing.repeat_channels_for(level):
                queued += outbox.enqueue(session, key=f"alert-{alert.id}-repeat-{channel}", channel=channel,
                                         kind=DeliveryKind.repeat, now=now, alert_id=alert.id)
    return queued


def queue_digests(session: Session, *, now: datetime, routing, labels: dict[str, str], zone,
                  link: str | None = None) -> int:
    """Blue and yellow alerts batched per channel (notify.yaml `digest`): once the oldest held
    push of a channel has waited its level's period, and outside quiet hours, one digest notice
    lists them all; the held pushes become `batched` in the same transaction, so a crash neither
    loses nor repeats them. Returns how many digests were queued."""
    if routing.in_quiet_hours(now):
        return 0
    queued = 0
    for channel, deliveries in outbox.held_by_channel(session).items():
        alerts = {a.id: a for a in session.scalars(select(Alert).where(Alert.id.in_([d.alert_id for d in deliveries])))}
        oldest = deliveries[0]
        period = routing.digest.get(alerts[oldest.alert_id].level)
        if period is not None and now - oldest.created_at < period:
            continue
        # Stories that escalated since (superseded), were resolved or marked noise need no digest line.
        listed = [alerts[d.alert_id] for d in deliveries if alerts[d.alert_id].status in OPEN_ALERT]
        outbox.mark_batched(deliveries)
        if not listed:
            continue
        lines = [
            f"{labels.get(a.level, a.level)} {a.title}（{a.alerted_at.astimezone(zone):%m-%d %H:%M}）"
            for a in sorted(listed, key=lambda a: (-LEVELS.index(a.level), a.alerted_at))[:20]
        ]
        if len(listed) > 20:
            lines.append(f"另有 {len(listed) - 20} 条未列出")
        since = min(a.alerted_at for a in listed).astimezone(zone)
        outbox.enqueue(
            session, channel=channel, kind=DeliveryKind.digest, now=now,
            key=f"digest-{channel}-{deliveries[0].id}-{deliveries[-1].id}",
            payload={"title": f"舆情摘要：{len(listed)} 条预警（{since:%m-%d %H:%M} 起）", "lines": lines,
                     "summary": "以上为一级、二级预警汇总，请按需研判。", "link": link,
                     "alert_ids": [a.id for a in listed]},
        )
        queued += 1
    return queued
