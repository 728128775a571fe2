"""The report's opening paragraph in Chinese, written from the figures alone (no outside service):
what a press officer would otherwise type by hand every Monday."""

from __future__ import annotations

from datetime import date

from monitor.events.levels import LEVELS


def _trend(delta: float | None, unit: str = "条") -> str:
    if delta is None:
        return ""
    if delta == 0:
        return "，与上周持平"
    word = "增加" if delta > 0 else "减少"
    return f"，较上周{word} {abs(delta):,.0f} {unit}"


def _points(delta: float | None) -> str:
    if delta is None:
        return ""
    if abs(delta) < 0.0005:
        return "，与上周持平"
    word = "上升" if delta > 0 else "下降"
    return f"，较上周{word} {abs(delta) * 100:.1f} 个百分点"


def _day(iso: str) -> str:
    day = date.fromisoformat(iso[:10])
    return f"{day.month}月{day.day}日"


def _reviews(reviews: dict) -> str:
    if not reviews["events"]:
        return "本周没有需要复盘的事件。"
    rates = "，".join(
        f"{rate['name']} {rate['share']:.0%}" if rate["share"] is not None else f"{rate['name']}尚未可判"
        for rate in reviews["rates"].values()
    )
    return f"本周复盘事件 {len(reviews['events'])} 起，{rates}。"


def weekly_summary(figures: dict, labels: dict[str, str]) -> str:
    overview, change = figures["overview"], figures["change"]
    days = figures["daily"]
    parts = [
        f"本周（{_day(days[0]['day'])}至{_day(days[-1]['day'])}）共采集信息 {overview['items']:,} 条，"
        f"其中涉及我方的 {overview['relevant_items']:,} 条{_trend(change['relevant_items'])}。"
    ]
    if overview["relevant_items"]:
        parts.append(
            f"负面信息 {overview['negative_items']:,} 条，负面占比 {overview['negative_share']:.1%}"
            f"{_points(change['negative_share'])}。"
        )
    alerts = overview["alerts_by_level"]
    if overview["alerts"]:
        by_level = "、".join(f"{labels[level]} {alerts[level]} 次" for level in reversed(LEVELS) if alerts[level])
        parts.append(f"新发事件 {overview['new_events']} 起，发出预警 {overview['alerts']} 次（{by_level}）。")
    else:
        parts.append(f"新发事件 {overview['new_events']} 起，本周未发出预警。")
    top = figures["top_events"][0] if figures["top_events"] else None
    if top and top["peak_level"]:
        parts.append(
            f"最受关注的是“{top['title']}”，首发于{top['first_outlet_name']}，"
            f"波及 {top['outlets']} 家媒体/平台，最高达{labels[top['peak_level']]}。"
        )
    handled = figures["duty"]["urgent_handled_within_target"]
    decided = handled["within"] + handled["late"]
    target = f"{handled['target_minutes']:.0f} 分钟"
    if decided:
        verdict = "达到" if handled["share"] >= handled["goal"] else "未达到"
        parts.append(
            f"橙色及以上预警 {decided} 次，{target}内确认 {handled['within']} 次，按时处置率 "
            f"{handled['share']:.0%}，{verdict} {handled['goal']:.0%} 的目标。"
        )
    elif handled["pending"]:
        parts.append(f"橙色及以上预警 {handled['pending']} 次，仍在 {target}确认时限内。")
    else:
        parts.append("本周无橙色及以上预警。")
    detection = figures["duty"]["detection"]
    if detection["count"]:
        parts.append(f"从信息发布到发出预警的中位时间为 {detection['median_minutes']:.0f} 分钟。")
    parts.append(_reviews(figures["reviews"]))
    return "".join(parts)
