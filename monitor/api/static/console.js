// Fenghuo duty console: a page over the API, no build step. Every value from the server is put
// in the page as text (never as HTML), and every call carries the signed-in API token.
"use strict";

const LEVELS = ["blue", "yellow", "orange", "red"];
const TEXT = {
  zh: {
    brand: "烽火 · 值班台", nav_alerts: "预警", nav_outlets: "媒体", nav_keywords: "关键词", nav_reports: "报告",
    live_on: "实时", live_off: "未连接", sign_out: "退出", signin_title: "登录", sign_in: "登录",
    signin_help: "用 API 令牌登录（fenghuo token create 名字 --role operator）。", token_placeholder: "API 令牌",
    remember: "在此设备上记住", bad_token: "令牌无效或已吊销", all: "全部", min_level: "最低级别", status: "状态",
    search: "搜索标题", refresh: "刷新", notify: "开启桌面通知", acknowledge: "确认", assign: "指派", note: "备注",
    resolve: "处置", noise: "误报", event: "事件", alerted: "预警", published: "首发", ack_at: "确认",
    assignee: "负责人", ask_assignee: "指派给谁？", ask_note: "备注内容：", ask_outcome: "处置结果：",
    ask_noise: "为什么是误报？", none: "暂无预警", new: "未确认", acknowledged: "已确认", resolved: "已处置",
    noise_status: "误报", superseded: "已升级", first_source: "首发", items: "信息", outlets: "媒体",
    history: "升级记录", spread: "传播趋势（累计）", at: "时间", change: "变化", by: "操作人", why: "原因",
    name: "名称", tier: "层级", health: "状态", last_success: "最近成功", last_error: "最近错误",
    next_fetch: "下次抓取", items_24h: "24小时", healthy: "正常", unhealthy: "异常", groups: "分组", rules: "规则",
    try_title: "试一试：文本与规则", try_button: "检测", title_ph: "标题（可选）", text_ph: "正文",
    hits: "命中", risk: "风险", negative: "负面概率", reasons: "依据", no_hits: "未命中任何规则",
    reports: "周报", week: "周", download: "下载", no_reports: "还没有周报", version: "版本",
    back: "← 返回", failed: "操作失败", open: "进行中", closed: "已平息", escalate: "升级", downgrade: "降级",
    close: "平息", reopen: "重新打开", set_level: "调整级别",
    config_rejected: "关键词库的修改未生效：服务仍按上一版 {version} 分析（自 {since} 起）。请修正下列问题并保存为 UTF-8，服务会自动重新加载。", level_labels: { blue: "一级（蓝色）", yellow: "二级（黄色）", orange: "三级（橙色）", red: "四级（红色）" },
  },
  en: {
    brand: "Fenghuo · Duty console", nav_alerts: "Alerts", nav_outlets: "Outlets", nav_keywords: "Keywords",
    nav_reports: "Reports", live_on: "live", live_off: "offline", sign_out: "Sign out", signin_title: "Sign in",
    sign_in: "Sign in", signin_help: "Sign in with an API token (fenghuo token create NAME --role operator).",
    token_placeholder: "API token", remember: "Remember on this device", bad_token: "Unknown or revoked token",
    all: "all", min_level: "Minimum level", status: "Status", search: "Search titles", refresh: "Refresh",
    notify: "Enable desktop notifications", acknowledge: "Acknowledge", assign: "Assign", note: "Note",
    resolve: "Resolve", noise: "Noise", event: "Event", alerted: "alerted", published: "published",
    ack_at: "acknowledged", assignee: "assignee", ask_assignee: "Assign to whom?", ask_note: "Note:",
    ask_outcome: "Outcome:", ask_noise: "Why is it a false alarm?", none: "No alerts", new: "new",
    acknowledged: "acknowledged", resolved: "resolved", noise_status: "noise", superseded: "superseded",
    first_source: "First source", items: "Items", outlets: "Outlets", history: "Escalation history",
    spread: "Spread (cumulative)", at: "At", change: "Change", by: "By", why: "Why", name: "Name", tier: "Tier",
    health: "Health", last_success: "Last success", last_error: "Last error", next_fetch: "Next fetch",
    items_24h: "24 h", healthy: "ok", unhealthy: "failing", groups: "Groups", rules: "Rules",
    try_title: "Try a text against the rules", try_button: "Score", title_ph: "Title (optional)", text_ph: "Text",
    hits: "Hits", risk: "Risk", negative: "Negative probability", reasons: "Reasons", no_hits: "No rule matched",
    reports: "Weekly reports", week: "Week", download: "Download", no_reports: "No reports yet", version: "Version",
    back: "← Back", failed: "Action failed", open: "open", closed: "closed", escalate: "escalate",
    downgrade: "downgrade", close: "close", reopen: "reopen", set_level: "Set level",
    config_rejected: "A change to the keyword library was rejected: items are still scored with the last good version {version} (since {since}). Fix the problems below and save as UTF-8; it reloads by itself.", level_labels: { blue: "I Blue", yellow: "II Yellow", orange: "III Orange", red: "IV Red" },
  },
};

const state = { lang: localStorage.getItem("fenghuo.lang") || "zh", token: null, me: null, stream: null };

function t(key) { return TEXT[state.lang][key] ?? key; }
function levelLabel(level) { return level ? TEXT[state.lang].level_labels[level] : "—"; }
function statusLabel(status) { return t(status === "noise" ? "noise_status" : status); }
function when(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(state.lang === "zh" ? "zh-CN" : "en-GB", { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
}

// h("div", {class: "x", onclick: f}, "text", child…): elements with text children only.
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function badge(level) { return h("span", { class: `badge level-${level}` }, levelLabel(level)); }

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { Authorization: `Bearer ${state.token}`, "Content-Type": "application/json", ...(options.headers || {}) },
  });
  if (response.status === 401) { signOut(); throw new Error(t("bad_token")); }
  if (!response.ok) {
    let detail = response.statusText;
    try { const body = await response.json(); detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail); } catch (_) {}
    throw new Error(`${response.status}: ${detail}`);
  }
  return response.headers.get("content-type")?.includes("json") ? response.json() : response;
}

// -- sign-in -----------------------------------------------------------------------------------

async function signIn(token, remember) {
  state.token = token;
  const me = await api("/api/v1/me");
  state.me = me;
  (remember ? localStorage : sessionStorage).setItem("fenghuo.token", token);
  document.getElementById("signin").hidden = true;
  document.getElementById("view").hidden = false;
  document.getElementById("nav").hidden = false;
  document.getElementById("signout").hidden = false;
  document.getElementById("who").textContent = `${me.name} (${me.role})`;
  if (!location.hash) location.hash = "#/alerts";
  // One live stream for the whole session: orange and red sound on every page.
  startStream((alert) => { announce(alert); if (state.onAlert) state.onAlert(alert); });
  if (!state.problemsTimer) state.problemsTimer = setInterval(showConfigProblems, 30000);
  route();
}

function signOut() {
  localStorage.removeItem("fenghuo.token");
  sessionStorage.removeItem("fenghuo.token");
  state.token = null;
  stopStream();
  document.getElementById("signin").hidden = false;
  document.getElementById("view").hidden = true;
  document.getElementById("nav").hidden = true;
  document.getElementById("signout").hidden = true;
  document.getElementById("who").textContent = "";
  document.getElementById("config-problems").hidden = true;
  clearInterval(state.problemsTimer);
  state.problemsTimer = null;
}

function translateStatic() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-t]").forEach((node) => { node.textContent = t(node.dataset.t); });
  document.querySelectorAll("[data-t-placeholder]").forEach((node) => { node.placeholder = t(node.dataset.tPlaceholder); });
  document.getElementById("lang").textContent = state.lang === "zh" ? "EN" : "中文";
  setLive(state.stream !== null && state.live);
}

// -- live stream (Server-Sent Events over fetch, so the token travels in a header) --------------

function setLive(on) {
  state.live = on;
  const node = document.getElementById("live");
  node.className = `live ${on ? "on" : "off"}`;
  node.textContent = t(on ? "live_on" : "live_off");
}

function stopStream() { if (state.stream) state.stream.abort(); state.stream = null; setLive(false); }

async function startStream(onAlert) {
  stopStream();
  const controller = new AbortController();
  state.stream = controller;
  let lastId = null;
  while (!controller.signal.aborted) {
    try {
      const headers = { Authorization: `Bearer ${state.token}` };
      if (lastId) headers["Last-Event-ID"] = lastId;  // resume exactly after the last alert seen
      const response = await fetch("/api/v1/alerts/stream", { headers, signal: controller.signal });
      if (!response.ok) throw new Error(String(response.status));
      setLive(true);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let event = "message", data = "", id = null;
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) event = line.slice(6).trim();
            else if (line.startsWith("data:")) data += line.slice(5).trim();
            else if (line.startsWith("id:")) id = line.slice(3).trim();
          }
          if (id) lastId = id;
          if (event === "alert" && data) onAlert(JSON.parse(data));
        }
      }
    } catch (error) {
      if (controller.signal.aborted) return;
    }
    setLive(false);
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

function beep() {
  try {
    const context = new AudioContext();
    const oscillator = context.createOscillator();
    oscillator.frequency.value = 880;
    oscillator.connect(context.destination);
    oscillator.start();
    oscillator.stop(context.currentTime + 0.4);
  } catch (_) {}
}

function announce(alert) {
  if (alert.level !== "orange" && alert.level !== "red") return;
  beep();
  if ("Notification" in window && Notification.permission === "granted") {
    new Notification(`${levelLabel(alert.level)} ${alert.title}`, { body: alert.reason, tag: `alert-${alert.id}` });
  }
}

// -- views -------------------------------------------------------------------------------------

const view = () => document.getElementById("view");

function showError(error) {
  view().prepend(h("p", { class: "error", role: "alert" }, `${t("failed")}: ${error.message}`));
}

async function act(alert, action, card) {
  let body = {};
  if (action === "assign") { const who = prompt(t("ask_assignee")); if (!who) return; body = { assignee: who }; }
  if (action === "notes") { const note = prompt(t("ask_note")); if (!note) return; body = { note }; }
  if (action === "resolve") { const outcome = prompt(t("ask_outcome")); if (!outcome) return; body = { outcome }; }
  if (action === "noise") { const note = prompt(t("ask_noise")); if (note === null) return; body = { note }; }
  try {
    const updated = await api(`/api/v1/alerts/${alert.id}/${action}`, { method: "POST", body: JSON.stringify(body) });
    card.replaceWith(alertCard(updated));
  } catch (error) { showError(error); }
}

function alertCard(alert, fresh = false) {
  const card = h("article", { class: `alert${fresh ? " fresh" : ""}`, dataset: { id: alert.id, level: alert.level, status: alert.status } });
  card.alert = alert;
  const open = alert.status === "new" || alert.status === "acknowledged";
  const button = (action, key) => h("button", { type: "button", dataset: { action }, onclick: () => act(alert, action, card) }, t(key));
  card.append(
    h("div", { class: `bar level-${alert.level}` }),
    h("div", { class: "body" },
      h("div", {}, badge(alert.level), " ", h("span", { class: "status" }, statusLabel(alert.status))),
      h("div", { class: "title" }, h("a", { href: `#/events/${alert.event_id}` }, alert.title)),
      h("div", { class: "meta" },
        h("span", {}, `${t("alerted")} ${when(alert.alerted_at)}`),
        h("span", {}, `${t("published")} ${when(alert.published_at)}`),
        alert.acknowledged_at ? h("span", {}, `${t("ack_at")} ${when(alert.acknowledged_at)}`) : null,
        alert.assignee ? h("span", {}, `${t("assignee")} ${alert.assignee}`) : null),
      h("div", { class: "meta" }, alert.reason),
      open && state.me?.role !== "viewer" ? h("div", { class: "actions" },
        alert.status === "new" ? button("acknowledge", "acknowledge") : null,
        button("assign", "assign"), button("notes", "note"), button("resolve", "resolve"), button("noise", "noise")) : null));
  return card;
}

async function alertsView() {
  const filters = { min_level: sessionStorage.getItem("f.min_level") || "", status: sessionStorage.getItem("f.status") || "", q: "" };
  const list = h("div", { id: "alerts" });
  const select = (name, options) => h("select", { name, onchange: (e) => { filters[name] = e.target.value; sessionStorage.setItem(`f.${name}`, e.target.value); load(); } },
    options.map(([value, label]) => h("option", { value, selected: filters[name] === value }, label)));
  const matches = (alert) => LEVELS.indexOf(alert.level) >= LEVELS.indexOf(filters.min_level || "blue")
    && (!filters.status || alert.status === filters.status);
  async function load() {
    const query = new URLSearchParams({ limit: "50" });
    for (const [key, value] of Object.entries(filters)) if (value) query.set(key, value);
    try {
      const page = await api(`/api/v1/alerts?${query}`);
      list.replaceChildren(...(page.alerts.length ? page.alerts.map((a) => alertCard(a)) : [h("p", { class: "muted" }, t("none"))]));
    } catch (error) { showError(error); }
  }
  view().replaceChildren(
    h("div", { class: "filters" },
      h("label", {}, `${t("min_level")} `, select("min_level", [["", t("all")], ...LEVELS.map((l) => [l, levelLabel(l)])])),
      h("label", {}, `${t("status")} `, select("status", [["", t("all")], ...["new", "acknowledged", "resolved", "noise", "superseded"].map((s) => [s, statusLabel(s)])])),
      h("input", { type: "search", placeholder: t("search"), onchange: (e) => { filters.q = e.target.value; load(); } }),
      h("button", { type: "button", onclick: load }, t("refresh")),
      "Notification" in window && Notification.permission === "default"
        ? h("button", { type: "button", onclick: (e) => { Notification.requestPermission(); e.target.remove(); } }, t("notify")) : null),
    list);
  await load();
  state.onAlert = (alert) => {
    if (!matches(alert)) return;
    list.querySelector("p.muted")?.remove();
    // A story that escalates supersedes its earlier unacknowledged alert, as the server records.
    list.querySelectorAll(`article[data-status="new"]`).forEach((card) => {
      if (card.alert.event_id === alert.event_id) card.replaceWith(alertCard({ ...card.alert, status: "superseded" }));
    });
    list.prepend(alertCard(alert, true));
  };
}

function spreadChart(spread) {
  const width = 600, height = 160, pad = 28;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "chart");
  svg.setAttribute("role", "img");
  if (!spread.length) return svg;
  const top = Math.max(...spread.map((p) => p.items), 1);
  const x = (i) => pad + (spread.length === 1 ? 0 : (i * (width - 2 * pad)) / (spread.length - 1));
  const y = (v) => height - pad - (v * (height - 2 * pad)) / top;
  const line = (key, colour, dash) => {
    const path = document.createElementNS(svg.namespaceURI, "polyline");
    path.setAttribute("points", spread.map((p, i) => `${x(i)},${y(p[key])}`).join(" "));
    path.setAttribute("fill", "none");
    path.setAttribute("stroke", colour);
    path.setAttribute("stroke-width", "2.5");
    if (dash) path.setAttribute("stroke-dasharray", "6 4");
    svg.append(path);
    spread.forEach((p, i) => {  // a dot per hour: one hour of spread is a point, not a line
      const dot = document.createElementNS(svg.namespaceURI, "circle");
      dot.setAttribute("cx", x(i)); dot.setAttribute("cy", y(p[key])); dot.setAttribute("r", "3.5");
      dot.setAttribute("fill", colour);
      svg.append(dot);
    });
  };
  const label = (text, px, py, anchor = "start") => {
    const node = document.createElementNS(svg.namespaceURI, "text");
    node.setAttribute("x", px); node.setAttribute("y", py); node.setAttribute("font-size", "12");
    node.setAttribute("text-anchor", anchor); node.textContent = text; svg.append(node);
  };
  line("items", "#c0221f"); line("outlets", "#2f6fb5", true);
  label(`${t("items")} ${spread.at(-1).items}`, pad, 14);
  label(`${t("outlets")} ${spread.at(-1).outlets}`, pad + 110, 14);
  label(when(spread[0].hour), pad, height - 8);
  label(when(spread.at(-1).hour), width - pad, height - 8, "end");
  return svg;
}

function levelForm(event) {
  // An operator escalates or downgrades by hand, with a reason; the change joins the history.
  const level = h("select", { id: "set-level" }, LEVELS.map((l) => h("option", { value: l, selected: l === event.level }, levelLabel(l))));
  const reason = h("input", { id: "set-reason", class: "wide", placeholder: t("why"), required: true });
  return h("form", { class: "filters", id: "level-form", onsubmit: async (e) => {
    e.preventDefault();
    if (!reason.value.trim()) return;
    try {
      await api(`/api/v1/events/${event.id}/level`, { method: "POST", body: JSON.stringify({ level: level.value, reason: reason.value }) });
      await eventView(event.id);
    } catch (error) { showError(error); }
  } }, level, reason, h("button", { type: "submit" }, t("set_level")));
}

async function eventView(id) {
  const event = await api(`/api/v1/events/${id}`);
  view().replaceChildren(
    h("p", {}, h("a", { href: "#/alerts" }, t("back"))),
    h("section", { class: "card" },
      h("div", {}, event.level ? badge(event.level) : "—", " ", h("span", { class: "status" }, t(event.status))),
      h("h2", {}, event.title),
      h("p", { class: "meta" }, `${t("first_source")}: ${event.first_outlet_id} · ${when(event.first_at)} · ${t("items")} ${event.item_count}`),
      h("h3", {}, t("spread")), spreadChart(event.spread)),
    h("section", { class: "card" }, h("h3", {}, t("history")),
      state.me?.role !== "viewer" ? levelForm(event) : null,
      h("div", { class: "table-wrap" }, h("table", { id: "history" },
        h("tr", {}, h("th", {}, t("at")), h("th", {}, t("change")), h("th", {}, t("by")), h("th", {}, t("why"))),
        event.history.map((e) => h("tr", {}, h("td", {}, when(e.at)),
          h("td", {}, `${t(e.kind)}: ${levelLabel(e.from_level)} → ${levelLabel(e.to_level)}`), h("td", {}, e.actor), h("td", {}, e.reason)))))),
    h("section", { class: "card" }, h("h3", {}, t("items")),
      h("div", { class: "table-wrap" }, h("table", {},
        event.items.map((item) => h("tr", {}, h("td", {}, when(item.first_seen_at)), h("td", {}, item.outlet_id),
          h("td", {}, h("a", { href: item.url, target: "_blank", rel: "noopener noreferrer" }, item.title))))))));
}

async function outletsView() {
  const outlets = await api("/api/v1/outlets");
  view().replaceChildren(h("div", { class: "table-wrap" }, h("table", { id: "outlets" },
    h("tr", {}, ...["name", "tier", "health", "last_success", "last_error", "next_fetch", "items_24h"].map((k) => h("th", {}, t(k)))),
    outlets.map((o) => h("tr", {},
      h("td", {}, o.name), h("td", {}, o.tier),
      h("td", { class: o.healthy ? "ok" : "bad" }, t(o.healthy ? "healthy" : "unhealthy")),
      h("td", {}, when(o.last_success_at)), h("td", {}, o.last_error || "—"), h("td", {}, when(o.next_fetch_at)),
      h("td", {}, o.items_24h ?? "—"))))));
}

async function keywordsView() {
  const library = await api("/api/v1/keywords");
  const title = h("input", { class: "wide", id: "try-title", placeholder: t("title_ph") });
  const text = h("textarea", { id: "try-text", placeholder: t("text_ph") });
  const result = h("div", { id: "try-result" });
  async function score() {
    try {
      const scored = await api("/api/v1/keywords/try", { method: "POST", body: JSON.stringify({ title: title.value, text: text.value }) });
      result.replaceChildren(
        h("p", {}, `${t("risk")}: `, h("strong", {}, scored.risk), ` · ${t("negative")}: ${scored.negative_prob}`),
        scored.hits.length ? h("ul", {}, scored.hits.map((hit) => h("li", {}, `${hit.group} / ${hit.rule}: ${hit.terms.join("、")}`)))
          : h("p", { class: "muted" }, t("no_hits")),
        h("ul", { class: "muted" }, scored.reasons.map((r) => h("li", {}, Object.values(r).join(" · ")))));
    } catch (error) { showError(error); }
  }
  view().replaceChildren(
    h("section", { class: "card" }, h("h3", {}, t("try_title")), title, text,
      h("button", { type: "button", class: "primary", id: "try-button", onclick: score }, t("try_button")), result),
    h("section", { class: "card" }, h("p", { class: "muted" }, `${t("version")} ${library.version}`),
      h("h3", {}, t("groups")),
      h("div", { class: "table-wrap" }, h("table", {}, library.groups.map((g) => h("tr", {}, h("td", {}, g.name), h("td", {}, g.id), h("td", {}, g.terms.join("、")))))),
      h("h3", {}, t("rules")),
      h("div", { class: "table-wrap" }, h("table", {}, library.rules.map((r) => h("tr", {}, h("td", {}, r.id), h("td", {}, r.group), h("td", {}, h("code", {}, r.expression))))))));
}

async function reportsView() {
  const reports = await api("/api/v1/reports");
  const download = async (url, name) => {
    try {
      const response = await api(url);
      const link = h("a", { href: URL.createObjectURL(await response.blob()), download: name });
      link.click();
    } catch (error) { showError(error); }
  };
  view().replaceChildren(h("section", { class: "card" }, h("h3", {}, t("reports")),
    reports.length ? h("table", {}, reports.map((r) => h("tr", {}, h("td", {}, r.week), h("td", {}, r.status),
      h("td", {}, Object.entries(r.files).map(([name, url]) =>
        h("button", { type: "button", onclick: () => download(new URL(url).pathname, `fenghuo-weekly-${r.week}.${name}`) }, name))))))
      : h("p", { class: "muted" }, t("no_reports"))));
}

// A rejected keyword-library change leaves the service on the last good library: say so on every
// page, so that whoever is on duty sees that the change they expect is not in force.
async function showConfigProblems() {
  const box = document.getElementById("config-problems");
  if (!state.token) return;
  let library;
  try { library = await api("/api/v1/keywords"); } catch (_) { return; }  // e.g. no analysis stage here
  const problems = library.last_problems || [];
  box.hidden = problems.length === 0;
  box.replaceChildren(...(problems.length ? [
    h("strong", {}, t("config_rejected").replace("{version}", library.version).replace("{since}", when(library.problems_since))),
    h("ul", {}, problems.map((p) => h("li", {}, p))),
  ] : []));
}

async function route() {
  if (!state.token) return;
  const [, page, id] = location.hash.split("/");
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.getAttribute("href") === `#/${page}`));
  state.onAlert = null;  // the alerts page sets its own when it is shown
  try {
    if (page === "events" && id) await eventView(Number(id));
    else if (page === "outlets") await outletsView();
    else if (page === "keywords") await keywordsView();
    else if (page === "reports") await reportsView();
    else await alertsView();
  } catch (error) { view().replaceChildren(); showError(error); }
  showConfigProblems();
}

document.getElementById("signin-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const error = document.getElementById("signin-error");
  error.textContent = "";
  try { await signIn(document.getElementById("token").value.trim(), document.getElementById("remember").checked); }
  catch (failure) { error.textContent = failure.message; state.token = null; }
});
document.getElementById("signout").addEventListener("click", signOut);
document.getElementById("lang").addEventListener("click", () => {
  state.lang = state.lang === "zh" ? "en" : "zh";
  localStorage.setItem("fenghuo.lang", state.lang);
  translateStatic();
  route();
});
window.addEventListener("hashchange", route);
translateStatic();
const saved = localStorage.getItem("fenghuo.token") || sessionStorage.getItem("fenghuo.token");
if (saved) signIn(saved, Boolean(localStorage.getItem("fenghuo.token"))).catch(() => signOut());
