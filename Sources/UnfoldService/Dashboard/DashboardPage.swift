/// `GET /admin/ui`: the operator's page, compiled into the binary (no CDN, no build step).
/// It reads the admin API and `/metrics` with the browser's credentials and draws its plots
/// as SVG itself.
enum DashboardPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Unfold</title>
<style>
  :root { --fg: #1d2330; --muted: #667085; --line: #e4e7ec; --accent: #2e5bff; --ok: #1a7f37; --warn: #b35900; --bad: #c4161c; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: #f7f8fa; }
  header { display: flex; align-items: baseline; gap: 16px; padding: 12px 20px; background: #fff; border-bottom: 1px solid var(--line); }
  header h1 { font-size: 18px; margin: 0; }
  header .meta { color: var(--muted); }
  main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 16px; padding: 16px 20px; }
  section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; min-width: 0; }
  section h2 { font-size: 15px; margin: 0 0 8px; }
  .wide { grid-column: 1 / -1; }
  table { width: 100%; border-collapse: collapse; }
  th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
  th { color: var(--muted); font-weight: 500; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .badge { display: inline-block; padding: 0 6px; border-radius: 9px; font-size: 12px; border: 1px solid; }
  .active, .succeeded { color: var(--ok); } .held_back, .running, .queued { color: var(--warn); }
  .rejected, .failed, .interrupted, .cancelled { color: var(--bad); } .available { color: var(--muted); }
  button { font: inherit; padding: 2px 10px; border: 1px solid var(--line); border-radius: 6px; background: #fff; cursor: pointer; }
  button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
  tr.selected { background: #eef2ff; }
  .reason { color: var(--muted); font-size: 12px; max-width: 420px; overflow-wrap: anywhere; }
  .plots { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
  figure { margin: 0; } figcaption { color: var(--muted); font-size: 12px; }
  svg { width: 100%; height: 160px; background: #fbfbfc; border: 1px solid var(--line); border-radius: 4px; }
  .kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; font-size: 13px; }
  .kv dt { color: var(--muted); } .kv dd { margin: 0; overflow-wrap: anywhere; }
  .progress { width: 100px; height: 8px; background: var(--line); border-radius: 4px; overflow: hidden; display: inline-block; vertical-align: middle; }
  .progress > span { display: block; height: 100%; background: var(--accent); }
  pre { white-space: pre-wrap; font-size: 12px; background: #f3f4f6; padding: 6px; border-radius: 4px; max-height: 160px; overflow: auto; margin: 4px 0; }
  form { display: grid; grid-template-columns: max-content 1fr; gap: 6px 10px; align-items: center; }
  input, select, textarea { font: inherit; padding: 3px 6px; border: 1px solid var(--line); border-radius: 4px; width: 100%; }
  textarea { min-height: 48px; }
  .row { display: flex; gap: 8px; align-items: center; }
  .error { color: var(--bad); } .muted { color: var(--muted); }
  .stat { display: inline-block; margin-right: 18px; } .stat b { font-size: 18px; font-variant-numeric: tabular-nums; }
  .scroll { max-height: 460px; overflow: auto; }
  #traffic-plot { height: 90px; }
</style>
</head>
<body>
<header><h1>Unfold</h1><span class="meta" id="build"></span><span class="meta" id="ready"></span><span class="error" id="problem"></span></header>
<main>
  <section class="wide" id="traffic">
    <h2>Traffic</h2>
    <div id="traffic-stats" class="muted">waiting for two scrapes of /metrics…</div>
    <table id="traffic-models"><thead><tr><th>model</th><th class="num">requests/s</th><th class="num">p50 ms</th><th class="num">p99 ms</th><th class="num">popular %</th><th class="num">unknown ids/s</th></tr></thead><tbody></tbody></table>
    <svg id="traffic-plot" viewBox="0 0 600 160" preserveAspectRatio="none" aria-label="requests per second"></svg>
  </section>
  <section id="models">
    <h2>Models</h2>
    <div id="model-list" class="scroll"></div>
  </section>
  <section id="details">
    <h2>Version <span id="details-title" class="muted"></span></h2>
    <div class="plots">
      <figure><svg id="curve" viewBox="0 0 300 160" preserveAspectRatio="none" aria-label="training curve"></svg><figcaption id="curve-caption">training loss per epoch</figcaption></figure>
      <figure><svg id="spectrum" viewBox="0 0 300 160" preserveAspectRatio="none" aria-label="singular values"></svg><figcaption id="spectrum-caption">singular values of the item table</figcaption></figure>
    </div>
    <dl class="kv" id="details-kv"></dl>
  </section>
  <section id="jobs">
    <h2>Jobs</h2>
    <div class="scroll"><table id="job-table"><thead><tr><th>job</th><th>model</th><th>state</th><th>progress</th><th>started</th><th></th></tr></thead><tbody></tbody></table></div>
    <div class="row"><button id="jobs-more">show more</button><span class="muted" id="jobs-count"></span></div>
    <pre id="job-log" hidden></pre>
  </section>
  <section id="retrain">
    <h2>Retrain</h2>
    <form id="retrain-form">
      <label for="rt-model">model</label><select id="rt-model"><option value="">the served model's recipe</option><option>wals</option><option>mf-sgd</option><option>softmax</option><option>item2vec</option></select>
      <label for="rt-name">name</label><input id="rt-name" placeholder="default: the kind">
      <label for="rt-params">params</label><textarea id="rt-params" placeholder='{"factors": 64, "iterations": 15}'></textarea>
      <label for="rt-data">data</label><select id="rt-data"><option value="">the recipe's</option><option value="log">the recipe's plus the interaction log</option></select>
      <label for="rt-holdout">holdout</label><input id="rt-holdout" placeholder="e.g. 0.1 (without a test file)">
      <label for="rt-force">force</label><div class="row"><input id="rt-force" type="checkbox" style="width:auto"><span class="muted">serve it even if the promotion gate would hold it back</span></div>
      <span></span><div class="row"><button class="primary" id="rt-submit" type="submit">Retrain</button><span id="rt-result"></span></div>
    </form>
  </section>
  <section class="wide" id="try">
    <h2>Try it</h2>
    <div class="row"><input id="try-items" placeholder="item ids, comma-separated" style="flex:3"><select id="try-model" style="flex:1"></select><input id="try-k" value="10" style="width:60px"><button class="primary" id="try-go">Recommend</button></div>
    <table id="try-result"><thead><tr><th>#</th><th>id</th><th>title</th><th class="num">score</th></tr></thead><tbody></tbody></table>
    <div id="try-meta" class="muted"></div>
  </section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const state = { selected: null, jobsShown: 50, samples: [], lastScrape: null, models: [] };

function text(s) { return String(s ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c])); }
function fmt(x, digits = 4) { return x === undefined || x === null || Number.isNaN(x) ? "–" : Number(x).toFixed(digits); }

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options, headers: { "Content-Type": "application/json", ...(options.headers || {}) } });
  const body = await response.text();
  let json = null;
  try { json = JSON.parse(body); } catch (_) {}
  if (!response.ok) throw new Error((json && json.error && json.error.message) || `${response.status} ${path}`);
  return json ?? body;
}

function problem(error) { $("problem").textContent = error ? String(error.message || error) : ""; }

// ---- Prometheus text, parsed just enough: name{labels} value.
function parseMetrics(textBody) {
  const out = [];
  for (const line of textBody.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = line.match(/^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$/);
    if (!m) continue;
    const labels = {};
    if (m[3]) for (const pair of m[3].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}
function sum(samples, name, filter = () => true) { return samples.filter((s) => s.name === name && filter(s.labels)).reduce((a, s) => a + s.value, 0); }
function quantile(before, after, name, model, q) {
  const buckets = (samples) => samples.filter((s) => s.name === name + "_bucket" && s.labels.model === model).map((s) => [s.labels.le === "+Inf" ? Infinity : Number(s.labels.le), s.value]);
  const a = buckets(after), b = new Map(buckets(before).map(([le, v]) => [le, v]));
  const delta = a.map(([le, v]) => [le, v - (b.get(le) || 0)]).sort((x, y) => x[0] - y[0]);
  const total = delta.length ? delta[delta.length - 1][1] : 0;
  if (total <= 0) return null;
  for (const [le, v] of delta) if (v >= q * total) return le;
  return null;
}

async function scrape() {
  const body = await api("/metrics");
  const now = performance.now() / 1000, samples = parseMetrics(body);
  const info = samples.find((s) => s.name === "unfold_build_info");
  if (info) $("build").textContent = `version ${info.labels.version} · ${info.labels.commit}`;
  const previous = state.lastScrape;
  state.lastScrape = { time: now, samples };
  if (!previous) return;
  const seconds = Math.max(now - previous.time, 0.001);
  const models = [...new Set(samples.filter((s) => s.name === "unfold_recommendations_total").map((s) => s.labels.model))].sort();
  const rows = models.map((model) => {
    const count = (set, source) => sum(set, "unfold_recommendations_total", (l) => l.model === model && (!source || l.source === source));
    const requests = count(samples) - count(previous.samples), popular = count(samples, "popular") - count(previous.samples, "popular");
    const unknown = sum(samples, "unfold_recommend_unknown_items_total", (l) => l.model === model) - sum(previous.samples, "unfold_recommend_unknown_items_total", (l) => l.model === model);
    const p50 = quantile(previous.samples, samples, "unfold_recommend_duration_seconds", model, 0.5);
    const p99 = quantile(previous.samples, samples, "unfold_recommend_duration_seconds", model, 0.99);
    return { model, rate: requests / seconds, popular: requests > 0 ? 100 * popular / requests : 0, unknown: unknown / seconds, p50, p99 };
  });
  $("traffic-models").tBodies[0].innerHTML = rows.map((r) => `<tr><td>${text(r.model)}</td><td class="num">${fmt(r.rate, 1)}</td><td class="num">${r.p50 === null ? "–" : r.p50 === Infinity ? "&gt;10000" : fmt(r.p50 * 1000, 2)}</td><td class="num">${r.p99 === null ? "–" : r.p99 === Infinity ? "&gt;10000" : fmt(r.p99 * 1000, 2)}</td><td class="num">${fmt(r.popular, 1)}</td><td class="num">${fmt(r.unknown, 1)}</td></tr>`).join("");
  const httpNow = sum(samples, "unfold_http_requests_total"), httpBefore = sum(previous.samples, "unfold_http_requests_total");
  const errorsNow = sum(samples, "unfold_http_requests_total", (l) => l.status === "5xx" || l.status === "4xx"), errorsBefore = sum(previous.samples, "unfold_http_requests_total", (l) => l.status === "5xx" || l.status === "4xx");
  const total = rows.reduce((a, r) => a + r.rate, 0);
  const httpRate = (httpNow - httpBefore) / seconds, errorRate = httpNow > httpBefore ? 100 * (errorsNow - errorsBefore) / (httpNow - httpBefore) : 0;
  $("traffic-stats").innerHTML = `<span class="stat"><b>${fmt(total, 1)}</b> recommendations/s</span>` +
    (httpNow > 0 ? `<span class="stat"><b>${fmt(httpRate, 1)}</b> HTTP requests/s</span><span class="stat"><b>${fmt(errorRate, 2)}%</b> 4xx/5xx</span>` : "");
  state.samples.push(total);
  if (state.samples.length > 120) state.samples.shift();
  drawLine($("traffic-plot"), [state.samples.map((v, i) => [i, v])], 600, 160);
}

// ---- SVG plots.
function drawLine(svg, series, width, height, colors = ["#2e5bff", "#c4161c"]) {
  const points = series.flat();
  if (!points.length) { svg.innerHTML = ""; return; }
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1), y0 = Math.min(0, ...ys), y1 = Math.max(...ys, y0 + 1e-9);
  const px = (x) => 6 + (width - 12) * (x - x0) / (x1 - x0), py = (y) => height - 6 - (height - 12) * (y - y0) / (y1 - y0);
  svg.innerHTML = series.map((s, k) => s.length ? `<path class="series" fill="none" stroke="${colors[k % colors.length]}" stroke-width="1.5" vector-effect="non-scaling-stroke" d="${s.map((p, i) => `${i ? "L" : "M"}${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join("")}"/>` +
    (s.length <= 40 ? s.map((p) => `<circle cx="${px(p[0]).toFixed(1)}" cy="${py(p[1]).toFixed(1)}" r="2.5" fill="${colors[k % colors.length]}"/>`).join("") : "") : "").join("");
}
function drawBars(svg, values, width, height) {
  if (!values.length) { svg.innerHTML = ""; return; }
  const top = Math.max(...values, 1e-9), w = (width - 12) / values.length;
  svg.innerHTML = values.map((v, i) => `<rect x="${(6 + i * w).toFixed(1)}" y="${(height - 6 - (height - 12) * v / top).toFixed(1)}" width="${Math.max(w - 1, 0.5).toFixed(1)}" height="${((height - 12) * v / top).toFixed(1)}" fill="#2e5bff"/>`).join("");
}

// ---- Models and versions.
async function loadModels() {
  const data = await api("/admin/models");
  state.models = data.models;
  $("model-list").innerHTML = data.models.map((m) => `
    <h3 style="font-size:14px;margin:8px 0 4px">${text(m.name)} <span class="muted">active ${m.active_version ?? "none"}</span></h3>
    <table class="versions"><thead><tr><th>version</th><th>state</th><th class="num">ndcg@10</th><th class="num">recall@10</th><th class="num">coverage@10</th><th class="num">folding@10</th><th></th></tr></thead><tbody>
    ${m.versions.map((v) => `<tr data-model="${text(m.name)}" data-version="${v.version}" class="version${state.selected && state.selected.model === m.name && state.selected.version === v.version ? " selected" : ""}">
      <td><a href="#" class="show">${v.version}</a><div class="muted">${text(v.created_at || "")}</div></td>
      <td><span class="badge ${v.state}">${v.state.replace("_", " ")}</span>${v.reason ? `<div class="reason">${text(v.reason)}</div>` : ""}</td>
      <td class="num">${fmt(v.evaluation["ndcg@10"])}</td><td class="num">${fmt(v.evaluation["recall@10"])}</td><td class="num">${fmt(v.evaluation["coverage@10"])}</td><td class="num">${fmt(v.evaluation["folding@10"])}</td>
      <td>${v.state !== "active" && v.state !== "rejected" ? `<button class="activate">activate</button>` : ""}</td></tr>`).join("")}
    </tbody></table>`).join("") || `<p class="muted">no snapshot yet</p>`;
  const select = $("try-model"), current = select.value;
  select.innerHTML = data.models.map((m) => `<option>${text(m.name)}</option>`).join("");
  if (current) select.value = current;
  if (!state.selected && data.models.length && data.models[0].active_version) showVersion(data.models[0].name, data.models[0].active_version);
}

async function showVersion(model, version) {
  state.selected = { model, version };
  document.querySelectorAll("tr.version").forEach((row) => row.classList.toggle("selected", row.dataset.model === model && Number(row.dataset.version) === version));
  const data = await api(`/admin/models/${encodeURIComponent(model)}/versions/${version}`);
  const m = data.metadata;
  $("details-title").textContent = `${model} ${version} (${data.state.replace("_", " ")})`;
  const epochs = m.epochs || [];
  const loss = epochs.map((e) => [e.epoch, e.loss]);
  drawLine($("curve"), [loss], 300, 160);
  const ndcg = epochs.filter((e) => e.ndcg !== undefined && e.ndcg !== null).map((e) => [e.epoch, e.ndcg]);
  $("curve-caption").textContent = epochs.length ? `training loss per epoch (${epochs.length} epochs, last ${fmt(loss[loss.length - 1][1], 4)})${ndcg.length ? `; held-out NDCG@10 last ${fmt(ndcg[ndcg.length - 1][1])}` : ""}` : "no epochs recorded";
  drawBars($("spectrum"), m.item_spectrum || [], 300, 160);
  $("spectrum-caption").textContent = `singular values of the item table (${(m.item_spectrum || []).length}); stable rank items ${fmt(m.stable_rank && m.stable_rank.items, 2)}${m.stable_rank && m.stable_rank.users ? `, users ${fmt(m.stable_rank.users, 2)}` : ""}`;
  const recipe = m.recipe ? `${m.recipe.model} on ${m.recipe.data.path}${m.recipe.data.test ? `, tested on ${m.recipe.data.test}` : m.recipe.data.holdout ? `, holdout ${m.recipe.data.holdout}` : ""}` : "–";
  const rows = [["kind", m.kind], ["solver", m.solver], ["trained", `${fmt(m.training_seconds, 1)} s on ${m.data.interactions} interactions (${m.data.users} users, ${m.data.items} items)`],
    ["evaluation", Object.entries(m.evaluation || {}).map(([k, v]) => `${k} ${fmt(v)}`).join(", ") || "none"], ["recipe", recipe],
    ["hyperparameters", Object.entries(m.hyperparameters || {}).map(([k, v]) => `${k} ${v}`).join(", ")]];
  $("details-kv").innerHTML = rows.map(([k, v]) => `<dt>${text(k)}</dt><dd>${text(v)}</dd>`).join("");
}

$("model-list").addEventListener("click", async (event) => {
  const row = event.target.closest("tr.version");
  if (!row) return;
  event.preventDefault();
  const model = row.dataset.model, version = Number(row.dataset.version);
  try {
    if (event.target.classList.contains("activate")) {
      if (!confirm(`Serve ${model} version ${version} now?`)) return;
      await api(`/admin/models/${encodeURIComponent(model)}/activate`, { method: "POST", body: JSON.stringify({ version }) });
      await loadModels();
    } else {
      await showVersion(model, version);
    }
    problem(null);
  } catch (error) { problem(error); }
});

// ---- Jobs.
async function loadJobs() {
  const data = await api("/admin/jobs");
  const jobs = data.jobs, shown = jobs.slice(0, state.jobsShown);
  $("jobs-count").textContent = `${shown.length} of ${jobs.length}`;
  $("jobs-more").hidden = jobs.length <= shown.length;
  $("job-table").tBodies[0].innerHTML = shown.map((j) => {
    const p = j.progress || {}, ratio = p.epoch && p.epochs ? p.epoch / p.epochs : j.state === "succeeded" ? 1 : 0;
    return `<tr class="job" data-job="${text(j.id)}"><td><a href="#" class="log">${text(j.id.slice(-8))}</a></td><td>${text(j.model)}</td>
      <td><span class="badge ${j.state}">${j.state}</span>${j.error ? `<div class="reason">${text(j.error)}</div>` : ""}</td>
      <td><span class="progress"><span style="width:${(100 * ratio).toFixed(0)}%"></span></span> ${p.epoch ? `${p.epoch}/${p.epochs}` : text(p.phase || "")}</td>
      <td class="muted">${text((j.started_at || j.created_at || "").replace("T", " ").slice(0, 19))}</td>
      <td>${j.state === "running" || j.state === "queued" ? `<button class="cancel">cancel</button>` : ""}</td></tr>`;
  }).join("");
  state.jobs = jobs;
}
$("jobs-more").addEventListener("click", () => { state.jobsShown += 50; loadJobs().catch(problem); });
$("job-table").addEventListener("click", async (event) => {
  const row = event.target.closest("tr.job");
  if (!row) return;
  event.preventDefault();
  const id = row.dataset.job;
  try {
    if (event.target.classList.contains("cancel")) {
      if (!confirm(`Cancel job ${id}?`)) return;
      await api(`/admin/jobs/${encodeURIComponent(id)}`, { method: "DELETE" });
      await loadJobs();
    } else {
      const job = await api(`/admin/jobs/${encodeURIComponent(id)}`);
      const log = $("job-log");
      log.hidden = false;
      log.textContent = [`${job.id}: ${job.state}`, ...(job.notes || []), ...(job.stderr_tail || [])].join("\n");
    }
  } catch (error) { problem(error); }
});

// ---- Retrain.
$("retrain-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = {};
  if ($("rt-model").value) body.model = $("rt-model").value;
  if ($("rt-name").value.trim()) body.name = $("rt-name").value.trim();
  try {
    if ($("rt-params").value.trim()) body.params = JSON.parse($("rt-params").value);
    if ($("rt-data").value === "log") body.data = { source: "log" };
    if ($("rt-holdout").value.trim()) body.holdout = Number($("rt-holdout").value);
    if ($("rt-force").checked) body.force = true;
    if (!confirm(`Start a retrain${body.model ? ` of ${body.model}` : ""}?`)) return;
    const answer = await api("/admin/retrain", { method: "POST", body: JSON.stringify(body) });
    $("rt-result").textContent = `started ${answer.job}${answer.based_on ? ` (recipe of ${answer.based_on})` : ""}`;
    $("rt-result").className = "";
    await loadJobs();
  } catch (error) {
    $("rt-result").textContent = error.message;
    $("rt-result").className = "error";
  }
});

// ---- Try it.
$("try-go").addEventListener("click", async () => {
  const items = $("try-items").value.split(",").map((s) => s.trim()).filter(Boolean).map((item) => ({ item }));
  try {
    const answer = await api("/v1/recommend", { method: "POST", body: JSON.stringify({ interactions: items, k: Number($("try-k").value) || 10, model: $("try-model").value || undefined }) });
    $("try-result").tBodies[0].innerHTML = answer.items.map((it, i) => `<tr><td>${i + 1}</td><td>${text(it.id)}</td><td>${text(it.title || "")}</td><td class="num">${fmt(it.score, 4)}</td></tr>`).join("");
    $("try-meta").textContent = `${answer.model.name} ${answer.model.version}, source ${answer.source}${answer.unknown_items.length ? `, unknown: ${answer.unknown_items.join(", ")}` : ""}`;
    problem(null);
  } catch (error) { problem(error); }
});

async function readiness() {
  const response = await fetch("/readyz");
  $("ready").textContent = response.ok ? "ready" : "not ready";
}

async function tick() {
  try {
    await Promise.all([scrape(), loadJobs(), readiness()]);
    problem(null);
  } catch (error) { problem(error); }
}
loadModels().catch(problem);
tick();
setInterval(tick, 2000);
setInterval(() => loadModels().catch(problem), 5000);
</script>
</body>
</html>
"""#
}
