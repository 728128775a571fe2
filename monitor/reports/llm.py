"""Optional: the brief's 概述 and 观点 rewritten as prose by a chat model (`FENGHUO_LLM_URL`: any
OpenAI-compatible chat-completions endpoint, a local model server or a hosted one), from the
extractive draft alone. Without the setting nothing here runs and the brief is the draft.

The draft stays in the brief beside the rewrite. The model is given the draft's sentences and
quotes numbered and must cite them as [n]; a rewrite that cites nothing, or a number the draft
does not have, is dropped with the reason shown, never printed: the brief's rule that every
sentence is traceable to stored items holds for the rewrite too. A model that fails or times out
costs the rewrite only, never the brief.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import httpx

CITATION = re.compile(r"\[(\d+)\]")
SYSTEM = ("你是舆情研判助理。只根据用户给出的编号原句改写，不得添加原句中没有的事实、数字、人名或推测。"
          "每句话后用 [编号] 标明依据的原句。只输出一个 JSON 对象："
          '{"overview": "3至5句的事件概述", "viewpoints": ["每个观点组一句概括", ...]}。')


@dataclass(frozen=True)
class LlmEndpoint:
    url: str
    model: str
    api_key: str | None = None
    timeout: float = 30.0

    @property
    def completions_url(self) -> str:
        """The base (…/v1) or the full …/chat/completions address, as servers document either."""
        url = self.url.rstrip("/")
        return url if url.endswith("/chat/completions") else f"{url}/chat/completions"


def _sources(brief: dict) -> tuple[list[dict], list[list[int]]]:
    """The draft's sentences and quotes, numbered from 1; and per viewpoint group its numbers."""
    sources = [{"text": s["text"], "outlet": s["outlet"], "at": s["at"], "item_id": s["item_id"]}
               for s in brief["overview"]["sentences"]]
    groups = []
    for group in brief["viewpoints"]["groups"]:
        start = len(sources)
        sources += [{"text": q["text"], "outlet": q["outlet"], "at": q["at"], "item_id": q["item_id"]}
                    for q in group["quotes"]]
        groups.append(list(range(start + 1, len(sources) + 1)))
    return sources, groups


def _checked(text, known: int) -> tuple[str, list[int]]:
    if not isinstance(text, str) or not text.strip():
        raise ValueError("empty text")
    cited = sorted({int(n) for n in CITATION.findall(text)})
    if not cited:
        raise ValueError("cites no source sentence")
    unknown = [n for n in cited if not 1 <= n <= known]
    if unknown:
        raise ValueError(f"cites sentences the draft does not have: {unknown}")
    return text.strip(), cited


def _json_object(content: str) -> dict:
    content = content.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", content, re.S)
    if fenced:
        content = fenced[1]
    start, end = content.find("{"), content.rfind("}")
    value = json.loads(content[start:end + 1] if start >= 0 else content)
    if not isinstance(value, dict):
        raise ValueError("the reply is not a JSON object")
    return value


def rewrite(brief: dict, endpoint: LlmEndpoint, *, client: httpx.Client | None = None) -> dict:
    """{"model", "overview": {"text", "cites"} | None, "viewpoints": [{"text", "cites"}], "sources",
    "error"}; error names why nothing (or only part) was kept."""
    sources, groups = _sources(brief)
    result: dict = {"model": endpoint.model, "overview": None, "viewpoints": [], "sources": sources, "error": None}
    if not sources:
        result["error"] = "草稿中没有可改写的原句"
        return result
    numbered = "\n".join(f"[{n}] {s['text']}" for n, s in enumerate(sources, 1))
    layout = "；".join(f"观点{g}：原句 {', '.join(f'[{n}]' for n in numbers)}" for g, numbers in enumerate(groups, 1))
    user = (f"事件：{brief['event']['title']}\n概述原句与观点引语：\n{numbered}\n"
            f"观点分组：{layout or '无'}\n请按要求输出 JSON，viewpoints 与观点分组一一对应。")
    headers = {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
    body = {"model": endpoint.model, "temperature": 0,
            "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]}
    try:
        own = client is None
        client = client or httpx.Client(timeout=endpoint.timeout)
        try:
            response = client.post(endpoint.completions_url, json=body, headers=headers)
        finally:
            if own:
                client.close()
        response.raise_for_status()
        reply = _json_object(response.json()["choices"][0]["message"]["content"])
    except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as error:
        result["error"] = f"改写服务不可用或答复无法解析：{type(error).__name__}: {error}"[:300]
        return result
    problems = []
    try:
        text, cites = _checked(reply.get("overview"), len(sources))
        result["overview"] = {"text": text, "cites": cites}
    except ValueError as error:
        problems.append(f"概述：{error}")
    for n, text in enumerate(reply.get("viewpoints") or [], 1):
        if n > len(groups):
            break
        try:
            text, cites = _checked(text, len(sources))
            result["viewpoints"].append({"group": n, "text": text, "cites": cites})
        except ValueError as error:
            problems.append(f"观点{n}：{error}")
    if problems:
        result["error"] = "部分改写被舍弃（" + "；".join(problems) + "）"
    return result


def endpoint_from(settings) -> LlmEndpoint | None:
    """The configured endpoint, or None when FENGHUO_LLM_URL is unset."""
    if not settings.llm_url:
        return None
    return LlmEndpoint(settings.llm_url, settings.llm_model, settings.llm_api_key)
