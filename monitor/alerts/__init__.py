"""Alerts: duty figures now; routing, the outbox and chat vendors as they are built."""
