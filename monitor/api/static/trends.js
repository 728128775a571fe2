// Volume trends (趋势) and hot stories (热点) in the duty console: two pages over
// GET /api/v1/trends and GET /api/v1/trending, drawn with the helpers of console.js (h, svgNode,
// api, local, t…). Every value from the server is put in the page as text.
"use strict";

Object.assign(TEXT.zh, {
  nav_trends: "趋势", nav_hot: "热点", volume: "声量（条/小时）", expected_band: "常态区间", anomaly_hour: "异常",
  trends_title: "关键词分组声量（近72小时）", no_series: "暂无数据", hot_title: "全网热点", hot_none: "还没有热点排行（每3分钟更新）",
  ranked_at: "排行时间", score: "热度", last_hour: "近1小时", growth: "增速", flagged: "关注", flagged_only: "只看需关注的",
  terms: "命中地域/行业词", subject_named: "涉及分组", bursts: "异常波次", by_tier: "按传播层级",
});
Object.assign(TEXT.en, {
  nav_trends: "Trends", nav_hot: "Hot", volume: "Items per hour", expected_band: "expected band", anomaly_hour: "anomaly",
  trends_title: "Volume per keyword group (last 72 h)", no_series: "No data yet", hot_title: "Hot stories", hot_none: "No ranking yet (made every 3 minutes)",
  ranked_at: "Ranked at", score: "Score", last_hour: "Last hour", growth: "Growth", flagged: "Look", flagged_only: "Flagged only",
  terms: "Region/industry terms", subject_named: "Groups named", bursts: "Bursts", by_tier: "By tier",
});

// One series' hours: bars of the count (red where anomalous) over the band expected…upper.
function volumeChart(series) {
  const width = 640, height = 200, left = 34, right = 10, top = 22, bottom = 30;
  const svg = svgNode("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart volume-chart", role: "img",
    "data-key": series.key, "data-anomalies": String(series.anomalies) });
  const hours = series.hours;
  if (!hours.length) return svg;
  const most = Math.max(1, ...hours.map((x) => Math.max(x.count, x.upper)));
  const plotWidth = width - left - right, plotHeight = height - top - bottom, step = plotWidth / hours.length;
  const x = (i) => left + i * step, y = (n) => top + plotHeight - (n / most) * plotHeight;
  // the band: from expected up to the upper bound, one step per hour
  const upperEdge = hours.map((p, i) => `${x(i)},${y(p.upper)} ${x(i + 1)},${y(p.upper)}`).join(" ");
  const lowerEdge = hours.map((p, i) => `${x(i + 1)},${y(p.expected)} ${x(i)},${y(p.expected)}`).reverse().join(" ");
  svg.append(svgNode("polygon", { points: `${upperEdge} ${lowerEdge}`, fill: "#cfe3f7", class: "band" }));
  hours.forEach((p, i) => {
    const bar = svgNode("rect", { x: x(i) + step * 0.15, y: y(p.count), width: Math.max(1, step * 0.7), height: y(0) - y(p.count),
      fill: p.anomaly ? "#c0221f" : "#555", class: p.anomaly ? "hour anomaly" : "hour", "data-count": p.count });
    bar.append(svgNode("title", {}, `${when(p.hour)} · ${p.count} · ${t("expected_band")} ${p.expected}–${p.upper}${p.anomaly ? ` · ${t("anomaly_hour")}` : ""}`));
    svg.append(bar);
  });
  svg.append(svgNode("polyline", { points: hours.map((p, i) => `${x(i) + step / 2},${y(p.expected)}`).join(" "),
    fill: "none", stroke: "#2f6fb5", "stroke-width": 1.5 }));
  svg.append(svgNode("line", { x1: left, y1: y(0), x2: width - right, y2: y(0), stroke: "#999" }));
  svg.append(svgNode("text", { x: left - 4, y: top + 4, "font-size": 11, "text-anchor": "end" }, Math.round(most)));
  svg.append(svgNode("text", { x: left - 4, y: y(0), "font-size": 11, "text-anchor": "end" }, 0));
  svg.append(svgNode("text", { x: left, y: 14, "font-size": 12 }, `${series.key} · ${t("volume")} · ${t("zone")} ${state.zone}`));
  const every = Math.max(1, Math.ceil(hours.length / 6));
  for (let i = 0; i < hours.length; i += every) {
    svg.append(svgNode("text", { x: x(i), y: height - 10, "font-size": 11, class: "tick" },
      local(Date.parse(hours[i].hour), { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" })));
  }
  return svg;
}

async function trendsView(by, key) {
  by = by === "tier" ? "tier" : "group";
  const [body, bursts] = await Promise.all([
    api(`/api/v1/trends?by=${by}&hours=72`),
    api(`/api/v1/trends/anomalies?days=3${key ? `&key=${encodeURIComponent(key)}` : ""}`),
  ]);
  const series = body.series.filter((s) => !key || s.key === key);
  view().replaceChildren(
    h("section", { class: "card" },
      h("h3", {}, by === "tier" ? t("by_tier") : t("trends_title")),
      h("p", { class: "filters" }, h("a", { href: "#/trends/group" }, t("trends_title")), " · ", h("a", { href: "#/trends/tier" }, t("by_tier"))),
      series.length ? null : h("p", { class: "muted" }, t("no_series")),
      series.map((s) => h("div", { class: "series" }, volumeChart(s),
        h("p", { class: "legend" }, h("span", {}, `▇ ${t("volume")}`), h("span", { style: null }, `▒ ${t("expected_band")}`),
          s.anomalies ? h("span", { class: "bad" }, `${t("anomaly_hour")} ${s.anomalies}`) : null)))),
    by === "group" && bursts.length ? h("section", { class: "card" }, h("h3", {}, t("bursts")),
      h("div", { class: "table-wrap" }, h("table", { id: "bursts" },
        h("tr", {}, h("th", {}, zoned("at")), h("th", {}, t("groups")), h("th", {}, t("volume")), h("th", {}, t("expected_band"))),
        bursts.map((b) => h("tr", {}, h("td", {}, stamp(b.started_at)), h("td", {}, b.key), h("td", {}, b.peak_count),
          h("td", {}, `${b.expected}–${b.upper}`)))))) : null);
}

async function hotView() {
  const flaggedOnly = location.hash.includes("flagged");
  const body = await api(`/api/v1/trending?limit=50${flaggedOnly ? "&flagged=true" : ""}`);
  view().replaceChildren(h("section", { class: "card" },
    h("h3", {}, t("hot_title")),
    h("p", { class: "filters" }, body.made_at ? [`${t("ranked_at")}: `, stamp(body.made_at)] : null, " ",
      h("a", { href: flaggedOnly ? "#/hot" : "#/hot/flagged" }, flaggedOnly ? t("all") : t("flagged_only"))),
    body.stories.length ? h("div", { class: "table-wrap" }, h("table", { id: "hot" },
      h("tr", {}, ...["score", "item_title", "items", "outlets", "last_hour", "growth", "tiers_reached", "terms"].map((k) => h("th", {}, t(k)))),
      body.stories.map((s) => h("tr", { class: s.flagged ? "flagged" : null, dataset: { rank: s.rank } },
        h("td", {}, s.score), h("td", {}, s.flagged ? h("span", { class: "badge level-orange" }, t("flagged")) : null, " ", s.title,
          s.groups.length ? h("span", { class: "muted" }, ` · ${t("subject_named")}: ${s.groups.join("、")}`) : null),
        h("td", {}, s.items), h("td", {}, s.outlets), h("td", {}, s.last_hour), h("td", {}, `×${s.growth}`),
        h("td", {}, s.tiers.map((tier) => tierLabel(tier)).join("、")), h("td", {}, s.terms.join("、") || "—")))))
      : h("p", { class: "muted" }, t("hot_none"))));
}

// The event page's volume section: its keyword groups' last 72 hours over their band.
async function eventVolume(eventId) {
  const body = await api(`/api/v1/trends?by=group&hours=72&event=${eventId}`);
  if (!body.series.length) return null;
  return h("section", { class: "card", id: "event-volume" }, h("h3", {}, t("trends_title")),
    body.series.map((s) => h("div", { class: "series" }, volumeChart(s),
      h("p", { class: "legend" }, h("a", { href: `#/trends/group/${encodeURIComponent(s.key)}` }, s.key),
        s.anomalies ? h("span", { class: "bad" }, `${t("anomaly_hour")} ${s.anomalies}`) : null))));
}

window.FENGHUO_VIEWS = Object.assign(window.FENGHUO_VIEWS || {}, {
  trends: (by, key) => trendsView(by, key ? decodeURIComponent(key) : null),
  hot: () => hotView(),
});
