"""Schemathesis generates requests from our OpenAPI schema: no 500, no undocumented status, no
response that breaks the schema, for every operation (the live stream excepted: it never ends by
design). The two request-strictness checks are left out on purpose: FastAPI ignores unknown query
parameters and reads a number as a Unix time for a date-time, and we keep that leniency.

Plain Schemathesis would miss what once broke the API, so two kinds of value are added:
- half the queries with a date-time parameter get one at an edge: 0001-01-01 or 9999-12-31 at
  Z, ±14:00 or without an offset;
- one request body in four gets half a UTF-16 surrogate pair or a NUL in one string: Hypothesis
  never writes a lone surrogate, and SQLite stores a NUL that PostgreSQL refuses.
On top of its boundary values (the coverage phase), SCHEMA_EXAMPLES random requests per
operation: 60 by default (about 35 s of CPU on SQLite or PostgreSQL), more with
FENGHUO_SCHEMA_EXAMPLES for a long hunt. It runs on PostgreSQL when the suite has one (CI does).
"""

import atexit
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance
from sqlalchemy import text

from monitor.analyze.holder import LibraryHolder
from monitor.api import create_app
from monitor.clock import FrozenClock
from monitor.db import make_engine, make_session_factory, upgrade_database
from monitor.db.tokens import create_token
from tests.conftest import POSTGRES_URL, make_settings
from tests.events.test_scenarios import COMPLAINT, Timeline, reprint

SCHEMA_EXAMPLES = int(os.environ.get("FENGHUO_SCHEMA_EXAMPLES", "60"))

_folder = Path(tempfile.mkdtemp(prefix="fenghuo-schema-"))
shutil.copytree(Path(__file__).parents[2] / "keywords", _folder / "keywords")


def _database() -> str:
    """PostgreSQL when the suite has one (production's database: it refuses what SQLite stores,
    such as NUL in text), else a SQLite file."""
    if not POSTGRES_URL:
        return f"sqlite:///{_folder / 'fenghuo.db'}"
    name = f"fenghuo_schema_{uuid.uuid4().hex[:8]}"
    admin = make_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    @atexit.register
    def _drop() -> None:
        _sessions.kw["bind"].dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + name


_settings = make_settings(_folder, database_url=_database())
upgrade_database(_settings.database_url)
_sessions = make_session_factory(make_engine(_settings.database_url))
_clock = FrozenClock()
with _sessions.begin() as _session:
    TOKEN = create_token(_session, name="schemathesis", role="admin", now=_clock.now())
# A story spread to three outlets: outlets, items, an event and alerts 1-3 for the generated ids
# to find, so responses with data are checked too and actions reach the database.
_story = Timeline(_sessions, _clock, _folder / "story")
for _n, _outlet in enumerate(["forum-a", "forum-b", "local-daily"]):
    _story.publish(_outlet, COMPLAINT[0], reprint(COMPLAINT[1], _n))
app = create_app(_settings, _sessions, clock=_clock, library=LibraryHolder(_folder / "keywords"))

# -- schema -----------------------------------------------------------------------------------------

# Left out: the live stream never ends by design; making a report takes seconds of PDF rendering
# per generated week (tests/api/test_reports.py covers it).
schema = (
    schemathesis.openapi.from_asgi("/openapi.json", app)
    .exclude(path="/api/v1/alerts/stream")
    .exclude(method="POST", path="/api/v1/reports/{week}/make")
)

# -- date-times at the edges ----------------------------------------------------------------------

# The first and last days Python's datetime has, at the widest offsets and with none (valid ISO 8601,
# not RFC 3339): a week before 0001-01-01 overflowed, 9999-12-31 at -14:00 has no UTC form, and a
# naive time met an aware one in a comparison.
_EDGE_TIMES = [f"{day}T00:00:00{offset}" for day in ("0001-01-01", "9999-12-31") for offset in ("Z", "+14:00", "-14:00", "")]


def _time_parameters(operation) -> list[str]:
    names = []
    for parameter in operation.query:
        schema = parameter.definition.get("schema", {})
        if "date-time" in [schema.get("format")] + [branch.get("format") for branch in schema.get("anyOf", [])]:
            names.append(parameter.name)
    return names


@schema.hook
def flatmap_query(context, query):
    names = _time_parameters(context.operation)
    if not names:
        return st.just(query)
    # Half the queries get one edge time, alone (so no other time masks it: stats only computes a
    # default `from` when none is given).
    rest = {key: value for key, value in (query or {}).items() if key not in names}
    edge = st.builds(lambda name, value: {**rest, name: value}, st.sampled_from(names), st.sampled_from(_EDGE_TIMES))
    return st.one_of(st.just(query), edge)


# -- bodies with text no database should get ------------------------------------------------------

_UNSTORABLE = ["\ud800", "\udfff", "\x00"]


def _with_unstorable(body, text: str) -> list:
    """Each variant of `body` with `text` added to one of its strings."""
    if isinstance(body, str):
        return [body + text, text]
    if isinstance(body, dict):
        return [{**body, key: variant} for key, value in body.items() for variant in _with_unstorable(value, text)]
    if isinstance(body, list):
        return [body[:i] + [variant] + body[i + 1:] for i, value in enumerate(body) for variant in _with_unstorable(value, text)]
    return []


@schema.hook
def flatmap_body(context, body):
    variants = [variant for text in _UNSTORABLE for variant in _with_unstorable(body, text)]
    if not variants:
        return st.just(body)
    # One body in four carries such a string; the rest stay as Schemathesis made them.
    return st.integers(0, 3).flatmap(lambda n: st.just(body) if n else st.sampled_from(variants))


@schemathesis.serializer("application/json")
def _json(context, value) -> bytes:
    # As escapes (\ud800): that is how a client sends half a pair, for UTF-8 has no bytes for it.
    return value if isinstance(value, bytes) else json.dumps(value, ensure_ascii=True).encode()


@schema.parametrize()
@settings(max_examples=SCHEMA_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_responses_match_the_schema(case):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {TOKEN}"},
        excluded_checks=[negative_data_rejection, positive_data_acceptance],
    )
