"""Signed one-tap acknowledge links for chat messages.

A duty officer on a phone at 3 a.m. has no API token at hand; the message carries a link that can
do exactly one thing — acknowledge that one alert — and expires. It is signed with
FENGHUO_LINK_SECRET (itsdangerous: HMAC, timestamped); the purpose is part of the signature's salt,
so an acknowledge link can never be replayed as anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

PURPOSE = "fenghuo-acknowledge-v1"
MAX_ID = 2**63 - 1  # ids are 64-bit in the database


class LinkError(ValueError):
    """An invalid or expired link; `expired` tells which."""

    def __init__(self, message: str, expired: bool) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True)
class AckLinks:
    secret: str
    valid_for: timedelta = timedelta(hours=24)

    def _serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret, salt=PURPOSE)

    def token(self, alert_id: int, channel: str) -> str:
        return self._serializer().dumps({"alert": alert_id, "channel": channel})

    def read(self, token: str) -> tuple[int, str]:
        try:
            data = self._serializer().loads(token, max_age=int(self.valid_for.total_seconds()))
        except SignatureExpired:
            raise LinkError("this link has expired; acknowledge in the console or with the API", True) from None
        except BadSignature:
            raise LinkError("this link is not valid", False) from None
        # A good signature proves who made the token, not what is in it (an old format, a bug,
        # a leaked secret): only the shape `token()` writes is used.
        alert, channel = (data.get("alert"), data.get("channel")) if isinstance(data, dict) else (None, None)
        if not (type(alert) is int and 1 <= alert <= MAX_ID and _storable(channel)):
            raise LinkError("this link is not valid: it does not name one alert and one channel", False)
        return alert, channel


def _storable(channel) -> bool:
    # The channel becomes part of the actor (100 characters in the database) of the acknowledgement.
    if not isinstance(channel, str) or not 0 < len(channel) <= 90 or "\x00" in channel:
        return False
    try:
        channel.encode("utf-8")  # a lone surrogate cannot be stored or shown
    except UnicodeEncodeError:
        return False
    return True
