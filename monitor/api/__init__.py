"""The HTTP API (FastAPI): health and metrics, outlets, items. Routes call store functions only."""

from monitor.api.app import Heartbeat, create_app

__all__ = ["Heartbeat", "create_app"]
