"""The HTTP API (FastAPI): health and metrics, the alert feed and duty workflow, events, items,
search, trends, reports and the console. Routes call store functions only; a store's domain error
becomes its HTTP status in guard.py."""

from monitor.api.app import Heartbeat, create_app

__all__ = ["Heartbeat", "create_app"]
