"""The feed answers a page it already made while the alerts have not changed (migration 0022: the
database raises the alerts' version at every committed change; monitor/api/serialised.py:
FeedPages). What must hold: no answer is ever staler than a fresh query, whoever changed the
alerts and however; queries that read beyond the alerts are never answered from memory; and the
read connections, which skip the pre-ping, survive a server that dropped them."""

import pytest
from sqlalchemy import delete, text, update

from monitor.api import alerts as alerts_api
from monitor.api import create_app
from monitor.api.serialised import FeedPages
from monitor.db.models import Alert, AlertFeedVersion, Event
from tests.conftest import api_client
from tests.factories import add_alert


@pytest.fixture
def queried(monkeypatch) -> list[tuple]:
    """The shapes of the feed queries sent to the database, in order."""
    sent = []
    read = alerts_api._FEED_JSON.read

    def counting(connection, dialect, shape, statement, values):
        sent.append(shape)
        return read(connection, dialect, shape, statement, values)

    monkeypatch.setattr(alerts_api._FEED_JSON, "read", counting)
    return sent


@pytest.fixture
def app(db_settings, sessions, clock):
    return create_app(db_settings, sessions, clock=clock)


def ids(answer) -> list[int]:
    return [alert["id"] for alert in answer.json()["alerts"]]


async def test_an_unchanged_page_is_answered_without_a_query_and_any_change_ends_that(app, sessions, clock, queried):
    with sessions.begin() as session:
        first, second = add_alert(session).id, add_alert(session, level="orange").id
    operator = api_client(app, sessions, clock, role="operator")

    answers = [await operator.get("/api/v1/alerts") for _ in range(3)]
    assert [ids(a) for a in answers] == [[second, first]] * 3
    assert answers[0].content == answers[2].content
    assert len(queried) == 1  # the other two were the page made for the first

    # A duty action through the API, ...
    assert (await operator.post(f"/api/v1/alerts/{first}/acknowledge", json={})).status_code == 200
    statuses = {a["id"]: a["status"] for a in (await operator.get("/api/v1/alerts")).json()["alerts"]}
    assert statuses[first] == "acknowledged"
    # ... a worker's write in a session of its own (the push's time stamp), ...
    with sessions.begin() as session:
        session.execute(update(Alert).where(Alert.id == second).values(pushed_at=clock.now()))
    pushed = {a["id"]: a["pushed_at"] for a in (await operator.get("/api/v1/alerts")).json()["alerts"]}
    assert pushed[second] is not None
    # ... a new alert, and one deleted: each seen by the very next request.
    with sessions.begin() as session:
        third = add_alert(session, level="red").id
    assert ids(await operator.get("/api/v1/alerts")) == [third, second, first]
    with sessions.begin() as session:
        session.execute(delete(Alert).where(Alert.id == second))
    assert ids(await operator.get("/api/v1/alerts")) == [third, first]
    assert len(queried) == 5


async def test_a_change_not_yet_committed_is_not_remembered_as_the_new_page(app, sessions, clock, queried):
    """The page read while a change is in flight is kept under the version from before it; the
    commit raises the version, so the next request reads again and sees the change."""
    with sessions.begin() as session:
        alert = add_alert(session).id
    viewer = api_client(app, sessions, clock, role="viewer")
    assert (await viewer.get("/api/v1/alerts")).status_code == 200
    with sessions() as writer:
        writer.execute(update(Alert).where(Alert.id == alert).values(assignee="值班员甲"))
        writer.flush()
        during = (await viewer.get("/api/v1/alerts")).json()["alerts"][0]
        writer.commit()
    after = (await viewer.get("/api/v1/alerts")).json()["alerts"][0]
    assert (during["assignee"], after["assignee"]) == (None, "值班员甲")


async def test_queries_that_read_beyond_the_alerts_are_never_answered_from_memory(app, sessions, clock, queried):
    """Which outlets an event reached and which keyword groups it hit change as items arrive,
    with no alert changing: such pages are read afresh each time."""
    with sessions.begin() as session:
        add_alert(session)
    viewer = api_client(app, sessions, clock, role="viewer")
    for params in ({"tier": "local_media"}, {"outlet": "forum-a"}, {"region": "全国"}, {"group": "complaints"}):
        for _ in range(2):
            assert (await viewer.get("/api/v1/alerts", params=params)).status_code == 200
    assert len(queried) == 8
    for params in ({"min_level": "blue", "status": "new"}, {"q": "停水"}, {"before": 10}, {"since": 0}, {"drills": "only"}):
        for _ in range(2):
            assert (await viewer.get("/api/v1/alerts", params=params)).status_code == 200
    assert len(queried) == 8 + 5  # each of these once


async def test_each_api_process_keeps_its_own_pages_and_sees_the_others_changes(db_settings, sessions, clock, queried):
    """Two apps on one database stand for two `fenghuo api --workers 2` processes: an action
    through one is seen through the other at once."""
    with sessions.begin() as session:
        alert = add_alert(session).id
    one = api_client(create_app(db_settings, sessions, clock=clock), sessions, clock, role="operator")
    other = api_client(create_app(db_settings, sessions, clock=clock), sessions, clock, role="viewer")
    assert (await other.get("/api/v1/alerts")).json()["alerts"][0]["status"] == "new"
    assert (await one.post(f"/api/v1/alerts/{alert}/acknowledge", json={})).status_code == 200
    assert (await other.get("/api/v1/alerts")).json()["alerts"][0]["status"] == "acknowledged"


async def test_a_revoked_token_is_refused_even_for_a_remembered_page(app, sessions, clock):
    from monitor.db.tokens import revoke_token

    with sessions.begin() as session:
        add_alert(session)
    viewer = api_client(app, sessions, clock, role="viewer")
    assert (await viewer.get("/api/v1/alerts")).status_code == 200
    with sessions.begin() as session:  # the client's token is the only viewer's
        for (name,) in session.execute(text("SELECT name FROM api_tokens WHERE role = 'viewer'")).all():
            revoke_token(session, name=name, now=clock.now())
    assert (await viewer.get("/api/v1/alerts")).status_code == 401


@pytest.mark.postgres
async def test_read_connections_the_server_dropped_are_replaced_without_an_error(postgres_url, tmp_path, clock):
    """The read pool has no pre-ping: a connection the server closed (a restart, an
    administrator's pg_terminate_backend) fails on its first statement, and the read runs again
    on a new connection."""
    from monitor.db import make_engine, make_session_factory
    from tests.conftest import make_settings

    sessions = make_session_factory(make_engine(postgres_url))
    app = create_app(make_settings(tmp_path, database_url=postgres_url), sessions, clock=clock)
    viewer = api_client(app, sessions, clock, role="viewer")
    with sessions.begin() as session:
        alert = add_alert(session).id
    assert ids(await viewer.get("/api/v1/alerts")) == [alert]
    # A restart drops every pooled connection, not one: the pool holds several here.
    held = [app.state.read_engine.raw_connection() for _ in range(4)]
    for connection in held:
        connection.close()
    assert app.state.read_engine.pool.checkedin() >= 4
    admin = make_engine(postgres_url)
    with admin.begin() as connection:
        dropped = connection.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
    admin.dispose()
    assert dropped >= 4
    for _ in range(3):
        assert ids(await viewer.get("/api/v1/alerts")) == [alert]
    sessions.kw["bind"].dispose()
    app.state.read_engine.dispose()


async def test_alerts_removed_with_their_event_are_gone_from_the_next_page(app, sessions, clock, queried):
    """A drill's clean-up deletes events, and their alerts go by ON DELETE CASCADE: the
    database's own deletions raise the version too."""
    with sessions.begin() as session:
        kept, removed = add_alert(session).id, add_alert(session, level="red")
        removed_event = removed.event_id
    viewer = api_client(app, sessions, clock, role="viewer")
    assert ids(await viewer.get("/api/v1/alerts")) == [removed.id, kept]
    with sessions.begin() as session:
        session.execute(delete(Event).where(Event.id == removed_event))
    assert ids(await viewer.get("/api/v1/alerts")) == [kept]


def _version(sessions) -> int | None:
    with sessions() as session:
        return session.get(AlertFeedVersion, 1) and session.get(AlertFeedVersion, 1).version


async def test_without_its_version_row_no_page_is_remembered_and_the_next_change_makes_it(app, sessions, clock, queried):
    with sessions.begin() as session:
        alert = add_alert(session).id
    with sessions.begin() as session:  # on its own: on PostgreSQL the alert's commit makes the row
        session.execute(delete(AlertFeedVersion))
    assert _version(sessions) is None
    viewer = api_client(app, sessions, clock, role="viewer")
    for _ in range(2):
        assert ids(await viewer.get("/api/v1/alerts")) == [alert]
    assert len(queried) == 2  # no version to answer from memory under
    with sessions.begin() as session:
        session.execute(update(Alert).values(assignee="值班员乙"))
    assert _version(sessions) is not None
    for _ in range(2):
        assert (await viewer.get("/api/v1/alerts")).json()["alerts"][0]["assignee"] == "值班员乙"
    assert len(queried) == 3


@pytest.mark.postgres
def test_a_transaction_raises_the_version_once_however_many_alerts_it_changes(postgres_url):
    """On PostgreSQL the version is raised when the change commits (a deferred trigger, so the
    version's row is the last lock a writer of alerts takes), once per transaction however many
    rows it changed, and by TRUNCATE as well."""
    from monitor.db import make_engine, make_session_factory

    engine = make_engine(postgres_url)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        for _ in range(3):
            add_alert(session)
    before = _version(sessions)
    with sessions.begin() as session:
        session.execute(update(Alert).values(status="acknowledged"))
        assert session.get(AlertFeedVersion, 1).version == before  # not until the commit
    assert _version(sessions) == before + 1
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE alerts CASCADE"))
    assert _version(sessions) == before + 2
    engine.dispose()


def test_remembered_pages_are_bounded_by_their_size_too():
    pages = FeedPages(size=100, max_bytes=10)
    pages.keep(("a",), 1, b"123456")
    pages.keep(("a",), 2, b"1234567")  # replacing a page counts its new size only
    assert pages.get(("a",), 2) == b"1234567"
    pages.keep(("b",), 2, b"1234")  # 7 + 4 > 10: start again
    assert (pages.get(("a",), 2), pages.get(("b",), 2)) == (None, b"1234")


def test_remembered_pages_are_bounded_and_only_answered_under_their_version():
    pages = FeedPages(size=2)
    pages.keep(("a",), 7, b"A")
    assert (pages.get(("a",), 7), pages.get(("a",), 8), pages.get(("b",), 7)) == (b"A", None, None)
    pages.keep(("b",), 7, b"B")
    pages.keep(("a",), 8, b"A2")  # a known key is replaced, not counted twice
    assert (pages.get(("a",), 8), pages.get(("b",), 7)) == (b"A2", b"B")
    pages.keep(("c",), 8, b"C")  # full: starts again
    assert (pages.get(("a",), 8), pages.get(("c",), 8)) == (None, b"C")
