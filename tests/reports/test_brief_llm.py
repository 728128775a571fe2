"""Optional FENGHUO_LLM_URL: the brief's overview and viewpoints rewritten as prose by a chat model,
tested against a small OpenAI-compatible server on 127.0.0.1. The draft always stays beside the
rewrite; a rewrite that cites nothing, or a sentence the draft does not have, is dropped; a model
that is down costs the rewrite, never the brief."""

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from monitor.reports.brief import make_brief
from monitor.reports.llm import LlmEndpoint
from monitor.reports.playbook import load_playbook
from tests.reports.test_brief import ZONE, replayed_story


class FakeChat:
    """POST …/chat/completions answering `reply` (the message content); every request kept."""

    def __init__(self):
        self.reply = "{}"
        self.requests: list[dict] = []
        chat = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                chat.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                data = json.dumps({"choices": [{"message": {"role": "assistant", "content": chat.reply}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def story(sessions, clock, tmp_path):
    return replayed_story(sessions, clock, tmp_path)


@pytest.fixture
def chat():
    server = FakeChat()
    yield server
    server.close()


def _made(story, format, llm):
    timeline, event = story
    with timeline.sessions() as session:
        return make_brief(session, event_id=event.id, format=format, now=timeline.clock.now(), zone=ZONE,
                          levels=timeline.levels, playbook=load_playbook(), llm=llm)


def test_a_cited_rewrite_is_shown_beside_the_draft_in_every_format(story, chat):
    import docx

    draft = json.loads(_made(story, "json", None))
    assert "rewrite" not in draft and chat.requests == []  # without the setting nothing is asked
    first = draft["overview"]["sentences"][0]["text"]
    groups = len(draft["viewpoints"]["groups"])
    chat.reply = "```json\n" + json.dumps({
        "overview": "河西片区居民反映停水，事件经多家媒体报道[1][2]。",
        "viewpoints": ["网友质疑停水未提前通知[%d]。" % (len(draft["overview"]["sentences"]) + 1)] * groups,
    }, ensure_ascii=False) + "\n```"
    llm = LlmEndpoint(chat.url, "qwen-test", api_key="k-123")
    brief = json.loads(_made(story, "json", llm))
    rewrite = brief["rewrite"]
    assert rewrite["overview"] == {"text": "河西片区居民反映停水，事件经多家媒体报道[1][2]。", "cites": [1, 2]}
    assert rewrite["error"] is None and len(rewrite["viewpoints"]) == groups
    assert rewrite["sources"][0]["text"] == first and rewrite["sources"][0]["item_id"]
    assert brief["overview"] == draft["overview"]  # the draft itself untouched
    request = chat.requests[-1]
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer k-123"
    assert request["body"]["model"] == "qwen-test" and f"[1] {first}" in request["body"]["messages"][1]["content"]

    markdown = _made(story, "md", llm).decode()
    assert "改写稿（qwen-test" in markdown and "> 河西片区居民反映停水" in markdown and first in markdown
    assert "出处：[1] " in markdown
    html = _made(story, "html", llm).decode()
    assert "<blockquote>河西片区居民反映停水" in html and first in html
    assert html.count("改写：网友质疑停水未提前通知") == groups  # each viewpoint's under its own group
    assert markdown.count("改写：网友质疑停水未提前通知") == groups
    document = docx.Document(io.BytesIO(_made(story, "docx", llm)))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "河西片区居民反映停水" in text and first in text


@pytest.mark.parametrize("reply, reason", [
    (json.dumps({"overview": "江城水务已赔偿全部用户。", "viewpoints": []}, ensure_ascii=False), "cites no source"),
    (json.dumps({"overview": "停水三天[99]。", "viewpoints": []}, ensure_ascii=False), "[99]"),
    ("I cannot help with that.", "无法解析"),
])
def test_an_uncited_or_invented_rewrite_is_dropped_and_the_draft_stays(story, chat, reply, reason):
    chat.reply = reply
    brief = json.loads(_made(story, "json", LlmEndpoint(chat.url + "/chat/completions", "m")))
    assert chat.requests[-1]["path"] == "/v1/chat/completions"  # the full address works as well as the base
    assert brief["rewrite"]["overview"] is None and reason in brief["rewrite"]["error"]
    markdown = _made(story, "md", LlmEndpoint(chat.url, "m")).decode()
    assert "江城水务已赔偿" not in markdown and "停水三天" not in markdown
    assert brief["overview"]["sentences"]


def test_a_model_server_that_is_down_costs_the_rewrite_not_the_brief(story):
    import socket

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    markdown = _made(story, "md", LlmEndpoint(f"http://127.0.0.1:{port}/v1", "m", timeout=2)).decode()
    assert "一、事件概述" in markdown and "（改写稿：改写服务不可用" in markdown


async def test_the_api_uses_the_configured_endpoint(story, chat, db_settings):
    from monitor.api import create_app
    from tests.conftest import api_client

    timeline, event = story
    chat.reply = json.dumps({"overview": "据报道，河西片区停水[1]。", "viewpoints": []}, ensure_ascii=False)
    settings = db_settings.model_copy(update={"llm_url": chat.url, "llm_model": "served-name"})
    client = api_client(create_app(settings, timeline.sessions, clock=timeline.clock), timeline.sessions,
                        timeline.clock, role="viewer")
    page = await client.get(f"/api/v1/events/{event.id}/brief", params={"format": "md"})
    assert page.status_code == 200 and "> 据报道，河西片区停水" in page.text  # [1] escaped in Markdown
    assert chat.requests[-1]["body"]["model"] == "served-name"
