// AgentK dashboard: plain JavaScript on the public REST API (no build step, no network beyond this server).
"use strict";

const $ = (sel) => document.querySelector(sel);
const TERMINAL = new Set(["SUCCEEDED", "FAILED", "CANCELLED"]);
const PAGE = 20;
const SVG = "http://www.w3.org/2000/svg";

const ui = { offset: 0, runsTimer: null, runTimer: null, stream: null, runId: null, competitionsLoaded: false };

// -- API access -------------------------------------------------------------------------------------------

function token() { return localStorage.getItem("agentk.token") || ""; }

async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401) {
    $("#token-form").hidden = false;
    throw new Error("this server needs an API token: enter it at the top right");
  }
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const message = body && body.message ? body.message + (body.hint ? ` (${body.hint})` : "") : response.statusText;
    throw new Error(message);
  }
  return body;
}

function showError(message) {
  const box = $("#error");
  box.textContent = message || "";
  box.hidden = !message;
}

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = String(text);
  return node;
}

const fmt = (x, digits = 5) => (x === null || x === undefined ? "–" : Number(x).toFixed(digits));
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "–");

// -- header -----------------------------------------------------------------------------------------------

async function checkHealth() {
  const pill = $("#health");
  try {
    const response = await fetch("/ready");
    const body = await response.json();
    pill.textContent = response.ok ? "ready" : "not ready";
    pill.className = `pill ${response.ok ? "ok" : "bad"}`;
    pill.title = Object.entries(body.checks || {}).map(([k, v]) => `${k}: ${v}`).join("\n");
  } catch (e) {
    pill.textContent = "offline";
    pill.className = "pill bad";
  }
}

$("#token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  localStorage.setItem("agentk.token", $("#token").value.trim());
  $("#token-form").hidden = true;
  showError("");
  route();
});

// -- runs list and new-run form ---------------------------------------------------------------------------

async function loadCompetitions() {
  if (ui.competitionsLoaded) return;
  const page = await api("/api/competitions?limit=500");
  const select = $("#competition");
  select.replaceChildren();
  for (const c of page.items) {
    const label = `${c.id} — ${c.title}${c.metric ? ` (${c.metric})` : ""}`;
    select.append(el("option", { value: c.id }, label));
  }
  ui.competitionsLoaded = true;
}

function placementText(run) {
  return run.rank ? `${run.rank} / ${run.teams}` : "–";
}

async function loadRuns() {
  const state = $("#state-filter").value;
  const query = new URLSearchParams({ limit: PAGE, offset: ui.offset });
  if (state) query.set("state", state);
  const page = await api(`/api/runs?${query}`);
  const body = $("#runs-table tbody");
  body.replaceChildren();
  for (const run of page.items) {
    const row = el("tr", { "data-run": run.id });
    const link = el("a", { href: `#/runs/${run.id}` }, run.id);
    const cells = [
      link, run.competition, null, fmt(run.cv_score), fmt(run.test_score), placementText(run),
      run.beats_pct === null ? "–" : `${run.beats_pct.toFixed(1)}%`, run.medal || "–", when(run.created_at),
    ];
    cells.forEach((value, i) => {
      const td = el("td");
      if (i === 2) td.append(el("span", { class: `state ${run.state}` }, run.state));
      else if (value instanceof Node) td.append(value);
      else td.textContent = value;
      row.append(td);
    });
    body.append(row);
  }
  const last = Math.min(page.offset + page.items.length, page.total);
  $("#page-info").textContent = page.total ? `${page.offset + 1}–${last} of ${page.total}` : "no runs yet";
  $("#prev-page").disabled = page.offset === 0;
  $("#next-page").disabled = last >= page.total;
}

$("#state-filter").addEventListener("change", () => { ui.offset = 0; loadRuns().catch((e) => showError(e.message)); });
$("#prev-page").addEventListener("click", () => { ui.offset = Math.max(0, ui.offset - PAGE); loadRuns(); });
$("#next-page").addEventListener("click", () => { ui.offset += PAGE; loadRuns(); });

$("#new-run-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = $("#submit-run");
  button.disabled = true;
  try {
    const ref = $("#competition-ref").value.trim() || $("#competition").value;
    const run = await api("/api/runs", {
      method: "POST",
      body: JSON.stringify({ competition: ref, budget: Number($("#budget").value), folds: Number($("#folds").value) }),
    });
    showError("");
    location.hash = `#/runs/${run.id}`;
  } catch (e) {
    showError(e.message);
  } finally {
    button.disabled = false;
  }
});

async function showRuns() {
  $("#view-run").hidden = true;
  $("#view-runs").hidden = false;
  try {
    await loadCompetitions();
    await loadRuns();
  } catch (e) {
    showError(e.message);
  }
  ui.runsTimer = setInterval(() => loadRuns().catch(() => {}), 3000);
}

// -- one run ----------------------------------------------------------------------------------------------

const runView = { run: null, events: [], phases: new Map(), cv: [], memory: [], leaderboard: null, lastSeq: 0 };

function resetRunView() {
  Object.assign(runView, { run: null, events: [], phases: new Map(), cv: [], memory: [], leaderboard: null, lastSeq: 0 });
  for (const id of ["#log", "#artifacts", "#timeline", "#cv-chart", "#lb-chart", "#memory"]) $(id).replaceChildren();
  for (const id of ["#cv-score", "#final-score", "#placement", "#percentile", "#medal"]) $(id).textContent = "–";
  $("#run-error").hidden = true;
  $("#lb-name").textContent = "";
  renderMemory();
}

function renderRun(run) {
  runView.run = run;
  $("#run-id").textContent = run.id;
  const badge = $("#run-state");
  badge.textContent = run.state;
  badge.className = `state ${run.state}`;
  const opts = run.options || {};
  $("#run-meta").textContent =
    `${run.competition} · budget ${run.budget}s · ${opts.folds || "?"} folds · attempt ${run.attempts}` +
    ` · created ${when(run.created_at)}` + (run.finished_at ? ` · finished ${when(run.finished_at)}` : "");
  $("#cancel-run").hidden = !(run.state === "QUEUED" || run.state === "RUNNING") || run.cancel_requested;
  if (run.cv_score !== null) $("#cv-score").textContent = fmt(run.cv_score);
  if (run.test_score !== null) $("#final-score").textContent = fmt(run.test_score);
  if (run.rank) $("#placement").textContent = `${run.rank} of ${run.teams}`;
  if (run.beats_pct !== null) $("#percentile").textContent = `${run.beats_pct.toFixed(1)}%`;
  const medal = $("#medal");
  medal.textContent = run.state === "SUCCEEDED" && run.test_score !== null ? (run.medal || "none") : "–";
  medal.className = `value ${run.medal ? `medal-${run.medal}` : ""}`;
  const error = $("#run-error");
  error.hidden = !run.error || run.state === "SUCCEEDED";
  error.textContent = run.error || "";
  renderLeaderboard();
}

function addEvent(event) {
  if (event.seq <= runView.lastSeq) return; // a reconnect never shows a line twice
  runView.lastSeq = event.seq;
  runView.events.push(event);
  const item = el("li", { class: event.type, "data-seq": event.seq });
  item.append(el("span", { class: "ts" }, event.ts.slice(11, 19)), document.createTextNode(event.message));
  const log = $("#log");
  const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
  log.append(item);
  if (atBottom) log.scrollTop = log.scrollHeight;

  const t = Date.parse(event.ts);
  if (event.phase) {
    const span = runView.phases.get(event.phase) || { start: t, end: t };
    span.end = t;
    runView.phases.set(event.phase, span);
    renderTimeline();
  }
  if (typeof event.data.cv_score === "number") {
    runView.cv.push({ t, score: event.data.cv_score, label: event.data.model || event.type });
    renderCv();
    $("#cv-score").textContent = fmt(event.data.cv_score);
  }
  if (event.type.startsWith("memory") || event.data.memory !== undefined) {
    runView.memory.push(event);
    renderMemory();
  }
  if (event.type === "grade") {
    const p = event.data.placement;
    if (typeof event.data.test_score === "number") $("#final-score").textContent = fmt(event.data.test_score);
    if (p) {
      $("#placement").textContent = `${p.rank} of ${p.teams}`;
      $("#percentile").textContent = `${p.beats_pct.toFixed(1)}%`;
      $("#medal").textContent = p.medal || "none";
    }
  }
}

function renderTimeline() {
  const chart = $("#timeline");
  chart.replaceChildren();
  const spans = [...runView.phases.entries()];
  if (!spans.length) return;
  const t0 = Math.min(...spans.map(([, s]) => s.start));
  const t1 = Math.max(...spans.map(([, s]) => s.end), t0 + 1000);
  const x = (t) => 90 + ((t - t0) / (t1 - t0)) * 450;
  spans.forEach(([name, s], i) => {
    const y = 10 + i * 30;
    chart.append(svg("text", { x: 4, y: y + 14 }, name));
    chart.append(svg("rect", { x: x(s.start), y, width: Math.max(3, x(s.end) - x(s.start)), height: 18, rx: 3,
      fill: ["#2f6fed", "#1f9d55", "#c98a00", "#8a4fd6"][i % 4], "data-phase": name }));
    chart.append(svg("text", { x: x(s.end) + 4, y: y + 14 }, `${((s.end - s.start) / 1000).toFixed(1)}s`));
  });
}

function renderCv() {
  const chart = $("#cv-chart");
  chart.replaceChildren();
  const pts = runView.cv;
  if (!pts.length) return;
  const tMin = pts[0].t, tMax = Math.max(pts[pts.length - 1].t, tMin + 1000);
  let lo = Math.min(...pts.map((p) => p.score)), hi = Math.max(...pts.map((p) => p.score));
  if (hi - lo < 1e-9) { lo -= 0.01; hi += 0.01; }
  const x = (t) => 50 + ((t - tMin) / (tMax - tMin)) * 520;
  const y = (v) => 180 - ((v - lo) / (hi - lo)) * 160;
  chart.append(svg("line", { class: "axis", x1: 50, y1: 180, x2: 570, y2: 180 }));
  chart.append(svg("text", { x: 2, y: 24 }, hi.toFixed(4)), svg("text", { x: 2, y: 184 }, lo.toFixed(4)));
  chart.append(svg("polyline", { class: "line", points: pts.map((p) => `${x(p.t)},${y(p.score)}`).join(" ") }));
  for (const p of pts) {
    const dot = svg("circle", { class: "dot", cx: x(p.t), cy: y(p.score), r: 4 });
    dot.append(svg("title", {}, `${p.label}: ${p.score.toFixed(5)}`));
    const right = x(p.t) > 480;
    chart.append(dot, svg("text", { x: x(p.t) + (right ? -6 : 6), y: y(p.score) - 6, "text-anchor": right ? "end" : "start" }, p.label));
  }
}

function renderMemory() {
  const box = $("#memory");
  box.replaceChildren();
  if (!runView.memory.length) {
    box.append(el("p", { class: "placeholder", id: "memory-placeholder" },
      "Nothing stored in or drawn from long-term memory in this run's events yet. " +
      "Memory events (type memory.*) appear here once the agent uses memory_store."));
    return;
  }
  const list = el("ul");
  for (const e of runView.memory) list.append(el("li", {}, `${e.ts.slice(11, 19)} ${e.type}: ${e.message}`));
  box.append(list);
}

function renderLeaderboard() {
  const chart = $("#lb-chart");
  const lb = runView.leaderboard;
  chart.replaceChildren();
  if (!lb) return;
  const scores = lb.scores;
  const mine = runView.run && runView.run.test_score;
  const all = mine === null || mine === undefined ? scores : [...scores, mine];
  let lo = Math.min(...all), hi = Math.max(...all);
  if (hi - lo < 1e-12) { lo -= 0.5; hi += 0.5; }
  const bins = 20, counts = new Array(bins).fill(0);
  for (const s of scores) counts[Math.min(bins - 1, Math.floor(((s - lo) / (hi - lo)) * bins))] += 1;
  const top = Math.max(...counts);
  const x = (v) => 40 + ((v - lo) / (hi - lo)) * 530;
  const w = 530 / bins;
  counts.forEach((c, i) => {
    const h = (c / top) * 140;
    chart.append(svg("rect", { class: "bar", x: 40 + i * w + 1, y: 170 - h, width: w - 2, height: h }));
  });
  chart.append(svg("line", { class: "axis", x1: 40, y1: 170, x2: 570, y2: 170 }));
  chart.append(svg("text", { x: 40, y: 188 }, lo.toFixed(4)), svg("text", { x: 520, y: 188 }, hi.toFixed(4)));
  chart.append(svg("text", { x: 250, y: 198 }, lb.higher_is_better ? "higher is better →" : "← lower is better"));
  if (mine !== null && mine !== undefined) {
    chart.append(svg("line", { class: "marker", id: "lb-marker", x1: x(mine), y1: 20, x2: x(mine), y2: 170 }));
    chart.append(svg("text", { class: "marker-label", x: Math.min(x(mine) + 4, 500), y: 16 }, `this run ${mine.toFixed(4)}`));
  }
  $("#lb-name").textContent = `(${lb.teams} teams)`;
}

async function loadLeaderboard(run) {
  let slug = run.competition;
  try {
    const result = await api(`/api/runs/${run.id}/artifacts/result.json`);
    if (result.slug) slug = result.slug;
  } catch (e) { /* no result yet: the reference is the slug for built-in and registered competitions */ }
  try {
    runView.leaderboard = await api(`/api/competitions/${encodeURIComponent(slug)}/leaderboard`);
  } catch (e) {
    runView.leaderboard = null;
    $("#lb-name").textContent = "(no leaderboard)";
  }
  renderLeaderboard();
}

async function loadArtifacts(id) {
  const list = $("#artifacts");
  const files = await api(`/api/runs/${id}/artifacts`);
  list.replaceChildren();
  for (const f of files) {
    const link = el("a", { href: "#", "data-path": f.path }, f.path);
    link.addEventListener("click", (event) => { event.preventDefault(); download(id, f.path); });
    const item = el("li");
    item.append(link, document.createTextNode(` (${f.size.toLocaleString()} bytes)`));
    list.append(item);
  }
  if (!files.length) list.append(el("li", { class: "placeholder" }, "nothing yet"));
}

async function download(id, path) {
  const headers = token() ? { Authorization: `Bearer ${token()}` } : {};
  const response = await fetch(`/api/runs/${id}/artifacts/${path}`, { headers });
  if (!response.ok) { showError(`cannot download ${path}`); return; }
  const url = URL.createObjectURL(await response.blob());
  const a = el("a", { href: url, download: path.split("/").pop() });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

async function refreshRun(id) {
  const run = await api(`/api/runs/${id}`);
  if (ui.runId !== id) return run;
  renderRun(run);
  return run;
}

function openStream(id) {
  const query = token() ? `?access_token=${encodeURIComponent(token())}` : "";
  const stream = new EventSource(`/api/runs/${id}/events${query}`);
  ui.stream = stream;
  const status = $("#stream-status");
  stream.onopen = () => { status.textContent = "live"; };
  stream.onmessage = (message) => addEvent(JSON.parse(message.data));
  stream.addEventListener("end", async () => {
    stream.close();
    status.textContent = "run ended";
    const run = await refreshRun(id);
    await loadLeaderboard(run);
    await loadArtifacts(id);
  });
  stream.onerror = () => { status.textContent = stream.readyState === 2 ? "closed" : "reconnecting…"; };
}

async function showRun(id) {
  $("#view-runs").hidden = true;
  $("#view-run").hidden = false;
  resetRunView();
  ui.runId = id;
  try {
    const run = await refreshRun(id);
    openStream(id);
    loadLeaderboard(run);
    loadArtifacts(id);
    ui.runTimer = setInterval(async () => {
      const current = await refreshRun(id).catch(() => null);
      if (current && TERMINAL.has(current.state)) { clearInterval(ui.runTimer); loadArtifacts(id); }
    }, 3000);
  } catch (e) {
    showError(e.message);
  }
}

$("#cancel-run").addEventListener("click", async () => {
  try {
    renderRun(await api(`/api/runs/${ui.runId}/cancel`, { method: "POST" }));
  } catch (e) {
    showError(e.message);
  }
});

// -- routing ----------------------------------------------------------------------------------------------

function route() {
  clearInterval(ui.runsTimer);
  clearInterval(ui.runTimer);
  if (ui.stream) { ui.stream.close(); ui.stream = null; }
  ui.runId = null;
  showError("");
  const match = location.hash.match(/^#\/runs\/([A-Za-z0-9_-]+)$/);
  if (match) showRun(match[1]);
  else showRuns();
}

window.addEventListener("hashchange", route);
checkHealth();
setInterval(checkHealth, 10000);
route();
