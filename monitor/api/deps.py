"""Dependencies shared by the routers: a database session per request, the clock, settings,
and who is calling.

Every thread-pool round trip costs a request about as much as its database work (bench/feed.py),
so the token check runs in the event loop when it can: a token's lookup is remembered for a few
seconds (:class:`TokenCache`), and the remembered answer is confirmed on the database connection
the request takes anyway — a sync route's `SessionDep`, or the one thread hop of a read route
(`Reader`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from monitor.clock import Clock
from monitor.config import Settings
from monitor.db.alerts import FEED_VERSION_SQL as ALERTS_VERSION_SQL
from monitor.db.tokens import VERSION_SQL as TOKEN_VERSION_SQL  # the same read as token_version, on a DBAPI cursor
from monitor.db.tokens import ROLES, find_token, hash_token, token_version

T = TypeVar("T")


def _session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        request.state.session_opened = True  # a token check after this one confirms by itself
        confirm_token(request, session)
        yield session


# Pure lookups are async so FastAPI calls them in the event loop: a sync dependency costs a
# thread-pool round trip on every request (measured: bench/feed.py).
async def _clock(request: Request) -> Clock:
    return request.app.state.clock


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


class Reader:
    """A read route's database work in one thread hop: `await Reader(request)(work)` takes a
    pooled DBAPI connection of the read engine (monitor/db/engine.py: make_read_engine), reads on
    it, in one statement, the tokens' version (to confirm the caller's token: the route called
    `authenticate` first) and the alerts' version, and runs `work(connection, dialect,
    alerts_version)`, serialisation included, then gives the connection back. No Session: opening
    and closing one cost a feed request about as much as its query (bench/feed.py --count-calls)."""

    def __init__(self, request: Request) -> None:
        self.request = request

    async def __call__(self, work: Callable[[Any, Dialect, int | None], T]) -> T:
        return await run_in_threadpool(self._run, work)

    def _run(self, work: Callable[[Any, Dialect, int | None], T]) -> T:
        sessions = self.request.app.state.sessions
        engine = self.request.app.state.read_engine
        for attempt in (1, 2):
            connection = engine.raw_connection()
            try:
                tokens_version, alerts_version = _read_versions(connection)
                _confirm(self.request, lambda: tokens_version, sessions)
                return work(connection, engine.dialect, alerts_version)
            except engine.dialect.loaded_dbapi.Error as failed:
                # No pre-ping on the read pool (engine.make_read_engine): a connection the server
                # dropped fails here instead. A restart drops every pooled connection at once, so
                # the pool is started afresh (connections out in other requests are closed when
                # they come back) and the read runs once more, on a new connection.
                if attempt == 2 or not engine.dialect.is_disconnect(failed, connection.dbapi_connection, None):
                    raise
                connection.invalidate(failed)
                engine.dispose()
            finally:
                connection.close()
        raise AssertionError("unreachable")


_VERSIONS_SQL = f"SELECT ({TOKEN_VERSION_SQL}), ({ALERTS_VERSION_SQL})"


def _read_versions(connection) -> tuple[int, int | None]:
    """The tokens' version, and the alerts' (None while its row is missing: nothing may then be
    answered from memory, since the row comes back from a fresh start)."""
    cursor = connection.cursor()
    try:
        cursor.execute(_VERSIONS_SQL)
        tokens, alerts = cursor.fetchone()
    finally:
        cursor.close()
    return tokens or 0, alerts


SessionDep = Annotated[Session, Depends(_session)]
ClockDep = Annotated[Clock, Depends(_clock)]
SettingsDep = Annotated[Settings, Depends(_settings)]


# -- authentication -------------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="An API token from `fenghuo token create`")


async def bearer(request: Request) -> HTTPAuthorizationCredentials | None:
    """The request's bearer credentials, as the token check read them."""
    return await _bearer(request)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's name (recorded on every duty action) and its role."""

    name: str
    role: str


TOKEN_CACHE_SECONDS = 5.0


class TokenCache:
    """Live tokens looked up in the last few seconds, each with the tokens' version it was read
    under (monitor/db/tokens.py: every revocation raises it). A remembered lookup spares the
    request a database round trip and a thread hop; it still counts only once the request has
    seen, in its own session, that the version has not moved, so a revocation holds at once, in
    every API process. Unknown tokens are not remembered: each costs a lookup, as before."""

    def __init__(self, seconds: float = TOKEN_CACHE_SECONDS, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self.monotonic = seconds, monotonic
        self._entries: dict[str, tuple[Principal, int, float]] = {}

    def remembered(self, secret: str) -> tuple[Principal, int] | None:
        entry = self._entries.get(hash_token(secret))
        if entry is None or entry[2] <= self.monotonic():
            return None
        return entry[0], entry[1]

    def look_up(self, session: Session, secret: str) -> Principal | None:
        version = token_version(session)
        token = find_token(session, token=secret)
        key = hash_token(secret)
        if token is None:
            self._entries.pop(key, None)
            return None
        principal = Principal(token.name, token.role)
        now = self.monotonic()
        if len(self._entries) > 1000:  # only live tokens get in: a purge of the expired ones suffices
            self._entries = {k: e for k, e in self._entries.items() if e[2] > now}
        self._entries[key] = (principal, version, now + self.seconds)
        return principal


def _token_cache(request: Request) -> TokenCache:
    state = request.app.state
    if getattr(state, "token_cache", None) is None:
        state.token_cache = TokenCache()
    return state.token_cache


def _revoked() -> HTTPException:
    return HTTPException(401, "unknown or revoked API token", headers={"WWW-Authenticate": "Bearer"})


def confirm_token(request: Request, session: Session) -> None:
    """If the caller's token came from the cache, check in `session` that no token was revoked
    since; if one was, look the token up again (401 if it is the one). Nothing to do otherwise."""
    _confirm(request, lambda: token_version(session), session)


def _confirm(request: Request, version: Callable[[], int], lookups: Session | sessionmaker) -> None:
    """confirm_token with the version read by `version()`; a lookup again, if needed, in `lookups`
    (the request's session, or a session of its own made by this factory)."""
    pending = getattr(request.state, "token_unconfirmed", None)
    if pending is None:
        return
    secret, remembered_version = pending
    if version() != remembered_version:
        if isinstance(lookups, Session):
            principal = _token_cache(request).look_up(lookups, secret)
        else:
            with lookups() as session:
                principal = _token_cache(request).look_up(session, secret)
        if principal is None:
            raise _revoked()
    # Only once confirmed: a read that failed on a dropped connection confirms on its next try.
    request.state.token_unconfirmed = None


def _confirms_in_its_session(route) -> bool:
    """Does this route open a session through SessionDep (which confirms the token)?
    Worked out once per route and kept on it."""
    found = getattr(route, "fenghuo_confirms_token", None)
    if found is None:
        calls, stack = set(), [route.dependant]
        while stack:
            dependant = stack.pop()
            calls.add(dependant.call)
            stack.extend(dependant.dependencies)
        found = route.fenghuo_confirms_token = _session in calls
    return found


@functools.cache  # one dependency per role, so a route may name Viewer under require("viewer"): checked once
def require(role: str):
    """A dependency admitting tokens of `role` or a stronger one (viewer < operator < admin)."""

    async def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        route = request.scope.get("route")
        confirms = route is not None and _confirms_in_its_session(route)
        return await authorise(request, credentials, role, confirms_in_its_session=confirms)

    return Depends(check)


async def authenticate(request: Request, role: str) -> Principal:
    """`require(role)` called by a route itself, for a route that takes no dependencies (the
    feed: FastAPI's dependency handling costs more than the check) and confirms the token in
    its own session (`Reader`)."""
    return await authorise(request, await _bearer(request), role, confirms_in_its_session=True)


async def authorise(
    request: Request, credentials: HTTPAuthorizationCredentials | None, role: str, *, confirms_in_its_session: bool,
) -> Principal:
    """The caller's principal if its token is live and its role `role` or stronger; else 401/403.
    A remembered lookup is used when the route will confirm it in its session (`confirm_token`)."""
    if credentials is None:
        raise HTTPException(
            401, "missing API token: send 'Authorization: Bearer <token>' "
            "(create one with `fenghuo token create NAME --role viewer`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    cache, secret = _token_cache(request), credentials.credentials
    remembered = cache.remembered(secret)
    if remembered is not None and confirms_in_its_session and not getattr(request.state, "session_opened", False):
        principal, version = remembered
        request.state.token_unconfirmed = (secret, version)
    else:
        # A session of its own, closed before the route runs, not the request's SessionDep:
        # that one is released only once the response is sent, and the live feed's response
        # lasts hours, so 60 open streams held 60 connections and ran the pool dry.
        principal = await run_in_threadpool(_look_up, request, cache, secret)
    if principal is None:
        raise _revoked()
    if ROLES.index(principal.role) < ROLES.index(role):
        raise HTTPException(
            403, f"this token's role is {principal.role}; {request.method} {request.url.path} "
            f"needs {role} or above",
        )
    return principal


def _look_up(request: Request, cache: TokenCache, secret: str) -> Principal | None:
    with request.app.state.sessions() as session:
        return cache.look_up(session, secret)


Viewer = Annotated[Principal, require("viewer")]
Operator = Annotated[Principal, require("operator")]
Admin = Annotated[Principal, require("admin")]


def bad_parameter(location: tuple[str, ...], message: str, value=None) -> RequestValidationError:
    """A 422 in the same shape as FastAPI's own: where (loc) and what is wrong (msg)."""
    return RequestValidationError([{"type": "value_error", "loc": location, "msg": message, "input": value}])


IdPath = Annotated[int, Path(ge=1, le=2**63 - 1, description="A positive 64-bit id")]
