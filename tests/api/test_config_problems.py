"""A configuration change the service rejects is never silent: the last good keyword library stays
in service and scoring goes on, while /readyz, /api/v1/keywords and the log say what is wrong."""

import shutil
from pathlib import Path

import pytest

from monitor.analyze.holder import LibraryHolder
from monitor.analyze.sentiment import load_model
from monitor.api import create_app
from monitor.config import OutletConfig
from monitor.db import items as item_store
from monitor.db import outlets as outlet_store
from monitor.fetch.parsed import ParsedEntry
from monitor.stages.analysis import Analyser
from tests.conftest import api_client

KEYWORDS = Path(__file__).parents[2] / "keywords"
STORY = ("江城水务集团停水三天无人管 居民愤怒投诉", "河西片区居民反映停水三天没有任何通知。")


@pytest.fixture
def holder(tmp_path):
    folder = tmp_path / "keywords"
    shutil.copytree(KEYWORDS, folder)
    return LibraryHolder(folder)


def store(sessions, clock, number: int) -> int:
    with sessions.begin() as session:
        outlet_store.sync_outlets(session, configs=[
            OutletConfig(id="forum", name="论坛", kind="rss", url="http://example.invalid/", tier="forum"),
        ], now=clock.now())
        (item_id,) = item_store.store_entries(session, outlet_id="forum", now=clock.now(), entries=[
            ParsedEntry(url=f"http://example.invalid/t/{number}", title=STORY[0], text=STORY[1]),
        ]).new_ids
    return item_id


async def test_a_gbk_keyword_file_while_running_keeps_scoring_and_shows_everywhere(db_settings, sessions, clock, holder):
    app = create_app(db_settings, sessions, clock=clock, library=holder)
    admin, viewer = api_client(app, sessions, clock, role="admin"), api_client(app, sessions, clock, role="viewer")
    analyser = Analyser(sessions, holder, load_model(), clock)
    good = holder.library.version
    assert (await viewer.get("/readyz")).json()["status"] == "ready"

    organisation = holder.folder / "organisation.yaml"
    original = organisation.read_bytes()
    organisation.write_bytes(original.decode("utf-8").encode("gbk"))  # saved again in Windows Notepad
    # What the service does every few seconds: re-read the library if it changed, then score.
    holder.reload_if_changed()
    first = store(sessions, clock, 1)
    assert analyser.run_once() == 1  # before the fix: UnicodeDecodeError, nothing scored for as long
    detail = (await viewer.get(f"/api/v1/items/{first}")).json()["analysis"]
    assert detail["library_version"] == good and detail["risk"] >= 60

    ready = await viewer.get("/readyz")
    assert ready.status_code == 200  # working on, with the last good library: kept in rotation
    body = ready.json()
    assert body["status"] == "degraded" and body["problems_since"] is not None
    assert body["problems"] == [
        "organisation.yaml: is not UTF-8 text (it looks like GBK/GB18030, as Windows saves Chinese by "
        "default): at line 1, column 3 (byte 0xd7); save it as UTF-8 (Notepad: File > Save As > "
        "Encoding: UTF-8; VS Code: Save with Encoding > UTF-8)"
    ]
    state = (await admin.get("/api/v1/keywords")).json()
    assert state["version"] == good and state["problems_since"] == body["problems_since"]
    assert state["last_problems"] == [f"{organisation}: {body['problems'][0].removeprefix('organisation.yaml: ')}"]
    seen_by_viewer = (await viewer.get("/api/v1/keywords")).json()
    assert seen_by_viewer["last_problems"] == body["problems"]

    organisation.write_bytes(original)  # saved as UTF-8: back to normal at the next look
    holder.reload_if_changed()
    assert (await viewer.get("/readyz")).json() | {"last_sweep_at": None} == {
        "status": "ready", "database": "ok", "scheduler": "not_part_of_this_process", "last_sweep_at": None,
        "fetch_lag_seconds": 0.0, "analysis_lag_seconds": 0.0, "grouping_lag_seconds": 0.0, "search_lag_seconds": 0.0,
        "problems": [], "problems_since": None,
    }
    assert (await viewer.get("/api/v1/keywords")).json()["last_problems"] == []


async def test_an_api_only_process_notices_a_rejected_change_without_an_analysis_loop(db_settings, sessions, clock, holder):
    app = create_app(db_settings, sessions, clock=clock, library=holder)
    viewer = api_client(app, sessions, clock, role="viewer")
    (holder.folder / "organisation.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    body = (await viewer.get("/readyz")).json()  # nothing called reload_if_changed but the request
    assert body["status"] == "degraded"
    assert body["problems"] == ["organisation.yaml:2:1: YAML syntax error: expected ',' or ']', but got '<stream end>'"]


async def test_viewers_do_not_learn_the_server_folder(db_settings, sessions, clock, holder):
    app = create_app(db_settings, sessions, clock=clock, library=holder)
    viewer = api_client(app, sessions, clock, role="viewer")
    operator = api_client(app, sessions, clock, role="operator")
    admin = api_client(app, sessions, clock, role="admin")
    (holder.folder / "organisation.yaml").write_bytes(b"name: \xd7\xe9\n")
    for client in (viewer, operator):
        response = await client.get("/api/v1/keywords")
        assert response.json()["folder"] is None
        assert str(holder.folder) not in response.text
    assert (await admin.get("/api/v1/keywords")).json()["folder"] == str(holder.folder)
