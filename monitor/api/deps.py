"""Dependencies shared by the routers: a database session per request, the clock, settings."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from monitor.clock import Clock
from monitor.config import Settings
from monitor.db.tokens import ROLES, find_token


def _session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


# Pure lookups are async so FastAPI calls them in the event loop: a sync dependency costs a
# thread-pool round trip on every request (measured: bench/feed.py).
async def _clock(request: Request) -> Clock:
    return request.app.state.clock


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


SessionDep = Annotated[Session, Depends(_session)]
ClockDep = Annotated[Clock, Depends(_clock)]
SettingsDep = Annotated[Settings, Depends(_settings)]


# -- authentication -------------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="An API token from `fenghuo token create`")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's name (recorded on every duty action) and its role."""

    name: str
    role: str


@functools.cache  # one dependency per role, so a route may name Viewer under require("viewer"): checked once
def require(role: str):
    """A dependency admitting tokens of `role` or a stronger one (viewer < operator < admin)."""
    needed = ROLES.index(role)

    def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        if credentials is None:
            raise HTTPException(
                401, "missing API token: send 'Authorization: Bearer <token>' "
                "(create one with `fenghuo token create NAME --role viewer`)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        # A session of its own, closed before the route runs, not the request's SessionDep: that
        # one is released only once the response is sent, and the live feed's response lasts
        # hours, so 60 open streams held 60 connections and ran the pool dry (issue 18).
        with request.app.state.sessions() as session:
            token = find_token(session, token=credentials.credentials)
            principal = Principal(token.name, token.role) if token is not None else None
        if principal is None:
            raise HTTPException(
                401, "unknown or revoked API token", headers={"WWW-Authenticate": "Bearer"}
            )
        if ROLES.index(principal.role) < needed:
            raise HTTPException(
                403, f"this token's role is {principal.role}; {request.method} {request.url.path} "
                f"needs {role} or above",
            )
        return principal

    return Depends(check)


Viewer = Annotated[Principal, require("viewer")]
Operator = Annotated[Principal, require("operator")]
Admin = Annotated[Principal, require("admin")]


def bad_parameter(location: tuple[str, ...], message: str, value=None) -> RequestValidationError:
    """A 422 in the same shape as FastAPI's own: where (loc) and what is wrong (msg)."""
    return RequestValidationError([{"type": "value_error", "loc": location, "msg": message, "input": value}])


IdPath = Annotated[int, Path(ge=1, le=2**63 - 1, description="A positive 64-bit id")]
