"""The post-incident review (复盘): what happened from the first publication to the resolution, how
long each step took against the playbook's deadlines, what the duty team did, whether the warning
level was right, and the lessons the team writes down.

Everything but the lessons is computed from stored rows whenever the review is read (the event,
its items, escalation log, alerts and duty actions), so a review made before a late acknowledgement
and one made after agree with the facts of their moment. The three review measures come out per event:
发现及时 (found within the target after first publication), 预警准确 (no false alarm, no level
corrected by hand), 处置及时 (first response within the playbook's minutes for the level).
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from monitor.db.briefs import BriefMaterial
from monitor.db.models import EventReview
from monitor.events.levels import LEVELS
from monitor.reports.brief_render import md_text as _md
from monitor.reports.playbook import Playbook
from monitor.states import AUTO, AlertStatus, EscalationKind

SECTION_TITLES = ("一、事件概况", "二、处置时间线", "三、时效评估", "四、处置记录", "五、预警级别研判", "六、经验教训")
ACTION_LABELS = {"acknowledge": "确认", "assign": "指派", "note": "备注", "resolve": "处置完成", "noise": "标记误报"}
STATUS_LABELS = {"new": "未确认", "acknowledged": "已确认", "resolved": "已处置", "noise": "误报", "superseded": "已升级"}


def _minutes(delta: timedelta | None) -> float | None:
    return None if delta is None else round(delta.total_seconds() / 60, 1)


def build_review(
    material: BriefMaterial, review: EventReview | None, *, now: datetime, zone: tzinfo, labels: dict[str, str],
    playbook: Playbook, find_target: timedelta,
) -> dict:
    event, items = material.event, material.items

    def local(moment: datetime | None) -> str | None:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else None

    first_published = items[0].at if items else event.first_at
    first_fetched = min((i.first_seen_at for i in items), default=None)
    peak = max((e.to_level for e in material.escalations if e.to_level), key=LEVELS.index, default=None)
    by_alert: dict[int, list] = {}
    for action in material.actions:
        by_alert.setdefault(action.alert_id, []).append(action)

    steps = [{"at": local(first_published), "step": "首次发布", "detail": items[0].outlet_name if items else ""},
             {"at": local(first_fetched), "step": "首次采集", "detail": ""}]
    for change in material.escalations:
        if change.actor != AUTO or change.kind in (EscalationKind.close, EscalationKind.reopen):
            kind = {"close": "事件平息", "reopen": "事件重新打开"}.get(change.kind, "人工调整级别")
            detail = f"{labels.get(change.from_level, '无')} → {labels.get(change.to_level, '无')}" \
                if change.kind not in (EscalationKind.close, EscalationKind.reopen) else ""
            steps.append({"at": local(change.at), "step": kind,
                          "detail": f"{detail}{'；' if detail else ''}{change.actor}：{change.reason}"})
    timeliness = []
    for alert in material.alerts:
        label = labels.get(alert.level, alert.level)
        steps.append({"at": local(alert.alerted_at), "step": f"预警（{label}）", "detail": alert.title})
        if alert.pushed_at:
            steps.append({"at": local(alert.pushed_at), "step": "推送送达", "detail": label})
        for action in by_alert.get(alert.id, []):
            steps.append({"at": local(action.at), "step": ACTION_LABELS.get(action.action, action.action),
                          "detail": f"{action.actor}{'：' + action.note if action.note else ''}"})
        deadline = timedelta(minutes=playbook.levels[alert.level].first_response_minutes)
        responded = alert.acknowledged_at - alert.alerted_at if alert.acknowledged_at else None
        if responded is not None:
            on_time = responded <= deadline
        else:
            on_time = None if now - alert.alerted_at <= deadline else False
        timeliness.append({
            "alert_id": alert.id, "level": alert.level, "label": label, "status": STATUS_LABELS.get(alert.status, alert.status),
            "detection_minutes": _minutes(alert.alerted_at - alert.published_at),
            "response_minutes": _minutes(responded), "deadline_minutes": _minutes(deadline), "on_time": on_time,
            "resolution_minutes": _minutes(alert.resolved_at - alert.alerted_at) if alert.resolved_at else None,
        })
    steps.sort(key=lambda s: s["at"] or "")

    noise = [a for a in material.alerts if a.status == AlertStatus.noise]
    corrected = [e for e in material.escalations if e.actor != AUTO and e.kind in (EscalationKind.escalate, EscalationKind.downgrade)]
    verdicts = [f"{len(noise)} 次预警被标记为误报" for _ in [0] if noise]
    verdicts += [f"{e.actor} 将级别{'调低' if e.kind == EscalationKind.downgrade else '调高'}为 {labels.get(e.to_level, '无')}"
                 f"（{local(e.at)}，{e.reason}）：自动定级{'偏高' if e.kind == EscalationKind.downgrade else '偏低'}" for e in corrected]
    found = first_fetched - first_published if first_fetched and first_published else None
    urgent = [t for t in timeliness if t["level"] in ("orange", "red")] or timeliness
    return {
        "event": {"id": event.id, "title": event.title, "status": event.status, "items": len(items),
                  "outlets": len({i.outlet_id for i in items}), "peak_level": peak,
                  "peak_label": labels.get(peak, "未定级") if peak else "未定级",
                  "closed_at": local(event.closed_at), "resolved": bool(material.alerts) and all(
                      a.status in (AlertStatus.resolved, AlertStatus.noise, AlertStatus.superseded) for a in material.alerts)},
        "generated_at": local(now), "timezone": str(zone),
        "steps": steps,
        "timeliness": timeliness,
        "measures": {
            "found_minutes": _minutes(found),
            "found_in_time": None if found is None else found <= find_target,
            "find_target_minutes": _minutes(find_target),
            "accurate": not noise and not corrected,
            "handled_in_time": None if not urgent or any(t["on_time"] is None for t in urgent)
            else all(t["on_time"] for t in urgent),
        },
        "verdicts": verdicts,
        "duty_notes": [{"at": local(a.at), "actor": a.actor, "action": ACTION_LABELS.get(a.action, a.action),
                        "note": a.note} for a in material.actions if a.note],
        "lessons": ({"text": review.lessons, "by": review.written_by, "at": local(review.updated_at)}
                    if review else None),
    }


def _yes(value: bool | None, yes: str, no: str) -> str:
    return "—（尚未可判）" if value is None else yes if value else no


def render_markdown(review: dict) -> str:
    e, m = review["event"], review["measures"]
    lines = [f"# 舆情事件复盘报告：{_md(e['title'])}", "",
             f"事件编号 {e['id']}　最高级别 {e['peak_label']}　{'已处置完毕' if e['resolved'] else '尚未全部处置'}　"
             f"生成时间 {review['generated_at']}（{review['timezone']}）", "",
             f"## {SECTION_TITLES[0]}", "",
             f"共 {e['items']} 条信息、{e['outlets']} 家来源；最高预警级别 {e['peak_label']}"
             + (f"；{e['closed_at']} 平息" if e["closed_at"] else "") + "。", "",
             f"## {SECTION_TITLES[1]}", "", "| 时间 | 环节 | 说明 |", "|---|---|---|"]
    lines += [f"| {s['at'] or '—'} | {s['step']} | {_md(s['detail'])} |" for s in review["steps"]]
    lines += ["", f"## {SECTION_TITLES[2]}", "",
              f"- 发现：首发后 {m['found_minutes'] if m['found_minutes'] is not None else '—'} 分钟采集到"
              f"（目标 {m['find_target_minutes']:.0f} 分钟内）：{_yes(m['found_in_time'], '及时', '不及时')}",
              f"- 预警：{_yes(m['accurate'], '准确', '有偏差（见第五节）')}",
              f"- 处置：{_yes(m['handled_in_time'], '首次响应均在预案时限内', '有预警超出预案时限才响应')}", "",
              "| 预警 | 级别 | 状态 | 发现用时（分钟） | 响应用时（分钟） | 预案时限（分钟） | 是否按时 | 处置用时（分钟） |",
              "|---|---|---|---|---|---|---|---|"]
    lines += [f"| #{t['alert_id']} | {t['label']} | {t['status']} | {t['detection_minutes']} | "
              f"{t['response_minutes'] if t['response_minutes'] is not None else '—'} | {t['deadline_minutes']:.0f} | "
              f"{_yes(t['on_time'], '按时', '超时')} | "
              f"{t['resolution_minutes'] if t['resolution_minutes'] is not None else '—'} |" for t in review["timeliness"]]
    lines += ["", f"## {SECTION_TITLES[3]}", ""]
    lines += [f"- {n['at']} {_md(n['actor'])}（{n['action']}）：{_md(n['note'])}" for n in review["duty_notes"]] or [
        "无值班记录。"]
    lines += ["", f"## {SECTION_TITLES[4]}", ""]
    lines += [f"- {_md(v)}" for v in review["verdicts"]] or ["预警级别未被人工调整，也没有误报：自动定级与研判一致。"]
    lines += ["", f"## {SECTION_TITLES[5]}", ""]
    lessons = review["lessons"]
    lines += [*(_md(line) for line in lessons["text"].splitlines()), "", f"（{_md(lessons['by'])}，{lessons['at']}）"] if lessons else [
        f"（待填写：fenghuo events review {e['id']} --lessons \"…\" --by 姓名，或 PUT /api/v1/events/{e['id']}/review/lessons）"]
    return "\n".join(lines) + "\n"


def make_review(session, *, event_id: int, format: str, now: datetime, zone: tzinfo, labels: dict[str, str],
                playbook: Playbook, find_target: timedelta, font_file=None) -> bytes | None:
    """One event's review in one format, from storage; None when there is no such event."""
    import json

    from monitor.db.briefs import brief_material, get_review
    from monitor.reports import brief_render
    from monitor.reports.fonts import find_cjk_font

    material = brief_material(session, event_id=event_id)
    if material is None:
        return None
    review = build_review(material, get_review(session, event_id=event_id), now=now, zone=zone, labels=labels,
                          playbook=playbook, find_target=find_target)
    if format == "json":
        return json.dumps(review, ensure_ascii=False, indent=2).encode("utf-8")
    markdown = render_markdown(review)
    if format == "md":
        return markdown.encode("utf-8")
    font = find_cjk_font(font_file)
    if format == "html":
        return brief_render.markdown_html(markdown, font).encode("utf-8")
    if format == "pdf":
        from monitor.reports.render import render_pdf

        return render_pdf(brief_render.markdown_html(markdown, font, for_pdf=True))
    if format == "docx":
        return brief_render.markdown_docx(markdown, font)
    raise ValueError(f"unknown format {format!r}")
