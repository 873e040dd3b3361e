/* The batchinfer dashboard: a hash-routed single page over the dashboard JSON API.
   No build step, no CDN. Data is only ever inserted as text (never as HTML). */
"use strict";
const API = new URL("../dashboard/", window.location.href).href;
const KEY_STORAGE = "batchinfer.apiKey";
const PAGE = 100;
let refreshTimer = null;

/* ------------------------------------------------------------------ helpers */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
  }
  return node;
}
function headers() {
  const key = sessionStorage.getItem(KEY_STORAGE);
  return key ? {"Ocp-Apim-Subscription-Key": key} : {};
}
async function call(path, options) {
  const response = await fetch(API + path, {...(options || {}), headers: {...headers(), ...((options || {}).headers || {})}});
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  const body = type.includes("json") ? await response.json() : await response.blob();
  if (!response.ok) {
    const error = (body && body.error) || {message: response.statusText};
    if (response.status === 401) document.getElementById("key-state").textContent = "key needed";
    throw new Error(`${response.status} ${error.code || ""}: ${error.message || ""}`);
  }
  return body;
}
function notice(text) {
  const box = el("div", {}, text);
  document.getElementById("notice").appendChild(box);
  setTimeout(() => box.remove(), 8000);
}
function when(iso) { return iso ? new Date(iso).toLocaleString() : ""; }
function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds < 60) return `${seconds.toFixed(0)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round(seconds % 3600 / 60)} min`;
}
function statusBadge(status) { return el("span", {class: `status status-${status}`, "data-status": status}, status); }
function progressBar(percent) {
  return el("span", {class: "progress-cell"},
    el("span", {class: "progress", role: "progressbar", "aria-valuenow": percent, "aria-valuemin": 0, "aria-valuemax": 100},
      el("span", {style: `width:${Math.max(0, Math.min(100, percent))}%`})),
    el("span", {class: "progress-label"}, `${percent}%`));
}
function jobPath(job) { return `jobs/${encodeURIComponent(job.kind)}/${encodeURIComponent(job.id)}`; }
function setView(...children) {
  const view = document.getElementById("view");
  view.replaceChildren(...children);
  return view;
}
function schedule(fn, ms) { clearTimeout(refreshTimer); refreshTimer = setTimeout(fn, ms); }

/* ------------------------------------------------------------------ actions */
async function cancelJob(job, after) {
  if (!confirm(`Cancel ${job.title || job.kind} ${job.id}? Work done so far is kept.`)) return;
  try { await call(jobPath(job) + ":cancel", {method: "POST"}); notice("Cancel requested."); }
  catch (e) { notice(e.message); }
  after();
}
async function deleteJob(job, after) {
  if (!confirm(`Delete ${job.title || job.kind} ${job.id} and its stored state? This cannot be undone.`)) return;
  try { await call(jobPath(job), {method: "DELETE"}); notice("Deleted."); }
  catch (e) { notice(e.message); }
  after();
}
async function rerunFailed(job) {
  if (!confirm(`Start a new job over the ${job.counts.failed} failed item(s) of ${job.id}?`)) return;
  try {
    const started = await call(jobPath(job) + ":rerun-failed", {method: "POST"});
    location.hash = `#/job/${encodeURIComponent(started.kind)}/${encodeURIComponent(started.id)}`;
  } catch (e) { notice(e.message); }
}
function actionButtons(job, after) {
  const buttons = [];
  if (job.actions.includes("cancel")) buttons.push(el("button", {class: "cancel", onclick: () => cancelJob(job, after)}, "Cancel"));
  if (job.actions.includes("delete")) buttons.push(el("button", {class: "danger delete", onclick: () => deleteJob(job, after)}, "Delete"));
  return buttons;
}

/* ------------------------------------------------------------------ jobs list */
const filters = {status: "", kind: ""};
async function showJobs() {
  const query = new URLSearchParams();
  if (filters.status) query.set("status", filters.status);
  if (filters.kind) query.set("kind", filters.kind);
  let data;
  try { data = await call("jobs?" + query); }
  catch (e) { setView(el("h1", {}, "Jobs"), el("p", {class: "error-text", id: "load-error"}, e.message)); return; }
  const statusSelect = el("select", {id: "filter-status", onchange: e => { filters.status = e.target.value; showJobs(); }},
    el("option", {value: ""}, "all statuses"), data.statuses.map(s => el("option", {value: s, selected: s === filters.status}, s)));
  const kindSelect = el("select", {id: "filter-kind", onchange: e => { filters.kind = e.target.value; showJobs(); }},
    el("option", {value: ""}, "all kinds"), data.kinds.map(k => el("option", {value: k.kind, selected: k.kind === filters.kind}, k.title)));
  const rows = data.jobs.map(job => {
    const c = job.counts;
    return el("tr", {class: "job-row", "data-kind": job.kind, "data-id": job.id, "data-status": job.status},
      el("td", {}, job.title || job.kind),
      el("td", {}, el("a", {href: `#/job/${encodeURIComponent(job.kind)}/${encodeURIComponent(job.id)}`, class: "job-link"}, job.model || "—"),
        el("div", {class: "muted"}, job.id.slice(0, 8))),
      el("td", {}, statusBadge(job.status)),
      el("td", {}, progressBar(job.percentCompleted)),
      el("td", {class: "num succeeded"}, c ? c.succeeded : ""),
      el("td", {class: "num failed"}, c ? c.failed : ""),
      el("td", {class: "num skipped"}, c ? c.skipped : ""),
      el("td", {class: "num total"}, c && c.total !== null ? `${c.total} ${c.unit}` : ""),
      el("td", {}, when(job.createdDateTime)),
      el("td", {}, when(job.lastUpdatedDateTime)),
      el("td", {class: "num"}, duration(job.durationSeconds)),
      el("td", {}, actionButtons(job, showJobs)));
  });
  const table = el("table", {id: "jobs"},
    el("thead", {}, el("tr", {}, ["Kind", "Model", "Status", "Progress", "Succeeded", "Failed", "Skipped", "Total", "Created", "Updated", "Duration", ""].map(h => el("th", {}, h)))),
    el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", {colspan: 12, class: "muted", id: "no-jobs"}, "No jobs yet. Run `make demo` to start one."))));
  setView(el("h1", {}, "Jobs"),
    el("div", {class: "toolbar"}, statusSelect, kindSelect,
      el("span", {class: "muted", id: "refresh-state"}, data.running ? `${data.running} running — refreshing every 2 s` : "nothing running"),
      data.total > data.jobs.length ? el("span", {class: "muted", id: "shown"}, `newest ${data.jobs.length} of ${data.total} shown`) : null,
      el("button", {onclick: showJobs}, "Refresh")),
    table);
  if (data.running) schedule(() => route() === "jobs" && showJobs(), 2000);
}

/* ------------------------------------------------------------------ job detail */
async function showJob(kind, id, state) {
  state = state || {skip: 0, failuresOnly: false};
  let job;
  try { job = await call(`jobs/${encodeURIComponent(kind)}/${encodeURIComponent(id)}`); }
  catch (e) { setView(el("h1", {}, "Job"), el("p", {class: "error-text", id: "load-error"}, e.message)); return; }
  const again = () => showJob(kind, id, state);
  const c = job.counts;
  const cards = el("div", {class: "cards"},
    el("div", {class: "card"}, "Status", el("b", {}, statusBadge(job.status))),
    el("div", {class: "card"}, "Progress", el("b", {}, progressBar(job.percentCompleted))),
    c ? el("div", {class: "card"}, "Succeeded", el("b", {id: "count-succeeded"}, c.succeeded)) : null,
    c ? el("div", {class: "card"}, "Failed", el("b", {id: "count-failed"}, c.failed)) : null,
    c ? el("div", {class: "card"}, "Skipped", el("b", {}, c.skipped)) : null,
    el("div", {class: "card"}, "Duration", el("b", {}, duration(job.durationSeconds))));
  const tools = el("div", {class: "toolbar"}, actionButtons(job, () => location.hash = "#/"),
    job.actions.includes("rerunFailed") ? el("button", {id: "rerun-failed", onclick: () => rerunFailed(job)}, `Rerun ${c.failed} failed item(s)`) : null,
    job.views.includes("series") ? el("a", {href: `#/series/${encodeURIComponent(id)}`, id: "open-series"}, "Open anomaly view") : null);
  const parts = [el("h1", {}, `${job.title}: ${job.model}`), el("p", {class: "muted"}, job.id), tools, cards];
  if (job.error) parts.push(el("p", {class: "error-text", id: "job-error"}, `${job.error.code}: ${job.error.message}`));
  if (job.progress.length > 1) {
    const xs = job.progress.map(p => Date.parse(p.time));
    parts.push(el("h2", {}, "Progress over time"),
      Charts.line({xs, series: [{values: job.progress.map(p => p.percent)}], yRange: [0, 100], height: 140, cls: "progress-chart",
        xLabel: x => new Date(x).toLocaleTimeString()}));
  }
  for (const [name, section] of Object.entries(job.sections || {})) {
    if (name === "training") parts.push(...trainingSection(section));
    else if (section && typeof section === "object") parts.push(el("h2", {}, name), keyValues(section));
  }
  if (job.hasItems) parts.push(await itemsSection(kind, id, state, again));
  setView(...parts);
  if (job.status === "running" || job.status === "notStarted") schedule(() => route() === "job" && again(), 2000);
}
function keyValues(object) {
  return el("dl", {class: "kv"}, Object.entries(object).flatMap(([k, v]) =>
    [el("dt", {}, k), el("dd", {}, v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v))]));
}
async function itemsSection(kind, id, state, again) {
  const query = new URLSearchParams({skip: state.skip, top: PAGE});
  if (state.failuresOnly) query.set("status", "failed");
  const page = await call(`jobs/${encodeURIComponent(kind)}/${encodeURIComponent(id)}/items?${query}`);
  const rows = page.items.map(item => el("tr", {class: "item-row", "data-status": item.status},
    el("td", {class: "num"}, item.index + 1),
    el("td", {}, item.name),
    el("td", {}, statusBadge(item.status)),
    el("td", {}, item.error ? item.error.code + (item.error.innererror ? ` / ${item.error.innererror.code}` : "") : ""),
    el("td", {}, item.error ? item.error.message : ""),
    el("td", {}, item.status === "succeeded" ? el("a", {href: `#/doc/${encodeURIComponent(id)}/${item.index}`, class: "doc-link"}, "view") : "")));
  const last = Math.min(page.total, state.skip + page.items.length);
  return el("section", {id: "items"},
    el("h2", {}, "Items"),
    el("div", {class: "pager"},
      el("label", {}, el("input", {type: "checkbox", id: "failures-only", checked: state.failuresOnly,
        onchange: e => { state.failuresOnly = e.target.checked; state.skip = 0; again(); }}), " failures only"),
      el("button", {id: "page-prev", disabled: state.skip === 0, onclick: () => { state.skip = Math.max(0, state.skip - PAGE); again(); }}, "‹ Previous"),
      el("span", {id: "page-range"}, page.total ? `${state.skip + 1}–${last} of ${page.total}` : "none"),
      el("button", {id: "page-next", disabled: last >= page.total, onclick: () => { state.skip += PAGE; again(); }}, "Next ›")),
    el("table", {id: "item-table"},
      el("thead", {}, el("tr", {}, ["#", "Item", "Status", "Code", "Message", ""].map(h => el("th", {}, h)))),
      el("tbody", {}, rows)));
}
function trainingSection(training) {
  const parts = [el("h2", {}, "Training"), keyValues(Object.fromEntries(Object.entries(training).filter(([k]) => k !== "diagnosticsInfo")))];
  const diag = training.diagnosticsInfo || {};
  const state = diag.modelState || {};
  if ((state.trainLosses || []).length) {
    parts.push(el("h2", {}, "Training diagnostics"), keyValues({
      epochs: (state.epochIds || []).join(", "), trainLosses: (state.trainLosses || []).join(", "),
      validationLosses: (state.validationLosses || []).join(", "), latenciesInSeconds: (state.latenciesInSeconds || []).join(", ")}));
  }
  const variables = diag.variableStates || [];
  if (variables.length) {
    parts.push(el("table", {id: "variable-states"},
      el("thead", {}, el("tr", {}, ["Variable", "Filled NA ratio", "Effective count", "First", "Last"].map(h => el("th", {}, h)))),
      el("tbody", {}, variables.map(v => el("tr", {class: "variable-row"}, el("td", {}, v.variable), el("td", {class: "num"}, v.filledNARatio),
        el("td", {class: "num"}, v.effectiveCount), el("td", {}, v.firstTimestamp || ""), el("td", {}, v.lastTimestamp || ""))))));
    parts.push(el("h3", {}, "Filled-NA ratio per variable"),
      Charts.bars(variables.map(v => ({label: v.variable, value: Number(v.filledNARatio) || 0})), {width: 520}));
  }
  return parts;
}

/* ------------------------------------------------------------------ document view */
async function showDocument(id, index, pageNumber) {
  const base = `jobs/document-analysis/${encodeURIComponent(id)}/views/`;
  let doc;
  try { doc = await call(`${base}document?item=${index}`); }
  catch (e) { setView(el("h1", {}, "Document"), el("p", {class: "error-text", id: "load-error"}, e.message)); return; }
  const pages = doc.analyzeResult.pages;
  const page = pages.find(p => p.pageNumber === pageNumber) || pages[0];
  const header = [el("p", {}, el("a", {href: `#/job/document-analysis/${encodeURIComponent(id)}`}, "‹ back to the job")),
    el("h1", {}, doc.name), el("p", {class: "muted"}, `${pages.length} page(s) · ${doc.result}`)];
  if (!page) { setView(...header, el("p", {}, "The result has no pages.")); return; }
  const pager = el("div", {class: "pager"}, pages.map(p => el("button", {class: "page-button", disabled: p.pageNumber === page.pageNumber,
    onclick: () => showDocument(id, index, p.pageNumber)}, `Page ${p.pageNumber}`)));
  const overlay = Charts.svg("svg", {viewBox: `0 0 ${page.width} ${page.height}`, preserveAspectRatio: "none", id: "overlay"});
  const list = el("ol", {class: "lines", id: "lines"});
  page.lines.forEach((line, i) => {
    const points = [];
    for (let k = 0; k + 1 < line.polygon.length; k += 2) points.push(`${line.polygon[k]},${line.polygon[k + 1]}`);
    const poly = Charts.svg("polygon", {points: points.join(" "), class: "line", "data-line": i}, overlay);
    const title = Charts.svg("title", {}, poly); title.textContent = line.content;
    const item = el("li", {"data-line": i}, line.content);
    item.addEventListener("mouseenter", () => poly.classList.add("hot"));
    item.addEventListener("mouseleave", () => poly.classList.remove("hot"));
    list.appendChild(item);
  });
  const image = el("img", {alt: `page ${page.pageNumber} of ${doc.name}`, id: "page-image"});
  const wrap = el("div", {class: "page-wrap"}, image, overlay);
  setView(...header, pager, el("div", {class: "doc"}, el("div", {}, wrap), el("div", {}, el("h2", {}, `Text (${page.lines.length} lines)`), list)));
  try {
    const blob = await call(`${base}page?item=${index}&page=${page.pageNumber}`);
    image.src = URL.createObjectURL(blob);
  } catch (e) { wrap.appendChild(el("p", {class: "error-text", id: "image-error"}, e.message)); }
}

/* ------------------------------------------------------------------ anomaly view */
async function showSeries(id) {
  let data;
  try { data = await call(`jobs/anomaly-detection/${encodeURIComponent(id)}/views/series`); }
  catch (e) { setView(el("h1", {}, "Anomalies"), el("p", {class: "error-text", id: "load-error"}, e.message)); return; }
  const xs = data.timestamps.map(t => Date.parse(t));
  const at = iso => Date.parse(iso);
  const bucketOf = index => { let lo = 0, hi = data.bucketStarts.length - 1;
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (data.bucketStarts[mid] <= index) lo = mid; else hi = mid - 1; } return lo; };
  const contributors = el("div", {id: "contributors"}, el("p", {class: "muted"}, "Select an anomaly marker to see its top contributors."));
  const select = anomaly => contributors.replaceChildren(
    el("h3", {}, `Anomaly at ${anomaly.timestamp} — severity ${anomaly.severity.toFixed(3)}`),
    Charts.bars(anomaly.contributors.map(c => ({label: c.variable, value: c.contributionScore})), {width: 520}));
  const fmt = x => new Date(x).toISOString().replace(".000Z", "Z");
  const parts = [el("p", {}, el("a", {href: `#/job/anomaly-detection/${encodeURIComponent(id)}`}, "‹ back to the job")),
    el("h1", {}, "Anomalies"),
    el("p", {class: "muted", id: "anomaly-summary"}, `${data.count} timestamps · ${data.anomalies.length} anomalies · status ${data.status}`),
    el("h2", {}, "Severity over time"),
    Charts.line({xs, series: [{values: data.severity, cls: "severity"}], yRange: [0, 1], height: 150, cls: "severity-chart",
      markers: data.anomalies.map(a => ({x: at(a.timestamp), y: a.severity, title: `${a.timestamp} severity ${a.severity.toFixed(3)}`, data: a})),
      onMarker: select, xLabel: fmt}),
    contributors];
  if (data.valuesNote) parts.push(el("p", {class: "muted"}, data.valuesNote));
  if (data.variables.length) parts.push(el("h2", {}, "Variables"));
  for (const variable of data.variables) {
    parts.push(Charts.line({xs, series: [{values: variable.values, label: variable.name}], height: 110, title: variable.name, cls: "variable-chart",
      markers: data.anomalies.filter(a => a.contributors.length && a.contributors[0].variable === variable.name)
        .map(a => ({x: at(a.timestamp), y: variable.values[bucketOf(a.index)], title: `${a.timestamp}: top contributor`, data: a})),
      onMarker: select, xLabel: fmt}));
  }
  setView(...parts);
  if (data.anomalies.length) select(data.anomalies.reduce((a, b) => (b.severity > a.severity ? b : a)));
}

/* ------------------------------------------------------------------ routing */
function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  return parts[0] || "jobs";
}
function render() {
  clearTimeout(refreshTimer);
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (parts[0] === "job" && parts.length >= 3) return showJob(parts[1], parts[2]);
  if (parts[0] === "doc" && parts.length >= 3) return showDocument(parts[1], Number(parts[2]), Number(parts[3] || 1));
  if (parts[0] === "series" && parts.length >= 2) return showSeries(parts[1]);
  return showJobs();
}
document.getElementById("key-form").addEventListener("submit", event => {
  event.preventDefault();
  const input = document.getElementById("api-key");
  if (input.value) sessionStorage.setItem(KEY_STORAGE, input.value); else sessionStorage.removeItem(KEY_STORAGE);
  input.value = "";
  document.getElementById("key-state").textContent = sessionStorage.getItem(KEY_STORAGE) ? "key set for this tab" : "no key";
  render();
});
document.getElementById("key-state").textContent = sessionStorage.getItem(KEY_STORAGE) ? "key set for this tab" : "";
window.addEventListener("hashchange", render);
render();
