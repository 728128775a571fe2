"""Alerting: which chat channels hear of an alert (routing.py, roster.py), what each vendor is sent
(vendors.py, compose.py), the delivery worker that sends what the outbox holds (delivery.py),
digests, the one-click acknowledge link (links.py) and the duty figures (duty.py). The outbox itself
is storage: monitor/db/outbox.py."""
