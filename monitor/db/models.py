"""All tables, in one module. Alembic migrations (alembic/versions) are the authority on the schema;
this module must describe the same thing, which tests/db/test_migrations.py checks.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    LargeBinary,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator):
    """Stores UTC, returns aware UTC datetimes on every engine.

    SQLite has no time-zone type and hands back naive values; normalising here means no code
    above the store ever compares a naive time with an aware one.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Constraint names fixed by convention so migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Outlet(Base):
    """A configured source (mirrored from outlets.yaml) and its fetch state."""

    __tablename__ = "outlets"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(Text)
    tier: Mapped[str] = mapped_column(String(32))
    region: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # The validated config entry as JSON: the fetcher reads selectors, encoding and bounds here.
    config: Mapped[dict] = mapped_column(JSON)

    interval_seconds: Mapped[int] = mapped_column(Integer)
    next_fetch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_fetch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[str | None] = mapped_column(String(32))
    last_http_status: Mapped[int | None] = mapped_column(Integer)
    last_encoding: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error_count: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index(None, "enabled", "next_fetch_at"),)


class Item(Base):
    """One published piece (article, post, feed entry) as we fetched it."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    outlet_id: Mapped[str] = mapped_column(ForeignKey("outlets.id"))
    url: Mapped[str] = mapped_column(Text)
    canonical_url: Mapped[str] = mapped_column(Text)
    # sha256 of canonical_url: unique where the URL itself may be too long for a btree index.
    url_hash: Mapped[str] = mapped_column(String(64))
    guid: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(200))
    # The outlet the page credits (来源：新华社 / 转载自): where a reprint chain starts.
    source: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(16))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When retention emptied `text` (FENGHUO_BODY_RETENTION): title, link, hashes, scores and the
    # item's place in its event stay; a back-fill does not re-score what it can no longer read.
    pruned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Played by a drill (应急演练, monitor/drill): kept out of figures, search and trends.
    drill_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        UniqueConstraint("url_hash"),
        # The same outlet republishing one text under two URLs is one item; another outlet
        # carrying the same text is a reprint (转载) and counts towards the spread.
        UniqueConstraint("outlet_id", "content_hash"),
        Index(None, "first_seen_at"),
        Index(None, "outlet_id", "first_seen_at"),
    )


class ItemAnalysis(Base):
    """The analysis stage's verdict on an item: keyword hits, tone, risk and why.

    One row per item, replaced when the item is re-scored; library_version and model say which
    library and sentiment model produced it, so a back-fill knows what is stale.
    """

    __tablename__ = "item_analyses"

    item_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("items.id", ondelete="CASCADE"),
        primary_key=True,
    )
    library_version: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(64))
    negative_prob: Mapped[float] = mapped_column(Float)
    item_negative_prob: Mapped[float] = mapped_column(Float)
    keyword_strength: Mapped[float] = mapped_column(Float)
    risk: Mapped[int] = mapped_column(Integer)
    hits: Mapped[list] = mapped_column(JSON)
    reasons: Mapped[list] = mapped_column(JSON)
    analysed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index(None, "risk"), Index(None, "analysed_at"), Index(None, "library_version"))


class Event(Base):
    """One story: the items that tell it, how far it spread, and its warning level."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    level: Mapped[str | None] = mapped_column(String(8))  # blue | yellow | orange | red, or none yet
    # The automatic grade an operator overruled by downgrading: automatic grading escalates
    # again only past it, so a considered downgrade is not undone by the next reprint.
    overruled_level: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(8))  # open | closed | merged
    first_item_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    first_outlet_id: Mapped[str] = mapped_column(String(64))
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)  # first publication (信息溯源)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_item_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    item_count: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Merged by hand into another event (status "merged"): its items moved there, and so does
    # anything that would still join it.
    merged_into: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    # Opened by a drill's items (drill items group only with each other): hidden from the
    # feed's default view, the KPIs and the weekly figures.
    drill_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index(None, "status", "last_item_at"), Index(None, "level"), Index(None, "drill_id"))


class EventItem(Base):
    """An item's membership of an event; an item belongs to at most one."""

    __tablename__ = "event_items"

    item_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("items.id", ondelete="CASCADE"),
        primary_key=True,
    )
    event_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("events.id", ondelete="CASCADE")
    )
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    similarity: Mapped[float] = mapped_column(Float)  # to the most similar member; 1 for the first
    # How it joined (reprint | story | both; none for the first) and, for a reprint, the member it
    # near-duplicates: the spread path's "reprint of".
    link: Mapped[str | None] = mapped_column(String(8))
    reprint_of: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))

    __table_args__ = (Index(None, "event_id"),)


class Escalation(Base):
    """The escalation log: every change of an event's level or status. Append-only: rows are
    inserted in the same transaction as the change they record, and never updated."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("events.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(16))  # escalate | downgrade | close | reopen | merge | split
    from_level: Mapped[str | None] = mapped_column(String(8))
    to_level: Mapped[str | None] = mapped_column(String(8))
    actor: Mapped[str] = mapped_column(String(100))  # "auto", or the operator
    reason: Mapped[str] = mapped_column(Text)
    reasons: Mapped[list] = mapped_column(JSON)  # thresholds that tripped, with values
    metrics: Mapped[dict] = mapped_column(JSON)  # snapshot at the time

    __table_args__ = (Index(None, "event_id", "at"), Index(None, "at"))


class ApiToken(Base):
    """An API token: a name, a role, and the SHA-256 of the secret (the secret itself is shown
    once, when it is created, and never stored)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # viewer | operator | admin
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiTokenVersion(Base):
    """One row whose version goes up whenever a token is revoked: an API process remembers token
    lookups for a few seconds, and counts a remembered one only while this version is unchanged,
    so a revocation holds at once in every process (monitor/api/deps.py)."""

    __tablename__ = "api_token_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


class AlertFeedVersion(Base):
    """One row whose version the database raises with every committed change to the alerts
    (triggers, migration 0022): an API process answers a feed page it made before while this
    version has not moved (monitor/api/alerts.py)."""

    __tablename__ = "alert_feed_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class Alert(Base):
    """An event reaching a level: what the duty team sees, acts on, and what gets pushed.

    One alert per escalation; when a story escalates again, its earlier open alerts are marked
    superseded, so the feed shows one thing to act on per story. The latency stamps make the duty
    figures honest: published → fetched → analysed → alerted → pushed → acknowledged → resolved.
    """

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("events.id", ondelete="CASCADE")
    )
    escalation_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("escalations.id", ondelete="CASCADE")
    )
    level: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # new | acknowledged | resolved | noise | superseded
    assignee: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the story's first publication
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when we first saw the story
    analysed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    alerted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index(None, "status", "level"), Index(None, "event_id"), Index(None, "alerted_at"))


class AlertAction(Base):
    """A duty action on an alert: who did what, when, and what they wrote."""

    __tablename__ = "alert_actions"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    alert_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("alerts.id", ondelete="CASCADE")
    )
    action: Mapped[str] = mapped_column(String(16))  # acknowledge | assign | note | resolve | noise
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON)

    __table_args__ = (Index(None, "alert_id", "at"),)


class EventGroup(Base):
    """Keyword groups an event's items hit: lets the alert feed filter by group (e.g. incidents)."""

    __tablename__ = "event_groups"

    event_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("events.id", ondelete="CASCADE"),
        primary_key=True,
    )
    group_id: Mapped[str] = mapped_column(String(64), primary_key=True)

    __table_args__ = (Index(None, "group_id"),)


class Delivery(Base):
    """The outbox: one message to one chat channel, written in the transaction that raised its
    alert (or stored its report), sent (at least once) by the delivery worker, never dropped."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # The alert the message is about; none for a notice (a weekly report's announcement), whose
    # text is in payload.
    alert_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("alerts.id", ondelete="CASCADE")
    )
    payload: Mapped[dict | None] = mapped_column(JSON)
    channel: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # fire | repeat | ack | resolve | report | handover | digest
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    # pending | sending | sent | failed | cancelled; held (waiting for a digest) | batched (in one)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index(None, "status", "next_attempt_at"), Index(None, "alert_id"))


class DeliveryAttempt(Base):
    """Every attempt to send a delivery: when, the HTTP status, the vendor's code, the error."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("deliveries.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    http_status: Mapped[int | None] = mapped_column(Integer)
    vendor_code: Mapped[str | None] = mapped_column(String(32))
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
    # HTTP requests the attempt made (WeCom: markdown, then a text message for mobile mentions);
    # vendors' rate limits count requests, so the worker sums this, not attempts.
    requests: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __table_args__ = (Index(None, "delivery_id"),)


class Report(Base):
    """A weekly report: made once per week cluster-wide (the unique week is the claim), stored
    with its figures and files so that any API process can serve it."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    week: Mapped[str] = mapped_column(String(10), unique=True)  # ISO week, 2026-W47
    status: Mapped[str] = mapped_column(String(16))  # building | ready | failed
    requested_by: Mapped[str] = mapped_column(String(100))  # "schedule", or who asked
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A worker building it holds this lease; one that died is replaced after it runs out.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    figures: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)


class ReportFile(Base):
    """One format of a report (html, pdf, xlsx, csv, items.csv, json) as the bytes served."""

    __tablename__ = "report_files"

    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    format: Mapped[str] = mapped_column(String(16), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class EventReview(Base):
    """The team's post-incident review (复盘) of an event: its lessons, in the team's words. The
    rest of the review (timeline, times against the playbook, whether the level was right) is
    computed from the event, its alerts and duty actions whenever the review is read."""

    __tablename__ = "event_reviews"

    event_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("events.id", ondelete="CASCADE"),
        primary_key=True,
    )
    lessons: Mapped[str] = mapped_column(Text)
    written_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HotlistSnapshot(Base):
    """One fetch of a hot-list outlet: the list as it stood at `taken_at`."""

    __tablename__ = "hotlist_snapshots"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    outlet_id: Mapped[str] = mapped_column(ForeignKey("outlets.id", ondelete="CASCADE"))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    entry_count: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index(None, "outlet_id", "taken_at"),)


class HotlistEntry(Base):
    """A story on one hot list (keyed by its link): when it entered, its first, best and latest
    rank, and how long it has been on the list. Updated by each snapshot; its rank history is in
    hotlist_ranks."""

    __tablename__ = "hotlist_entries"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    outlet_id: Mapped[str] = mapped_column(ForeignKey("outlets.id", ondelete="CASCADE"))
    url_hash: Mapped[str] = mapped_column(String(64))  # as items.url_hash: the same story's item
    url: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_rank: Mapped[int] = mapped_column(Integer)
    best_rank: Mapped[int] = mapped_column(Integer)
    best_rank_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_rank: Mapped[int] = mapped_column(Integer)
    peak_heat: Mapped[float | None] = mapped_column(Float)
    last_heat: Mapped[float | None] = mapped_column(Float)
    seconds_on_list: Mapped[int] = mapped_column(Integer)
    snapshots: Mapped[int] = mapped_column(Integer)  # how many snapshots it was in
    on_list: Mapped[bool] = mapped_column(Boolean)  # in the outlet's latest snapshot

    __table_args__ = (
        UniqueConstraint("outlet_id", "url_hash"),
        Index(None, "url_hash"),
        Index(None, "outlet_id", "on_list"),
    )


class HotlistRank(Base):
    """An entry's rank and heat in one snapshot: the rank history, one small row per line."""

    __tablename__ = "hotlist_ranks"

    snapshot_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("hotlist_snapshots.id", ondelete="CASCADE"),
        primary_key=True,
    )
    entry_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("hotlist_entries.id", ondelete="CASCADE"),
        primary_key=True,
    )
    rank: Mapped[int] = mapped_column(Integer)
    heat: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (Index(None, "entry_id"),)


class VolumeAnomaly(Base):
    """A burst of one volume series (a keyword group) above its baseline band (趋势监测): one row,
    and one alert, per burst, however many hours and checks it lasts. Its first anomalous hour is
    its key; later anomalous hours within a quiet hour of the last one extend it."""

    __tablename__ = "volume_anomalies"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    series_by: Mapped[str] = mapped_column(String(8))  # group | tier
    series_key: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the first anomalous hour's start
    last_hour: Mapped[datetime] = mapped_column(UTCDateTime)  # the latest anomalous hour's start
    peak_count: Mapped[int] = mapped_column(Integer)  # items in the loudest hour
    expected: Mapped[float] = mapped_column(Float)  # that hour's baseline
    upper: Mapped[float] = mapped_column(Float)  # and its band's top
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    events: Mapped[list] = mapped_column(JSON)  # events whose grading log was told of it

    __table_args__ = (
        UniqueConstraint("series_by", "series_key", "started_at"),
        Index(None, "series_by", "series_key", "last_hour"),
        Index(None, "raised_at"),
    )


class TrendingSnapshot(Base):
    """The hot stories (热点) over the whole intake as last ranked by the leader: the API of every
    worker reads the latest row, so the ranking is made once, not per request or per process."""

    __tablename__ = "trending_snapshots"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    made_at: Mapped[datetime] = mapped_column(UTCDateTime)
    items_indexed: Mapped[int] = mapped_column(Integer)  # how many items the grouping holds
    stories: Mapped[list] = mapped_column(JSON)

    __table_args__ = (Index(None, "made_at"),)

class Drill(Base):
    """A drill (应急演练): a marked synthetic story played through the real pipeline. Its items
    and events carry its id; how each step went is read from them when the drill is reported."""

    __tablename__ = "drills"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    level: Mapped[str] = mapped_column(String(8))  # orange | red: the level the drill must reach
    story: Mapped[str] = mapped_column(String(200))  # the built-in story's name, or the file's
    started_by: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    items: Mapped[int] = mapped_column(Integer)  # how many story items were played
