// app.js -- the operators' page: the zone list (a filtered page, then its changes polled every
// second), overrides, ref.txt editor, and a zone's lux history drawn on request.
// Served by pylight-web itself (no build step, nothing loaded from elsewhere).
"use strict";

const POLL_MS = 1000;
let refEtag = null;
let refEol = "\n";

// A textarea turns every CRLF into LF: a file whose every line ends in CRLF gets them back
// when it is checked or saved, so that saving it unchanged changes no byte.
function eolOf(text) {
  const lf = (text.match(/\n/g) || []).length;
  return lf > 0 && (text.match(/\r\n/g) || []).length === lf ? "\r\n" : "\n";
}

function editorText() {
  const text = document.querySelector("textarea[name=ref]").value;
  return refEol === "\r\n" ? text.replace(/\r?\n/g, "\r\n") : text;
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c);
  return e;
}

async function api(method, path, body) {
  const opts = { method, headers: {} };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(path, opts);
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  return { status: res.status, data };
}

// "line N: message" for each error of a 4xx/5xx answer.
function errorLines(data) {
  if (!data || !Array.isArray(data.errors)) return ["unexpected answer from the server"];
  return data.errors.map(e => (e.line ? `line ${e.line}: ` : "") + e.message);
}

function fmt(v) {
  return v === null || v === undefined ? "–" : String(v);
}

function zoneDetails(z) {
  const parts = [];
  if (z.lux !== undefined) parts.push(`lux ${fmt(z.lux)}`);
  if (z.smoothed !== undefined) parts.push(`smoothed ${fmt(z.smoothed)}`);
  if (z.target_lux !== undefined)
    parts.push(`level ${fmt(z.level)} % (daylight ${fmt(z.daylight)}, target ${fmt(z.target_lux)})`);
  if (z.lamp !== undefined) parts.push(`lamp ${fmt(z.lamp)}` +
    (z.confirmed === false ? " (unconfirmed)" : ""));
  if (z.schedule !== undefined) parts.push(z.schedule ? "in schedule" : "outside schedule");
  if (z.occupied !== undefined) parts.push(z.occupied ? "occupied" : "vacant");
  if (z.sensors) {
    const s = Object.entries(z.sensors).map(([name, v]) =>
      `${name} ${fmt(v.lux)}${v.stale ? " (stale)" : ""}`);
    parts.push(`${z.aggregate || "median"} of ${s.join(", ")}`);
  }
  return parts.join(" · ");
}

function zoneNew(name) {
  const on = el("input", { name: "on_below", type: "text", inputMode: "decimal", size: 6 });
  const off = el("input", { name: "off_above", type: "text", inputMode: "decimal", size: 6 });
  const dur = el("input", { name: "for", type: "text", size: 5, placeholder: "1h" });
  // A dimmed zone's target: shown only while the zone has one (zoneUpdate).
  const target = el("input", { name: "target_lux", type: "text", inputMode: "decimal", size: 6 });
  const targetLabel = el("label", { class: "target" }, " target_lux ", target);
  targetLabel.hidden = true;
  for (const i of [on, off, target]) i.addEventListener("input", () => { i.dataset.dirty = "1"; });
  const hours = el("input", { name: "hours", type: "text", inputMode: "numeric", size: 3,
                              value: "24" });
  const err = el("div", { class: "error" });
  err.hidden = true;
  const box = el("div", { class: "zone", "data-zone": name },
    el("div", { class: "head" },
      el("span", { class: "name" }, name === "" ? "(default zone)" : name),
      el("span", { class: "state" }), el("span", { class: "mode" })),
    el("div", { class: "reason muted" }),
    el("div", { class: "details muted" }),
    el("div", { class: "controls" },
      el("label", {}, "on_below ", on), el("label", {}, " off_above ", off), targetLabel,
      el("button", { type: "button", className: "set" }, "Set"),
      el("span", { class: "sep" }),
      el("button", { type: "button", className: "ovr" }, "ON"),
      el("button", { type: "button", className: "ovr" }, "OFF"),
      el("label", {}, " for ", dur),
      el("button", { type: "button", className: "ovr" }, "AUTO"),
      el("span", { class: "sep" }),
      el("button", { type: "button", className: "hist" }, "History"),
      el("label", {}, " last ", hours, " h")),
    err,
    el("div", { class: "plot" }));
  box.querySelector("button.set").addEventListener("click", () => setThresholds(box, name));
  for (const b of box.querySelectorAll("button.ovr"))
    b.addEventListener("click", () => override(box, name, b.textContent));
  box.querySelector("button.hist").addEventListener("click", () => showHistory(box, name));
  return box;
}

function showError(box, lines) {
  const err = box.querySelector(".error");
  err.textContent = lines.join("\n");
  err.hidden = lines.length === 0;
}

function zoneUpdate(box, z) {
  box.pylightZone = z; // the thresholds in force, for the plot
  const state = box.querySelector(".state");
  state.textContent = fmt(z.state);
  state.className = "state " + (z.state ? z.state.toLowerCase() : "none");
  box.querySelector(".mode").textContent = fmt(z.mode);
  box.querySelector(".reason").textContent = z.reason || "";
  box.querySelector(".details").textContent = zoneDetails(z);
  box.querySelector("label.target").hidden = z.target_lux === undefined;
  for (const key of ["on_below", "off_above", "target_lux"]) {
    const input = box.querySelector(`input[name=${key}]`);
    if (document.activeElement !== input && !input.dataset.dirty)
      input.value = fmt(z[key]) === "–" ? "" : String(z[key]);
  }
}

// --- the zone list: one page of the filtered zones, then only what changed (deltas) --------

// What the list shows: the filter, the page, and the token of the last answer.
const view = { q: "", state: "", mode: "", offset: 0, limit: 200, total: 0, token: null,
               gen: 0, shown: new Map() };

function viewQuery(extra) {
  const p = new URLSearchParams();
  if (view.q) p.set("q", view.q);
  if (view.state) p.set("state", view.state);
  if (view.mode) p.set("mode", view.mode);
  for (const [k, v] of Object.entries(extra)) p.set(k, String(v));
  return "/api/zones?" + p.toString();
}

// The boxes of `zones` in this order; boxes kept are moved only where needed (focus stays).
function showZones(zones) {
  const list = document.getElementById("zones");
  const shown = new Map();
  let cursor = list.firstChild;
  for (const z of zones) {
    const box = view.shown.get(z.zone) || zoneNew(z.zone);
    zoneUpdate(box, z);
    shown.set(z.zone, box);
    if (box === cursor) cursor = cursor.nextSibling;
    else list.insertBefore(box, cursor);
  }
  while (cursor) {
    const next = cursor.nextSibling;
    cursor.remove();
    cursor = next;
  }
  view.shown = shown;
}

function showCounts(counts) {
  const part = (o) => Object.entries(o).map(([k, n]) =>
    `${k === "null" ? "none" : k} ${n.toLocaleString()}`).join(" · ");
  document.getElementById("counts").textContent =
    `state: ${part(counts.state)} — mode: ${part(counts.mode)}`;
}

function showRange() {
  const first = view.total ? view.offset + 1 : 0;
  const last = Math.min(view.offset + view.shown.size, view.total);
  document.getElementById("range").textContent =
    `${first.toLocaleString()}–${last.toLocaleString()} of ${view.total.toLocaleString()}`;
  document.getElementById("prev").disabled = view.offset === 0;
  document.getElementById("next").disabled = view.offset + view.limit >= view.total;
  document.getElementById("conn").textContent =
    `${view.total} zone${view.total === 1 ? "" : "s"}, updated ${new Date().toLocaleTimeString()}`;
}

function showAnswer(data) {
  view.token = data.token;
  view.total = data.total;
  showCounts(data.counts);
  showRange();
  document.getElementById("zones-error").hidden = true;
}

// The whole page again: at start, on a new filter or page, or when a delta cannot say.
async function loadPage() {
  const gen = ++view.gen;
  const { status, data } = await api("GET",
    viewQuery({ page: 1, offset: view.offset, limit: view.limit }));
  if (gen !== view.gen) return;
  if (status !== 200) throw new Error(errorLines(data).join("; "));
  if (data.zones.length === 0 && view.offset > 0 && data.total > 0) {
    view.offset = Math.max(0, Math.floor((data.total - 1) / view.limit) * view.limit);
    return loadPage();
  }
  showZones(data.zones);
  showAnswer(data);
  // For whoever measures the page (its tests): the frame after a new page of zones is drawn.
  requestAnimationFrame(() => setTimeout(() => {
    performance.clearMarks("pylight-page-shown");
    performance.mark("pylight-page-shown");
  }));
}

// What changed since the last answer: shown zones updated in place; the page is asked for
// again only when its set of zones may differ (a zone came or went, or the token is gone).
async function loadDelta() {
  const gen = view.gen;
  const { status, data } = await api("GET", viewQuery({ since: view.token, limit: 1000 }));
  if (gen !== view.gen) return;
  if (status === 410) return loadPage();
  if (status !== 200) throw new Error(errorLines(data).join("; "));
  const names = [...view.shown.keys()];
  const first = names[0], last = names[names.length - 1];
  let again = data.total !== view.total || data.removed.some(n => view.shown.has(n));
  for (const z of data.zones) {
    const box = view.shown.get(z.zone);
    if (box) zoneUpdate(box, z);
    else if (view.shown.size < view.limit || (z.zone >= first && z.zone <= last)) again = true;
  }
  if (again) return loadPage();
  showAnswer(data);
}

async function poll() {
  try {
    if (view.token === null) await loadPage();
    else await loadDelta();
  } catch (e) {
    const err = document.getElementById("zones-error");
    err.textContent = `cannot load the zones: ${e.message}`;
    err.hidden = false;
  }
  setTimeout(poll, POLL_MS);
}

// A new filter or page: shown at once (the poll goes on with its token).
function viewChange(change) {
  // the token was of the old view: until the new page comes, the poll asks for it too
  Object.assign(view, change, { token: null });
  loadPage().catch(e => {
    const err = document.getElementById("zones-error");
    err.textContent = `cannot load the zones: ${e.message}`;
    err.hidden = false;
  });
}

function viewControls() {
  const q = document.querySelector("#filter input[name=q]");
  let typing = null;
  q.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => viewChange({ q: q.value, offset: 0 }), 150);
  });
  for (const key of ["state", "mode"]) {
    const sel = document.querySelector(`#filter select[name=${key}]`);
    sel.addEventListener("change", () => viewChange({ [key]: sel.value, offset: 0 }));
  }
  document.getElementById("prev").addEventListener("click", () =>
    viewChange({ offset: Math.max(0, view.offset - view.limit) }));
  document.getElementById("next").addEventListener("click", () =>
    viewChange({ offset: view.offset + view.limit }));
}

// --- the history plot: SVG drawn here, nothing loaded from elsewhere ---------------------

const SVG_NS = "http://www.w3.org/2000/svg";
const PLOT = { width: 720, height: 220, left: 48, right: 40, top: 10, bottom: 24 };

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

// Where each ON period starts and ends (Unix seconds), within [t0, t1]: from the orders,
// the light of the minutes before the first one telling how it began.
function onPeriods(h, t0, t1) {
  const periods = [];
  const first = h.orders.length ? h.orders[0].t : Infinity;
  // a minute's light is the one at its end: only minutes ended by the first order count
  const before = h.minutes.filter(m => m.t + 60 <= first && m.light !== null);
  let on = before.length ? before[before.length - 1].light === "ON" :
    h.orders.length ? h.orders[0].order === "OFF" : false;
  let from = t0;
  for (const o of h.orders) {
    const now = o.order === "ON";
    if (now && !on) from = o.t;
    if (!now && on) periods.push([Math.max(from, t0), o.t]);
    on = now;
  }
  if (on) periods.push([Math.max(from, t0), t1]);
  return periods.filter(([a, b]) => b > a);
}

// The drawing: ON periods shaded, the min..max band, the mean, on_below and off_above as in
// force now, and a dimmed zone's level (0..100 % on the right-hand scale). The scales are on
// the svg's data-* attributes, so that a reader (or a test) can turn points back into rows.
function drawHistory(h, z, hours) {
  const P = PLOT, w = P.width - P.left - P.right, hgt = P.height - P.top - P.bottom;
  const lastT = Math.max(...h.minutes.map(m => m.t + 60), ...h.orders.map(o => o.t), 0);
  const t1 = lastT || Date.now() / 1000, t0 = t1 - hours * 3600;
  const lux = [...h.minutes.map(m => m.max), z.on_below || 0, z.off_above || 0];
  const ymax = Math.max(1, ...lux.filter(v => typeof v === "number")) * 1.1;
  const x = t => P.left + (t - t0) / (t1 - t0) * w;
  const y = v => P.top + hgt - v / ymax * hgt;
  const yl = v => P.top + hgt - v / 100 * hgt;
  const r = n => Math.round(n * 100) / 100;
  const s = svg("svg", { class: "history", viewBox: `0 0 ${P.width} ${P.height}`,
    width: P.width, height: P.height, "data-t0": t0, "data-t1": t1, "data-ymax": ymax,
    "data-left": P.left, "data-top": P.top, "data-plot-width": w, "data-plot-height": hgt,
    role: "img", "aria-label": `lux of the last ${hours} h` });
  s.append(svg("rect", { class: "frame", x: P.left, y: P.top, width: w, height: hgt }));
  for (const [a, b] of onPeriods(h, t0, t1))
    s.append(svg("rect", { class: "on", x: r(x(a)), y: P.top, width: r(x(b) - x(a)),
      height: hgt, "data-from": a, "data-to": b }));
  const ms = h.minutes.filter(m => m.t + 60 > t0);
  if (ms.length) {
    const top = ms.map(m => `${r(x(m.t + 30))},${r(y(m.max))}`);
    const bottom = ms.slice().reverse().map(m => `${r(x(m.t + 30))},${r(y(m.min))}`);
    s.append(svg("polygon", { class: "band", points: top.concat(bottom).join(" ") }));
    s.append(svg("polyline", { class: "mean",
      points: ms.map(m => `${r(x(m.t + 30))},${r(y(m.mean))}`).join(" ") }));
    const lv = ms.filter(m => m.level !== null && m.level !== undefined);
    if (lv.length)
      s.append(svg("polyline", { class: "level",
        points: lv.map(m => `${r(x(m.t + 30))},${r(yl(m.level))}`).join(" ") }));
  }
  for (const key of ["on_below", "off_above"]) {
    if (typeof z[key] !== "number") continue;
    s.append(svg("line", { class: key.replace("_", "-"), x1: P.left, x2: P.left + w,
      y1: r(y(z[key])), y2: r(y(z[key])), "data-value": z[key] }));
    s.append(svg("text", { class: "label", x: P.left + w + 4, y: r(y(z[key])) + 4 },
      `${key === "on_below" ? "on" : "off"} ${z[key]}`));
  }
  const time = t => new Date(t * 1000).toLocaleTimeString([], { hour: "2-digit",
    minute: "2-digit" });
  s.append(svg("text", { class: "label", x: 2, y: P.top + 10 }, `${Math.round(ymax)} lx`));
  s.append(svg("text", { class: "label", x: 2, y: P.top + hgt }, "0"));
  s.append(svg("text", { class: "label", x: P.left, y: P.height - 6 }, time(t0)));
  s.append(svg("text", { class: "label", x: P.left + w, y: P.height - 6,
    "text-anchor": "end" }, time(t1)));
  return s;
}

async function showHistory(box, name) {
  const plot = box.querySelector(".plot");
  const hours = box.querySelector("input[name=hours]").value.trim() || "24";
  const { status, data } = await api("GET",
    `/api/zones/history?zone=${encodeURIComponent(name)}&hours=${encodeURIComponent(hours)}`);
  if (status !== 200) {
    showError(box, errorLines(data));
    return;
  }
  showError(box, []);
  const note = data.minutes.length ? "" : "no readings recorded in these hours";
  plot.replaceChildren(drawHistory(data, box.pylightZone || {}, Number(hours)),
    el("div", { class: "muted" }, note));
}

async function setThresholds(box, name) {
  const body = { zone: name };
  // The values the operator changed, so that inherited ones are not copied into the section.
  const keys = ["on_below", "off_above", "target_lux"]
    .filter(key => !box.querySelector(`input[name=${key}]`).closest("label").hidden);
  const dirty = keys.filter(key => box.querySelector(`input[name=${key}]`).dataset.dirty);
  for (const key of dirty.length ? dirty : keys) {
    const v = box.querySelector(`input[name=${key}]`).value.trim();
    if (v !== "") body[key] = Number.isNaN(Number(v)) ? v : Number(v);
  }
  const { status, data } = await api("POST", "/api/zones/thresholds", body);
  if (status === 200) {
    for (const i of box.querySelectorAll("input[data-dirty]")) delete i.dataset.dirty;
    showError(box, []);
    loadRef(false);
  } else {
    showError(box, errorLines(data));
  }
}

async function override(box, name, mode) {
  const body = { zone: name, mode };
  const dur = box.querySelector("input[name=for]").value.trim();
  if (dur && mode !== "AUTO") body.for = dur;
  const { status, data } = await api("POST", "/api/zones/override", body);
  showError(box, status === 202 ? [] : errorLines(data));
}

function refErrors(lines) {
  const ul = document.getElementById("ref-errors");
  ul.replaceChildren(...lines.map(l => el("li", { class: "error" }, l)));
  ul.hidden = lines.length === 0;
}

function refStatus(text) {
  document.getElementById("ref-status").textContent = text;
}

// Loads ref.txt into the editor; with `force` false, only when the text is not being edited.
async function loadRef(force) {
  const area = document.querySelector("textarea[name=ref]");
  if (!force && area.dataset.dirty) return;
  const { status, data } = await api("GET", "/api/ref");
  if (status !== 200) {
    refErrors(errorLines(data));
    return;
  }
  area.value = data.text;
  refEtag = data.etag;
  refEol = eolOf(data.text);
  delete area.dataset.dirty;
  refErrors([]);
  refStatus(`loaded (etag ${data.etag})`);
}

async function checkRef() {
  const { status, data } = await api("POST", "/api/ref/check", { text: editorText() });
  if (status === 200) {
    refErrors([]);
    refStatus("the text is valid");
  } else {
    refErrors(errorLines(data));
    refStatus("");
  }
}

async function saveRef() {
  const area = document.querySelector("textarea[name=ref]");
  const { status, data } = await api("PUT", "/api/ref", { text: editorText(), etag: refEtag });
  if (status === 200) {
    refEtag = data.etag;
    delete area.dataset.dirty;
    refErrors([]);
    refStatus(`saved (etag ${data.etag}); pylightd reloads it now`);
  } else if (status === 409) {
    refErrors(["Someone else changed ref.txt since you loaded it: your text was not saved. " +
      "Copy your changes, press Reload, and make them again."]);
    refStatus("");
  } else {
    refErrors(errorLines(data));
    refStatus("not saved");
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const area = document.querySelector("textarea[name=ref]");
  area.addEventListener("input", () => { area.dataset.dirty = "1"; });
  document.getElementById("check").addEventListener("click", checkRef);
  document.getElementById("save").addEventListener("click", saveRef);
  document.getElementById("reload").addEventListener("click", () => loadRef(true));
  viewControls();
  loadRef(true);
  poll();
});
