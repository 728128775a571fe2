"""The vocabulary of states and kinds, named once. A neutral module, as `Tier` is (monitor/config.py):
the stores, the alerting code and the API all use it.

Each is a StrEnum, so a member is stored and compared as its string: `AlertStatus.new == "new"`,
and rows written before these names existed read the same.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal


class AlertStatus(StrEnum):
    """An alert's duty state: new → acknowledged → resolved, new/acknowledged → noise; superseded
    when a higher alert for the same story replaces a new one."""

    new = "new"
    acknowledged = "acknowledged"
    resolved = "resolved"
    noise = "noise"  # a false alarm
    superseded = "superseded"


OPEN_ALERT = (AlertStatus.new, AlertStatus.acknowledged)  # still someone's to act on


class DutyAction(StrEnum):
    """What an operator does to an alert (each recorded with who and when)."""

    acknowledge = "acknowledge"
    assign = "assign"
    note = "note"
    resolve = "resolve"
    noise = "noise"


class DeliveryStatus(StrEnum):
    """A queued chat message: pending → sending → sent | failed | pending again (a retry);
    held (waiting for a digest) → batched (carried by one); cancelled (its alert was noise)."""

    pending = "pending"
    held = "held"
    batched = "batched"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    cancelled = "cancelled"


class DeliveryKind(StrEnum):
    """What a queued message says."""

    fire = "fire"  # an alert's first push
    repeat = "repeat"  # the alert is still unacknowledged
    ack = "ack"  # follow-up: someone acknowledged it
    resolve = "resolve"  # follow-up: it was resolved
    report = "report"  # the weekly report is ready
    handover = "handover"  # a shift's hand-over summary
    digest = "digest"  # held alerts of a batched level, together
    anomaly = "anomaly"  # a keyword group's volume is far above its baseline (趋势监测)


ALERT_PUSH = (DeliveryKind.fire, DeliveryKind.repeat)  # the kinds that call someone to act


class EscalationKind(StrEnum):
    """An entry of the escalation log."""

    escalate = "escalate"
    downgrade = "downgrade"
    close = "close"
    reopen = "reopen"
    merge = "merge"
    split = "split"
    anomaly = "anomaly"  # a volume burst of the event's groups, noted in its history (no level change)
    prehistory = "prehistory"  # its hot story's earlier items attached when it opened (关联此前热点; no level change)


AUTO = "auto"  # the actor of every automatic entry of the escalation log (an operator's name otherwise)


class EventStatus(StrEnum):
    """An event: open while items come → closed after the quiet period (reopened when one comes);
    merged when an operator folds it into another event (merged_into says which)."""

    open = "open"
    closed = "closed"
    merged = "merged"


class ReportStatus(StrEnum):
    """A weekly report: building (under a lease) → ready | failed (rebuilt on request)."""

    building = "building"
    ready = "ready"
    failed = "failed"


class WarningLevel(StrEnum):
    """Warning levels, lowest first: the identifiers everywhere (API, config, messages); their
    display labels (一级蓝色 …) are levels.yaml's (monitor/events/levels.py grades them)."""

    blue = "blue"
    yellow = "yellow"
    orange = "orange"
    red = "red"


LEVELS = tuple(level.value for level in WarningLevel)  # plain strings, lowest first: safe to dump as YAML or JSON


def rank(level: str | None) -> int:
    """A level's place, 1 (blue) … 4 (red); 0 for no level, so any level outranks none."""
    return LEVELS.index(level) + 1 if level else 0


def literal(states: type[StrEnum]):
    """A `Literal` of the members' strings, for an API parameter: FastAPI's validation and the
    OpenAPI schema stay those of a Literal, and the list is this module's."""
    return Literal[tuple(member.value for member in states)]
