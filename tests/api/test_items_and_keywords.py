"""Item detail with its analysis; the keyword library's state and reload over HTTP."""

import shutil
from pathlib import Path

import httpx
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


@pytest.fixture
def holder(tmp_path):
    folder = tmp_path / "keywords"
    shutil.copytree(KEYWORDS, folder)
    return LibraryHolder(folder)


def client(db_settings, sessions, clock, holder, role="admin") -> httpx.AsyncClient:
    app = create_app(db_settings, sessions, clock=clock, library=holder)
    return api_client(app, sessions, clock, role=role)


async def test_item_detail_carries_hits_risk_and_reasons(db_settings, sessions, clock, holder):
    config = OutletConfig(id="forum", name="论坛", kind="rss", url="http://example.invalid/", tier="forum")
    with sessions.begin() as session:
        outlet_store.sync_outlets(session, configs=[config], now=clock.now())
        (item_id,) = item_store.store_entries(session, outlet_id="forum", now=clock.now(), entries=[
            ParsedEntry(url="http://example.invalid/t/1", title="江城水务集团停水三天无人管 居民愤怒投诉",
                        text="河西片区居民反映停水三天没有任何通知。"),
        ]).new_ids
    api = client(db_settings, sessions, clock, holder)
    assert (await api.get(f"/api/v1/items/{item_id}")).json()["analysis"] is None  # not yet scored
    Analyser(sessions, holder, load_model(), clock).run_once()
    body = (await api.get(f"/api/v1/items/{item_id}")).json()
    assert body["analysis"]["risk"] >= 60
    assert body["analysis"]["library_version"] == holder.library.version
    assert {hit["rule"] for hit in body["analysis"]["hits"]} >= {"org-incident", "org-complaint"}
    assert any(reason["factor"] == "tone" for reason in body["analysis"]["reasons"])
    assert (await api.get("/api/v1/items/999999")).status_code == 404


async def test_library_state_and_a_reload_that_refuses_a_broken_change(db_settings, sessions, clock, holder):
    api = client(db_settings, sessions, clock, holder)
    state = (await api.get("/api/v1/keywords")).json()
    assert state["version"] == holder.library.version
    assert {"org-incident", "org-complaint"} <= {rule["id"] for rule in state["rules"]}
    assert any(group["subject"] for group in state["groups"])

    (holder.folder / "industry.yaml").write_text("name: 行业\nrules:\n  - {id: x, expr: '(水价'}\n", encoding="utf-8")
    refused = await api.post("/api/v1/keywords/reload")
    assert refused.status_code == 422
    assert refused.json()["loaded"] is False and refused.json()["version"] == state["version"]
    assert "industry.yaml:3:" in refused.json()["problems"][0]
    assert (await api.get("/api/v1/keywords")).json()["last_problems"] == refused.json()["problems"]

    (holder.folder / "industry.yaml").write_text("name: 行业\nterms: [水价]\nrules:\n  - {id: x, expr: 水价}\n", encoding="utf-8")
    accepted = (await api.post("/api/v1/keywords/reload")).json()
    assert accepted["loaded"] and accepted["changed"] and accepted["version"] != state["version"]
