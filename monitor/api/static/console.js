// Fenghuo duty console: a page over the API, no build step. Every value from the server is put
// in the page as text (never as HTML), and every call carries the signed-in API token.
"use strict";

const LEVELS = ["blue", "yellow", "orange", "red"];
const TEXT = {
  zh: {
    brand: "烽火 · 值班台", nav_alerts: "预警", nav_outlets: "媒体", nav_keywords: "关键词", nav_reports: "报告",
    nav_hotlists: "热搜", hot_ours: "涉我热搜", hot_none_ours: "目前没有涉我条目上榜", hot_no_lists: "还没有热搜榜单（kind: hotlist 的媒体）",
    hot_rank: "排名", hot_title: "话题", hot_heat: "热度", hot_best: "最高", hot_minutes: "在榜", hot_trend: "24小时排名",
    hot_place: "第{n}位", hot_taken: "更新于", hot_rank_axis: "排名（越高越靠上）",
    live_on: "实时", live_off: "未连接", sign_out: "退出", signin_title: "登录", sign_in: "登录",
    signin_help: "用 API 令牌登录（fenghuo token create 名字 --role operator）。", token_placeholder: "API 令牌",
    remember: "在此设备上记住", bad_token: "令牌无效或已吊销", all: "全部", min_level: "最低级别", status: "状态",
    drills: "演练", drills_include: "含演练", drills_hide: "不含演练", drills_only: "只看演练", drill_badge: "演练",
    search: "搜索标题", refresh: "刷新", notify: "开启桌面通知", acknowledge: "确认", assign: "指派", note: "备注",
    resolve: "处置", noise: "误报", event: "事件", alerted: "预警", published: "首发", ack_at: "确认",
    assignee: "负责人", ask_assignee: "指派给谁？", ask_note: "备注内容：", ask_outcome: "处置结果：",
    ask_noise: "为什么是误报？", none: "暂无预警", new: "未确认", acknowledged: "已确认", resolved: "已处置",
    noise_status: "误报", superseded: "已升级", first_source: "首发", items: "信息", outlets: "媒体",
    history: "升级记录", spread: "传播趋势", at: "时间", change: "变化", by: "操作人", why: "原因",
    name: "名称", tier: "层级", health: "状态", last_success: "最近成功", last_error: "最近错误",
    next_fetch: "下次抓取", items_24h: "24小时", healthy: "正常", unhealthy: "异常", groups: "分组", rules: "规则",
    try_title: "试一试：文本与规则", try_button: "检测", title_ph: "标题（可选）", text_ph: "正文",
    hits: "命中", risk: "风险", negative: "负面概率", reasons: "依据", no_hits: "未命中任何规则",
    reports: "周报", week: "周", download: "下载", no_reports: "还没有周报", version: "版本",
    back: "← 返回", failed: "操作失败", open: "进行中", closed: "已平息", escalate: "升级", downgrade: "降级",
    close: "平息", reopen: "重新打开", set_level: "调整级别", anomaly: "声量异常", prehistory: "关联此前热点",
    tier_labels: { central_media: "中央媒体", local_media: "地方媒体", industry_media: "行业媒体", government: "政府网站",
      forum: "论坛社区", social: "社交媒体", self_media: "自媒体" },
    roles: { viewer: "只读", operator: "值班", admin: "管理员" },
    report_status: { building: "生成中", ready: "已生成", failed: "生成失败" },
    file_labels: { pdf: "PDF", html: "网页", xlsx: "Excel", csv: "事件表", "items.csv": "信息表", json: "JSON" },
    per_interval: "每{n}新增信息（条）", minutes: "{n}分钟", hours: "{n}小时", days: "{n}天", hour_one: "小时", day_one: "天", level_marks: "级别变化",
    week_figures: "涉我信息 {items} 条 · 事件 {events} 起 · 预警 {alerts} 次", item_title: "标题", zone: "时区", manual_by: "人工{kind}（{who}）", auto: "系统自动", schedule: "定时任务", tiers_reached: "传播层级", tier_col: "层级",
    documents: "文档", brief: "研判报告", review: "复盘报告", word: "Word", preparing: "正在生成…",
    make_this: "立即生成本周周报", make_last: "立即生成上周周报", needs_operator: "生成周报需要值班员（operator）或管理员令牌",
    making: "正在生成 {week} 周报… 已用 {s} 秒", made: "{week} 周报已生成", requested_by: "发起", finished: "完成", error: "错误",
    config_rejected: "关键词库的修改未生效：服务仍按上一版 {version} 分析（自 {since} 起）。请修正下列问题并保存为 UTF-8，服务会自动重新加载。", level_labels: { blue: "一级（蓝色）", yellow: "二级（黄色）", orange: "三级（橙色）", red: "四级（红色）" },
  },
  en: {
    brand: "Fenghuo · Duty console", nav_alerts: "Alerts", nav_outlets: "Outlets", nav_keywords: "Keywords",
    nav_hotlists: "Hot lists", hot_ours: "Ours on the hot lists", hot_none_ours: "None of ours is on a list now",
    hot_no_lists: "No hot lists yet (outlets of kind: hotlist)", hot_rank: "Rank", hot_title: "Topic", hot_heat: "Heat",
    hot_best: "Best", hot_minutes: "On list", hot_trend: "Rank, 24 h", hot_place: "#{n}", hot_taken: "as of",
    hot_rank_axis: "Rank (top is first)",
    nav_reports: "Reports", live_on: "live", live_off: "offline", sign_out: "Sign out", signin_title: "Sign in",
    sign_in: "Sign in", signin_help: "Sign in with an API token (fenghuo token create NAME --role operator).",
    token_placeholder: "API token", remember: "Remember on this device", bad_token: "Unknown or revoked token",
    all: "all", min_level: "Minimum level", status: "Status", search: "Search titles", refresh: "Refresh",
    drills: "Drills", drills_include: "with drills", drills_hide: "without drills", drills_only: "drills only", drill_badge: "DRILL",
    notify: "Enable desktop notifications", acknowledge: "Acknowledge", assign: "Assign", note: "Note",
    resolve: "Resolve", noise: "Noise", event: "Event", alerted: "alerted", published: "published",
    ack_at: "acknowledged", assignee: "assignee", ask_assignee: "Assign to whom?", ask_note: "Note:",
    ask_outcome: "Outcome:", ask_noise: "Why is it a false alarm?", none: "No alerts", new: "new",
    acknowledged: "acknowledged", resolved: "resolved", noise_status: "noise", superseded: "superseded",
    first_source: "First source", items: "Items", outlets: "Outlets", history: "Escalation history",
    spread: "Spread over time", at: "At", change: "Change", by: "By", why: "Why", name: "Name", tier: "Tier",
    health: "Health", last_success: "Last success", last_error: "Last error", next_fetch: "Next fetch",
    items_24h: "24 h", healthy: "ok", unhealthy: "failing", groups: "Groups", rules: "Rules",
    try_title: "Try a text against the rules", try_button: "Score", title_ph: "Title (optional)", text_ph: "Text",
    hits: "Hits", risk: "Risk", negative: "Negative probability", reasons: "Reasons", no_hits: "No rule matched",
    reports: "Weekly reports", week: "Week", download: "Download", no_reports: "No reports yet", version: "Version",
    back: "← Back", failed: "Action failed", open: "open", closed: "closed", escalate: "escalate",
    downgrade: "downgrade", close: "close", reopen: "reopen", set_level: "Set level", anomaly: "volume anomaly",
    prehistory: "earlier hot story attached",
    tier_labels: { central_media: "Central media", local_media: "Local media", industry_media: "Industry media",
      government: "Government", forum: "Forums", social: "Social media", self_media: "Self-media" },
    roles: { viewer: "viewer", operator: "operator", admin: "admin" },
    report_status: { building: "being made", ready: "ready", failed: "failed" },
    file_labels: { pdf: "PDF", html: "Web page", xlsx: "Excel", csv: "Events CSV", "items.csv": "Items CSV", json: "JSON" },
    per_interval: "New items per {n}", minutes: "{n} min", hours: "{n} h", days: "{n} d", hour_one: "hour", day_one: "day", level_marks: "Level changes",
    week_figures: "{items} items · {events} events · {alerts} alerts", item_title: "Title", zone: "Time zone", manual_by: "{kind} by hand ({who})", auto: "automatic", schedule: "schedule", tiers_reached: "Tiers reached", tier_col: "Tier",
    documents: "Documents", brief: "Event brief", review: "Post-incident review", word: "Word", preparing: "Preparing…",
    make_this: "Make this week's report now", make_last: "Make last week's report now",
    needs_operator: "Making a report needs an operator or admin token", making: "Making the report for {week}… {s} s so far",
    made: "The report for {week} is ready", requested_by: "Requested by", finished: "Finished", error: "Error",
    config_rejected: "A change to the keyword library was rejected: items are still scored with the last good version {version} (since {since}). Fix the problems below and save as UTF-8; it reloads by itself.", level_labels: { blue: "I Blue", yellow: "II Yellow", orange: "III Orange", red: "IV Red" },
  },
};

const state = { lang: localStorage.getItem("fenghuo.lang") || "zh", token: null, me: null, stream: null, zone: undefined, outlets: null };

function t(key) { return TEXT[state.lang][key] ?? key; }
function words(table, key) { return TEXT[state.lang][table][key] ?? key; }  // a known id in words, else the id
function levelLabel(level) { return level ? TEXT[state.lang].level_labels[level] : "—"; }
function statusLabel(status) { return t(status === "noise" ? "noise_status" : status); }
// The grading's reasons start with the level's id ("orange: 媒体报道…"): say the level in words.
function levelReason(text) {
  return (text || "").replace(/^(blue|yellow|orange|red):\s*/, (_, level) => `${levelLabel(level)}: `)
    .replace(/manual (escalate|downgrade|close|reopen) by (.+)$/, (_, kind, who) => fill(t("manual_by"), { kind: t(kind), who }));
}
function tierLabel(tier) { return words("tier_labels", tier); }
function fill(text, values) { return text.replace(/\{(\w+)\}/g, (_, key) => values[key]); }

// -- times: always in the deployment's display zone (GET /api/v1/display), never the browser's ---

function local(ms, options) {
  return new Intl.DateTimeFormat(state.lang === "zh" ? "zh-CN" : "en-GB", { timeZone: state.zone, hourCycle: "h23", ...options }).format(new Date(ms));
}
function when(iso) {
  if (!iso) return "—";
  return local(Date.parse(iso), { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
}
// The display zone's offset from UTC at a moment, in minutes (DST-aware: asked of Intl each time).
function offsetMinutes(ms) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-US", { timeZone: state.zone, hourCycle: "h23", year: "numeric",
    month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" }).formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  const wall = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour % 24, +parts.minute, +parts.second);
  return Math.round((wall - Math.floor(ms / 1000) * 1000) / 60000);
}
function zoneLabel(ms = Date.now()) {
  const minutes = offsetMinutes(ms), sign = minutes < 0 ? "-" : "+", size = Math.abs(minutes);
  return `UTC${sign}${Math.floor(size / 60)}${size % 60 ? `:${String(size % 60).padStart(2, "0")}` : ""}`;
}
// A time as people read it, with its zone; the exact ISO time (with offset) on hover.
function stamp(iso) {
  if (!iso) return "—";
  return h("time", { datetime: iso, title: iso }, `${when(iso)} ${zoneLabel(Date.parse(iso))}`);
}
function zoned(key) { return `${t(key)}（${zoneLabel()}）`; }  // a column header naming the zone

// h("div", {class: "x", onclick: f}, "text", child…): elements with text children only.
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
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
  state.display = await api("/api/v1/display");
  state.zone = state.display.timezone;
  (remember ? localStorage : sessionStorage).setItem("fenghuo.token", token);
  document.getElementById("signin").hidden = true;
  document.getElementById("view").hidden = false;
  document.getElementById("nav").hidden = false;
  document.getElementById("signout").hidden = false;
  showWho();
  if (!location.hash) location.hash = "#/alerts";
  // One live stream for the whole session: orange and red sound on every page.
  startStream((alert) => { announce(alert); if (state.onAlert) state.onAlert(alert); });
  if (!state.problemsTimer) state.problemsTimer = setInterval(showConfigProblems, 30000);
  route();
}

function showWho() {
  const who = document.getElementById("who");
  if (!state.me) { who.textContent = ""; return; }
  who.textContent = `${state.me.name}（${words("roles", state.me.role)}）`;
  who.title = state.me.role;
  const zone = document.getElementById("zone");
  zone.textContent = `${state.zone} ${zoneLabel()}`;
  zone.title = t("zone");
}

function signOut() {
  localStorage.removeItem("fenghuo.token");
  sessionStorage.removeItem("fenghuo.token");
  state.token = null;
  state.me = null;
  state.outlets = null;
  stopStream();
  document.getElementById("signin").hidden = false;
  document.getElementById("view").hidden = true;
  document.getElementById("nav").hidden = true;
  document.getElementById("signout").hidden = true;
  document.getElementById("who").textContent = "";
  document.getElementById("zone").textContent = "";
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
  showWho();
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
      if (response.status === 401) { signOut(); return; }  // revoked or unknown: no retrying for ever
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
          if (event === "revoked") { signOut(); return; }  // the token was revoked while streaming
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

// A drill's story carries this marker in every title (monitor/db/drills.py MARKER), so its alerts
// are told apart without asking the server.
const DRILL_MARKER = "【演练/DRILL】";
const isDrill = (alert) => (alert.title || "").includes(DRILL_MARKER);

function alertCard(alert, fresh = false) {
  const drill = isDrill(alert);
  const card = h("article", { class: `alert${fresh ? " fresh" : ""}${drill ? " drill" : ""}`, dataset: { id: alert.id, level: alert.level, status: alert.status } });
  card.alert = alert;
  const open = alert.status === "new" || alert.status === "acknowledged";
  const button = (action, key) => h("button", { type: "button", dataset: { action }, onclick: () => act(alert, action, card) }, t(key));
  card.append(
    h("div", { class: `bar level-${alert.level}` }),
    h("div", { class: "body" },
      h("div", {}, badge(alert.level), " ", h("span", { class: "status" }, statusLabel(alert.status)),
        drill ? h("span", { class: "drill-badge" }, " ", t("drill_badge")) : null),
      h("div", { class: "title" }, h("a", { href: `#/events/${alert.event_id}` }, alert.title)),
      h("div", { class: "meta" },
        h("span", {}, `${t("alerted")} `, stamp(alert.alerted_at)),
        h("span", {}, `${t("published")} `, stamp(alert.published_at)),
        alert.acknowledged_at ? h("span", {}, `${t("ack_at")} `, stamp(alert.acknowledged_at)) : null,
        alert.assignee ? h("span", {}, `${t("assignee")} ${alert.assignee}`) : null),
      h("div", { class: "meta", title: alert.reason }, levelReason(alert.reason)),
      open && state.me?.role !== "viewer" ? h("div", { class: "actions" },
        alert.status === "new" ? button("acknowledge", "acknowledge") : null,
        button("assign", "assign"), button("notes", "note"), button("resolve", "resolve"), button("noise", "noise")) : null));
  return card;
}

async function alertsView() {
  // Drills' alerts are shown by default here (the API hides them unless asked): during a drill
  // the duty officer acknowledges its alert from this page, and the drill times that.
  const filters = { min_level: sessionStorage.getItem("f.min_level") || "", status: sessionStorage.getItem("f.status") || "",
    drills: sessionStorage.getItem("f.drills") || "include", q: "" };
  const list = h("div", { id: "alerts" });
  const select = (name, options) => h("select", { name, onchange: (e) => { filters[name] = e.target.value; sessionStorage.setItem(`f.${name}`, e.target.value); load(); } },
    options.map(([value, label]) => h("option", { value, selected: filters[name] === value }, label)));
  const matches = (alert) => LEVELS.indexOf(alert.level) >= LEVELS.indexOf(filters.min_level || "blue")
    && (!filters.status || alert.status === filters.status)
    && (filters.drills === "include" || (filters.drills === "only") === isDrill(alert));
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
      h("label", {}, `${t("drills")} `, select("drills", ["include", "hide", "only"].map((d) => [d, t(`drills_${d}`)]))),
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

// 传播趋势: new items per interval, stacked by tier, over the story's own span (5 minutes a bar
// for a story under an hour old, up to a day a bar for one older than three days), with every
// level change marked where it happened. Built from the event's spread_path and history.
const TIER_ORDER = ["forum", "social", "self_media", "industry_media", "local_media", "government", "central_media"];
const TIER_COLOURS = { forum: "#8c6bb1", social: "#e7298a", self_media: "#f4a259", industry_media: "#66a61e",
  local_media: "#2f6fb5", government: "#1b9e77", central_media: "#c0221f" };
const LEVEL_COLOURS = { blue: "#2f6fb5", yellow: "#d9a800", orange: "#e0711b", red: "#c0221f" };
const MINUTE = 60000, HOUR = 60 * MINUTE, DAY = 24 * HOUR;

function bucketSize(span) {
  for (const [limit, size] of [[HOUR, 5 * MINUTE], [3 * HOUR, 15 * MINUTE], [12 * HOUR, HOUR], [3 * DAY, 3 * HOUR]]) {
    if (span <= limit) return size;
  }
  return DAY;
}

function intervalWords(size) {
  if (size === DAY) return t("day_one");
  if (size === HOUR) return t("hour_one");
  if (size >= DAY) return fill(t("days"), { n: size / DAY });
  if (size >= HOUR) return fill(t("hours"), { n: size / HOUR });
  return fill(t("minutes"), { n: size / MINUTE });
}

function svgNode(tag, attrs = {}, text = null) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== null) node.textContent = text;
  return node;
}

function spreadChart(event) {
  const width = 640, height = 220, left = 34, right = 14, top = 26, bottom = 36;
  const svg = svgNode("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", id: "spread-chart" });
  const path = event.spread_path || [];
  if (!path.length) return svg;
  // a volume anomaly keeps the level: a reason in the log, not a level change on the chart
  const marks = event.history.filter((e) => e.to_level && e.kind !== "anomaly").map((e) => ({ ...e, ms: Date.parse(e.at) }));
  const times = path.map((p) => Date.parse(p.at));
  const start = Math.min(...times), end = Math.max(...times, ...marks.map((m) => m.ms));
  const size = bucketSize(end - start);
  // Bars begin on the display zone's round times (a day's bar starts at local midnight).
  const shift = offsetMinutes(start) * MINUTE;
  const first = Math.floor((start + shift) / size) * size - shift;
  const count = Math.floor((end - first) / size) + 1;
  const last = first + count * size;
  const buckets = Array.from({ length: count }, () => ({}));
  path.forEach((p, i) => {
    const bucket = buckets[Math.min(count - 1, Math.floor((times[i] - first) / size))];
    bucket[p.tier] = (bucket[p.tier] || 0) + 1;
  });
  const most = Math.max(...buckets.map((b) => Object.values(b).reduce((sum, n) => sum + n, 0)), 1);
  const plotWidth = width - left - right, plotHeight = height - top - bottom;
  const x = (ms) => left + ((ms - first) / (last - first)) * plotWidth;
  const y = (n) => top + plotHeight - (n / most) * plotHeight;
  Object.assign(svg.dataset, { start: new Date(first).toISOString(), end: new Date(last).toISOString(),
    intervalMinutes: String(size / MINUTE), bars: String(count) });

  svg.append(svgNode("line", { x1: left, y1: top + plotHeight, x2: width - right, y2: top + plotHeight, stroke: "#999" }));
  svg.append(svgNode("text", { x: left - 4, y: top + 4, "font-size": 11, "text-anchor": "end" }, most));
  svg.append(svgNode("text", { x: left - 4, y: top + plotHeight, "font-size": 11, "text-anchor": "end" }, 0));
  svg.append(svgNode("text", { x: left, y: 14, "font-size": 12 }, fill(t("per_interval"), { n: intervalWords(size) })));
  svg.append(svgNode("text", { x: width - right, y: 14, "font-size": 12, "text-anchor": "end" }, `${t("zone")} ${state.zone} ${zoneLabel(start)}`));
  const barWidth = plotWidth / count;
  const tiers = [...TIER_ORDER, ...new Set(path.map((p) => p.tier).filter((tier) => !TIER_ORDER.includes(tier)))];
  buckets.forEach((bucket, i) => {
    let stacked = 0;
    for (const tier of tiers) {
      const n = bucket[tier];
      if (!n) continue;
      const rect = svgNode("rect", { x: x(first + i * size) + Math.min(1, barWidth / 8), y: y(stacked + n),
        width: Math.max(1, barWidth - Math.min(2, barWidth / 4)), height: y(stacked) - y(stacked + n), fill: TIER_COLOURS[tier] || "#999",
        "data-tier": tier, "data-items": n });
      rect.append(svgNode("title", {}, `${local(first + i * size, { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" })} · ${tierLabel(tier)} ${n}`));
      svg.append(rect);
      stacked += n;
    }
  });
  // Time ticks: about five, on bar boundaries; the date only where a day's bars need it.
  const spansDays = local(first, { day: "2-digit" }) !== local(last - 1, { day: "2-digit" });
  const tickFormat = size >= DAY ? { month: "2-digit", day: "2-digit" }
    : spansDays ? { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" } : { hour: "2-digit", minute: "2-digit" };
  const step = Math.max(1, Math.ceil(count / 4));
  for (let i = 0; i <= count; i += step) {
    if (i !== count && count - i < step / 2) continue;  // leave room for the end's label
    const at = first + i * size;
    svg.append(svgNode("line", { x1: x(at), y1: top + plotHeight, x2: x(at), y2: top + plotHeight + 4, stroke: "#999" }));
    svg.append(svgNode("text", { x: x(at), y: height - 18, "font-size": 11, "text-anchor": i === 0 ? "start" : i === count ? "end" : "middle",
      class: "tick" }, local(at, tickFormat)));
  }
  if (count % step) {
    svg.append(svgNode("text", { x: x(last), y: height - 18, "font-size": 11, "text-anchor": "end", class: "tick" }, local(last, tickFormat)));
  }
  for (const mark of marks) {  // each level change where it happened, in its level's colour
    const colour = LEVEL_COLOURS[mark.to_level] || "#333";
    const group = svgNode("g", { class: "level-mark", "data-level": mark.to_level, "data-kind": mark.kind });
    group.append(svgNode("line", { x1: x(mark.ms), y1: top - 4, x2: x(mark.ms), y2: top + plotHeight, stroke: colour, "stroke-width": 2, "stroke-dasharray": "4 3" }));
    group.append(svgNode("circle", { cx: x(mark.ms), cy: top - 4, r: 5, fill: colour }));
    group.append(svgNode("title", {}, `${t(mark.kind)} → ${levelLabel(mark.to_level)} · ${when(mark.at)} ${zoneLabel(mark.ms)} · ${mark.actor === "auto" ? t("auto") : mark.actor}`));
    svg.append(group);
  }
  return svg;
}

function chartLegend(event) {
  const present = new Set((event.spread_path || []).map((p) => p.tier));
  const swatch = (colour, round) => {
    const svg = svgNode("svg", { viewBox: "0 0 10 10", class: "swatch" });
    svg.append(round ? svgNode("circle", { cx: 5, cy: 5, r: 4, fill: colour }) : svgNode("rect", { width: 10, height: 10, fill: colour }));
    return svg;
  };
  return h("div", { class: "legend", id: "spread-legend" },
    [...TIER_ORDER, ...[...present].filter((tier) => !TIER_ORDER.includes(tier))].filter((tier) => present.has(tier))
      .map((tier) => h("span", { title: tier, dataset: { tier } }, swatch(TIER_COLOURS[tier] || "#999"), tierLabel(tier))),
    event.history.some((e) => e.to_level) ? h("span", {}, swatch(LEVEL_COLOURS.red, true), t("level_marks")) : null);
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

// Outlet names by id, read once per sign-in: people read "江城日报", not "local-daily".
async function outletNames() {
  if (!state.outlets) {
    try { state.outlets = Object.fromEntries((await api("/api/v1/outlets")).map((o) => [o.id, o])); }
    catch (_) { return {}; }
  }
  return state.outlets;
}

function outletName(names, id) { return h("span", { class: "outlet", title: id, dataset: { id } }, names[id]?.name || id); }
function tierName(tier) { return h("span", { title: tier, dataset: { tier } }, tierLabel(tier)); }

// Files behind the token (a plain link would carry no Authorization header): fetch, then save the blob.
async function saveFile(path, fallback, button) {
  const label = button?.textContent;
  if (button) { button.disabled = true; button.textContent = t("preparing"); }
  try {
    const response = await api(path);
    const name = /filename="([^"]+)"/.exec(response.headers.get("content-disposition") || "")?.[1] || fallback;
    const url = URL.createObjectURL(await response.blob());
    const link = h("a", { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (error) { showError(error); }
  finally { if (button) { button.disabled = false; button.textContent = label; } }
}

function documentButtons(event) {
  const button = (kind, format, label) => h("button", { type: "button", dataset: { document: kind, format },
    onclick: (e) => saveFile(`/api/v1/events/${event.id}/${kind}?format=${format}`, `event-${event.id}-${kind}.${format}`, e.currentTarget) }, label);
  return h("div", { class: "actions", id: "documents" },
    button("brief", "docx", `${t("brief")} · ${t("word")}`), button("brief", "pdf", `${t("brief")} · PDF`),
    button("review", "docx", `${t("review")} · ${t("word")}`), button("review", "pdf", `${t("review")} · PDF`));
}

async function eventView(id) {
  const [event, names] = await Promise.all([api(`/api/v1/events/${id}`), outletNames()]);
  const origin = event.origin || { outlet_id: event.first_outlet_id, at: event.first_at, tier: null };
  view().replaceChildren(
    h("p", {}, h("a", { href: "#/alerts" }, t("back"))),
    h("section", { class: "card" },
      h("div", {}, event.level ? badge(event.level) : "—", " ", h("span", { class: "status", title: event.status }, t(event.status))),
      h("h2", {}, event.title),
      h("p", { class: "meta", id: "first-source" }, h("span", {}, `${t("first_source")}: `, outletName(names, origin.outlet_id),
        origin.tier ? ["（", tierName(origin.tier), "）"] : null, " · ", stamp(origin.at), ` · ${t("items")} ${event.item_count}`)),
      event.metrics?.hotlist_text ? h("p", { class: "meta", id: "event-hotlist" }, "🔥 ",
        h("a", { href: "#/hotlists" }, event.metrics.hotlist_text)) : null,
      event.tiers_reached?.length ? h("p", { class: "meta", id: "tiers-reached" }, h("span", {}, `${t("tiers_reached")}: `,
        event.tiers_reached.map((r, i) => [i ? " → " : "", tierName(r.tier), ` ${when(r.at)}`]))) : null,
      h("h3", {}, t("spread")), spreadChart(event), chartLegend(event),
      h("h3", {}, t("documents")), documentButtons(event)),
    h("section", { class: "card" }, h("h3", {}, t("history")),
      state.me?.role !== "viewer" ? levelForm(event) : null,
      h("div", { class: "table-wrap" }, h("table", { id: "history" },
        h("tr", {}, h("th", {}, zoned("at")), h("th", {}, t("change")), h("th", {}, t("by")), h("th", {}, t("why"))),
        event.history.map((e) => h("tr", {}, h("td", { title: e.at }, when(e.at)),
          h("td", {}, `${t(e.kind)}: ${levelLabel(e.from_level)} → ${levelLabel(e.to_level)}`),
          h("td", { title: e.actor }, e.actor === "auto" ? t("auto") : e.actor), h("td", { title: e.reason }, levelReason(e.reason))))))),
    h("section", { class: "card" }, h("h3", {}, t("items")),
      h("div", { class: "table-wrap" }, h("table", { id: "event-items" },
        h("tr", {}, h("th", {}, zoned("at")), h("th", {}, t("name")), h("th", {}, t("tier_col")), h("th", {}, t("item_title"))),
        event.items.map((item) => h("tr", {}, h("td", { title: item.first_seen_at }, when(item.first_seen_at)),
          h("td", {}, outletName(names, item.outlet_id)),
          h("td", {}, names[item.outlet_id] ? tierName(names[item.outlet_id].tier) : "—"),
          h("td", {}, h("a", { href: item.url, target: "_blank", rel: "noopener noreferrer" }, item.title))))))));
  // its keyword groups' volume over their baseline band (trends.js), below the event's own cards
  const volume = window.eventVolume ? await window.eventVolume(id) : null;
  if (volume) view().insertBefore(volume, view().children[2] || null);
}

async function outletsView() {
  const outlets = await api("/api/v1/outlets");
  state.outlets = Object.fromEntries(outlets.map((o) => [o.id, o]));
  const column = (k) => ["last_success", "next_fetch"].includes(k) ? zoned(k) : t(k);
  view().replaceChildren(h("div", { class: "table-wrap" }, h("table", { id: "outlets" },
    h("tr", {}, ...["name", "tier", "health", "last_success", "last_error", "next_fetch", "items_24h"].map((k) => h("th", {}, column(k)))),
    outlets.map((o) => h("tr", { dataset: { id: o.id } },
      h("td", { title: o.id }, o.name), h("td", {}, tierName(o.tier)),
      h("td", { class: o.healthy ? "ok" : "bad", title: o.last_status || "" }, t(o.healthy ? "healthy" : "unhealthy")),
      h("td", { title: o.last_success_at || "" }, when(o.last_success_at)), h("td", {}, o.last_error || "—"),
      h("td", { title: o.next_fetch_at || "" }, when(o.next_fetch_at)),
      h("td", {}, o.items_24h ?? "—"))))));
}

async function keywordsView() {
  const library = await api("/api/v1/keywords");
  const groups = Object.fromEntries(library.groups.map((g) => [g.id, g.name]));
  const rules = Object.fromEntries(library.rules.map((r) => [r.id, r.description || r.id]));
  const title = h("input", { class: "wide", id: "try-title", placeholder: t("title_ph") });
  const text = h("textarea", { id: "try-text", placeholder: t("text_ph") });
  const result = h("div", { id: "try-result" });
  async function score() {
    try {
      const scored = await api("/api/v1/keywords/try", { method: "POST", body: JSON.stringify({ title: title.value, text: text.value }) });
      result.replaceChildren(
        h("p", {}, `${t("risk")}: `, h("strong", {}, scored.risk), ` · ${t("negative")}: ${scored.negative_prob}`),
        scored.hits.length ? h("ul", {}, scored.hits.map((hit) => h("li", {},
          h("span", { title: hit.group, dataset: { group: hit.group } }, groups[hit.group] || hit.group), " / ",
          h("span", { title: hit.rule }, rules[hit.rule] || hit.rule), `: ${hit.terms.join("、")}`)))
          : h("p", { class: "muted" }, t("no_hits")),
        h("ul", { class: "muted" }, scored.reasons.map((r) => h("li", {}, Object.values(r).join(" · ")))));
    } catch (error) { showError(error); }
  }
  view().replaceChildren(
    h("section", { class: "card" }, h("h3", {}, t("try_title")), title, text,
      h("button", { type: "button", class: "primary", id: "try-button", onclick: score }, t("try_button")), result),
    h("section", { class: "card" }, h("p", { class: "muted" }, `${t("version")} ${library.version}`),
      h("h3", {}, t("groups")),
      h("div", { class: "table-wrap" }, h("table", {}, library.groups.map((g) => h("tr", {}, h("td", { title: g.id }, g.name), h("td", {}, g.terms.join("、")))))),
      h("h3", {}, t("rules")),
      h("div", { class: "table-wrap" }, h("table", {}, library.rules.map((r) => h("tr", {}, h("td", { title: r.id }, r.description || r.id), h("td", { title: r.group }, groups[r.group] || r.group), h("td", {}, h("code", {}, r.expression))))))));
}

// ISO week → its Monday to Sunday, e.g. 11-16–11-22 (calendar dates: no zone involved).
function weekDays(week) {
  const [year, number] = week.split("-W").map(Number);
  const jan4 = Date.UTC(year, 0, 4);
  const monday = jan4 - ((new Date(jan4).getUTCDay() + 6) % 7) * DAY + (number - 1) * 7 * DAY;
  const day = (ms) => new Intl.DateTimeFormat("en-CA", { timeZone: "UTC", month: "2-digit", day: "2-digit" }).format(new Date(ms));
  return `${day(monday)} – ${day(monday + 6 * DAY)}`;
}

const FILE_ORDER = ["pdf", "xlsx", "html", "csv", "items.csv", "json"];  // what people open first, first

// A ready week's headline numbers under its name: an empty week reads as empty before it is opened.
function weekFigures(week) {
  const line = h("div", { class: "muted figures" });
  api(`/api/v1/reports/${week}`).then((figures) => {
    const o = figures.overview;
    line.textContent = fill(t("week_figures"), { items: o.relevant_items, events: o.events, alerts: o.alerts });
  }).catch(() => {});
  return line;
}

// -- hot lists: each list as it stands, our entries highlighted, rank over the last 24 h ----------

function rankChart(entries, { width = 640, height = 200, compact = false } = {}) {
  // Rank 1 at the top: climbing the list reads as going up.
  const left = compact ? 2 : 30, right = compact ? 2 : 10, top = compact ? 2 : 10, bottom = compact ? 2 : 24;
  const svg = svgNode("svg", { viewBox: `0 0 ${width} ${height}`, class: compact ? "spark" : "chart rank-chart", role: "img" });
  const points = entries.flatMap((e) => e.history.map((p) => ({ ms: Date.parse(p.at), rank: p.rank })));
  if (!points.length) return svg;
  const start = Math.min(...points.map((p) => p.ms)), end = Math.max(...points.map((p) => p.ms), start + MINUTE);
  const worst = Math.max(10, ...points.map((p) => p.rank));
  const x = (ms) => left + ((ms - start) / (end - start)) * (width - left - right);
  const y = (rank) => top + ((rank - 1) / (worst - 1)) * (height - top - bottom);
  if (!compact) {
    svg.append(svgNode("text", { x: left - 4, y: top + 4, "font-size": 11, "text-anchor": "end" }, 1));
    svg.append(svgNode("text", { x: left - 4, y: height - bottom, "font-size": 11, "text-anchor": "end" }, worst));
    svg.append(svgNode("text", { x: left, y: height - 6, "font-size": 11 }, `${when(new Date(start).toISOString())}`));
    svg.append(svgNode("text", { x: width - right, y: height - 6, "font-size": 11, "text-anchor": "end" },
      `${when(new Date(end).toISOString())} ${zoneLabel(end)}`));
  }
  for (const entry of entries) {
    const colour = LEVEL_COLOURS[entry.event_level] || (entry.event_id ? "#c0221f" : "#999");
    const line = entry.history.map((p) => `${x(Date.parse(p.at)).toFixed(1)},${y(p.rank).toFixed(1)}`).join(" ");
    const group = svgNode("g", { class: "rank-line", "data-title": entry.title });
    group.append(svgNode("polyline", { points: line, fill: "none", stroke: colour, "stroke-width": compact ? 1.5 : 2 }));
    for (const p of compact ? entry.history.slice(-1) : entry.history) {
      const dot = svgNode("circle", { cx: x(Date.parse(p.at)), cy: y(p.rank), r: compact ? 1.5 : 3, fill: colour, "data-rank": p.rank });
      dot.append(svgNode("title", {}, `${entry.title} · ${fill(t("hot_place"), { n: p.rank })} · ${when(p.at)}`));
      group.append(dot);
    }
    svg.append(group);
  }
  return svg;
}

async function hotlistsView() {
  const lists = await api("/api/v1/hotlists?hours=24");
  const ours = lists.flatMap((list) => list.entries.filter((e) => e.event_id).map((e) => ({ ...e, list: list.name })));
  const minutes = (n) => fill(t(n >= 60 ? "hours" : "minutes"), { n: n >= 60 ? (n / 60).toFixed(1) : Math.round(n) });
  const eventLink = (e) => h("a", { href: `#/events/${e.event_id}` }, e.title);
  view().replaceChildren(
    h("section", { class: "card", id: "hot-ours" }, h("h3", {}, t("hot_ours")),
      ours.length ? [
        h("ul", { class: "hot-ours" }, ours.map((e) => h("li", { dataset: { event: e.event_id } },
          e.event_level ? badge(e.event_level) : null, " ", `${e.list}${fill(t("hot_place"), { n: e.rank })} · `,
          eventLink(e), h("span", { class: "muted" }, ` · ${t("hot_best")} ${fill(t("hot_place"), { n: e.best_rank })} · ${t("hot_minutes")} ${minutes(e.minutes_on_list)}`)))),
        h("p", { class: "muted" }, t("hot_rank_axis")), rankChart(ours),
      ] : h("p", { class: "muted" }, t("hot_none_ours"))),
    ...(lists.length ? lists.map((list) => h("section", { class: "card hotlist", dataset: { outlet: list.outlet_id } },
      h("h3", {}, list.name, " ", h("span", { class: "muted" }, t("hot_taken"), " ", stamp(list.taken_at))),
      h("div", { class: "table-wrap" }, h("table", {},
        h("tr", {}, ["hot_rank", "hot_title", "hot_heat", "hot_best", "hot_minutes", "hot_trend"].map((k) => h("th", {}, t(k)))),
        list.entries.map((e) => h("tr", { class: e.event_id ? "ours" : null, dataset: { rank: e.rank, event: e.event_id ?? "" } },
          h("td", {}, e.rank),
          h("td", {}, e.event_id ? [e.event_level ? badge(e.event_level) : null, " ", eventLink(e)]
            : h("a", { href: e.url, target: "_blank", rel: "noopener noreferrer" }, e.title)),
          h("td", {}, e.heat == null ? "—" : Math.round(e.heat).toLocaleString()),
          h("td", {}, e.best_rank), h("td", {}, minutes(e.minutes_on_list)),
          h("td", {}, rankChart([e], { width: 120, height: 28, compact: true })))))))
    ) : [h("section", { class: "card" }, h("p", { class: "muted" }, t("hot_no_lists")))]));
}

async function reportsView() {
  const [reports, display] = await Promise.all([api("/api/v1/reports"), api("/api/v1/display")]);
  // Operators and admins make this and last week's report (POST /api/v1/reports/{week}/make);
  // viewers see the buttons disabled, with why on hover, rather than a 403 after clicking.
  const canMake = ["operator", "admin"].includes(state.me?.role);
  const table = h("div", { class: "table-wrap" });
  const progress = h("p", { id: "make-progress", role: "status", "aria-live": "polite" });
  const fileButton = (r, name) => h("button", { type: "button", title: name, dataset: { file: name },
    onclick: (e) => saveFile(new URL(r.files[name]).pathname, `fenghuo-weekly-${r.week}.${name}`, e.currentTarget) }, words("file_labels", name));
  const show = (list) => table.replaceChildren(list.length ? h("table", { id: "reports" },
    h("tr", {}, h("th", {}, t("week")), h("th", {}, t("status")), h("th", {}, t("requested_by")), h("th", {}, zoned("finished")), h("th", {}, t("download"))),
    list.map((r) => h("tr", { dataset: { week: r.week, status: r.status } },
      h("td", {}, h("strong", {}, r.week), h("div", { class: "muted" }, weekDays(r.week)),
        r.status === "ready" ? weekFigures(r.week) : null),
      h("td", { title: r.status, class: r.status === "failed" ? "bad" : r.status === "ready" ? "ok" : "" }, words("report_status", r.status),
        r.error ? h("div", { class: "muted" }, r.error) : null),
      h("td", { title: r.requested_by || "" }, r.requested_by === "schedule" ? t("schedule") : r.requested_by || "—"),
      h("td", { title: r.finished_at || "" }, when(r.finished_at)),
      h("td", {}, h("div", { class: "actions" }, Object.keys(r.files).sort((x, y) => FILE_ORDER.indexOf(x) - FILE_ORDER.indexOf(y)).map((name) => fileButton(r, name)))))))
    : h("p", { class: "muted" }, t("no_reports")));
  const buttons = [["make_this", display.this_week], ["make_last", display.last_week]].map(([key, week]) =>
    h("button", { type: "button", class: "primary", dataset: { make: week.week }, disabled: !canMake,
      title: canMake ? `${week.week} · ${weekDays(week.week)}` : t("needs_operator"), onclick: () => make(week.week) }, `${t(key)}（${week.week}）`));
  async function make(week) {
    buttons.forEach((b) => { b.disabled = true; });
    const started = Date.now();
    const bar = h("progress", {});
    const tick = () => progress.replaceChildren(bar, " ", fill(t("making"), { week, s: Math.round((Date.now() - started) / 1000) }));
    tick();
    const timer = setInterval(tick, 1000);
    // The list shows the week as 生成中 while it is made (a row the server stores first).
    const poll = setInterval(async () => { try { show(await api("/api/v1/reports")); } catch (_) {} }, 1500);
    try {
      await api(`/api/v1/reports/${week}/make`, { method: "POST" });
      progress.replaceChildren(h("span", { class: "ok" }, fill(t("made"), { week })));
      progress.dataset.done = week;
    } catch (error) {
      progress.replaceChildren(h("span", { class: "error" }, `${t("failed")}: ${error.message}`));
    } finally {
      clearInterval(timer);
      clearInterval(poll);
      buttons.forEach((b) => { b.disabled = false; });
      try { show(await api("/api/v1/reports")); } catch (_) {}
    }
  }
  show(reports);
  view().replaceChildren(h("section", { class: "card" }, h("h3", {}, t("reports")),
    h("div", { class: "actions", id: "make-report" }, buttons, canMake ? null : h("span", { class: "muted" }, t("needs_operator"))),
    progress, table));
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
    h("strong", {}, fill(t("config_rejected"), { version: library.version, since: `${when(library.problems_since)} ${zoneLabel()}` })),
    h("ul", {}, problems.map((p) => h("li", {}, p))),
  ] : []));
}

async function route() {
  if (!state.token) return;
  const [, page, id, ...rest] = location.hash.split("/");
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.getAttribute("href") === `#/${page}`));
  state.onAlert = null;  // the alerts page sets its own when it is shown
  try {
    if (page === "events" && id) await eventView(Number(id));
    else if (page === "outlets") await outletsView();
    else if (page === "keywords") await keywordsView();
    else if (page === "reports") await reportsView();
    else if (page === "hotlists") await hotlistsView();
    else if (window.FENGHUO_VIEWS?.[page]) await window.FENGHUO_VIEWS[page](id, ...rest);  // trends.js
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
