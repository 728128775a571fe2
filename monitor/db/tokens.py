"""API tokens: created with a role, stored as a hash, revoked by name. The caller commits."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor.db.models import ApiToken, ApiTokenVersion

ROLES = ("viewer", "operator", "admin")
PREFIX = "fh_"


class TokenError(ValueError):
    pass


def hash_token(token: str) -> str:
    # Tokens are 256 random bits: a plain SHA-256 is enough (no dictionary to attack).
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, *, name: str, role: str, now: datetime) -> str:
    """Returns the secret token; it is not stored and cannot be shown again."""
    if role not in ROLES:
        raise TokenError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if not name.strip():
        raise TokenError("a token needs a name (who or what uses it)")
    if session.scalar(select(ApiToken).where(ApiToken.name == name)) is not None:
        raise TokenError(f"a token named {name!r} exists already (revoke it first)")
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, role=role, token_hash=hash_token(token), created_at=now))
    return token


def revoke_token(session: Session, *, name: str, now: datetime) -> None:
    found = session.scalar(select(ApiToken).where(ApiToken.name == name))
    if found is None:
        raise TokenError(f"no token named {name!r}")
    if found.revoked_at is None:
        found.revoked_at = now
    # A revoked name is freed for a new token: rename the old row, keep it for the record.
    found.name = f"{name}#revoked-{found.id}"
    _bump_version(session)


def token_version(session: Session) -> int:
    """The tokens' version: it goes up with every revocation. A lookup remembered under an older
    version may name a token revoked since."""
    # Plain SQL: read on every API request, and a statement without parameters needs none of the
    # ORM's statement caching (a third of the cost of a cached select, measured: bench/feed.py).
    return session.connection().exec_driver_sql(VERSION_SQL).scalar() or 0


VERSION_SQL = f"SELECT version FROM {ApiTokenVersion.__tablename__} WHERE id = 1"


def _bump_version(session: Session) -> None:
    bumped = session.execute(
        update(ApiTokenVersion).where(ApiTokenVersion.id == 1).values(version=ApiTokenVersion.version + 1)
    ).rowcount
    if not bumped:  # the migration adds the row; a database built otherwise starts it here
        session.add(ApiTokenVersion(id=1, version=1))


def find_token(session: Session, *, token: str) -> ApiToken | None:
    """The live token with this secret, or None."""
    found = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if found is None or found.revoked_at is not None:
        return None
    return found


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))
