"""Prometheus metrics, served at /metrics. Names follow Prometheus conventions (unit suffixes)."""

from prometheus_client import Counter, Gauge, Histogram

FETCHES = Counter(
    "fenghuo_fetches_total", "Outlet fetches by outcome.", ["outcome", "kind"]
)
FETCH_SECONDS = Histogram(
    "fenghuo_fetch_duration_seconds", "Wall time of one outlet fetch, articles included.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
ITEMS_STORED = Counter("fenghuo_items_stored_total", "New items stored.", ["tier"])
ITEMS_DUPLICATE = Counter("fenghuo_items_duplicate_total", "Entries seen again and not stored.")
FETCH_QUEUE_LAG = Gauge(
    "fenghuo_fetch_lag_seconds",
    "How overdue the oldest due outlet was (now - its next_fetch_at) at the last claim.",
)
FETCH_START_LAG = Histogram(
    "fenghuo_fetch_start_lag_seconds", "How late each outlet fetch started after its next_fetch_at.",
    buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 900),
)
OUTLETS_IN_FLIGHT = Gauge("fenghuo_outlets_in_flight", "Outlet fetches running now.")
ALERTS = Counter("fenghuo_alerts_total", "Alerts raised, by level.", ["level"])
ESCALATIONS = Counter("fenghuo_escalations_total", "Escalation-log entries, by kind.", ["kind", "actor"])
DELIVERIES = Counter("fenghuo_deliveries_total", "Chat delivery attempts, by channel and outcome.", ["channel", "outcome"])
