// app.js -- the operators' page: the zone list polled every second, overrides, ref.txt editor.
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
  for (const i of [on, off]) i.addEventListener("input", () => { i.dataset.dirty = "1"; });
  const err = el("div", { class: "error" });
  err.hidden = true;
  const box = el("div", { class: "zone", "data-zone": name },
    el("div", { class: "head" },
      el("span", { class: "name" }, name === "" ? "(default zone)" : name),
      el("span", { class: "state" }), el("span", { class: "mode" })),
    el("div", { class: "reason muted" }),
    el("div", { class: "details muted" }),
    el("div", { class: "controls" },
      el("label", {}, "on_below ", on), el("label", {}, " off_above ", off),
      el("button", { type: "button", className: "set" }, "Set"),
      el("span", { class: "sep" }),
      el("button", { type: "button", className: "ovr" }, "ON"),
      el("button", { type: "button", className: "ovr" }, "OFF"),
      el("label", {}, " for ", dur),
      el("button", { type: "button", className: "ovr" }, "AUTO")),
    err);
  box.querySelector("button.set").addEventListener("click", () => setThresholds(box, name));
  for (const b of box.querySelectorAll("button.ovr"))
    b.addEventListener("click", () => override(box, name, b.textContent));
  return box;
}

function showError(box, lines) {
  const err = box.querySelector(".error");
  err.textContent = lines.join("\n");
  err.hidden = lines.length === 0;
}

function zoneUpdate(box, z) {
  const state = box.querySelector(".state");
  state.textContent = fmt(z.state);
  state.className = "state " + (z.state ? z.state.toLowerCase() : "none");
  box.querySelector(".mode").textContent = fmt(z.mode);
  box.querySelector(".reason").textContent = z.reason || "";
  box.querySelector(".details").textContent = zoneDetails(z);
  for (const key of ["on_below", "off_above"]) {
    const input = box.querySelector(`input[name=${key}]`);
    if (document.activeElement !== input && !input.dataset.dirty)
      input.value = fmt(z[key]) === "–" ? "" : String(z[key]);
  }
}

async function poll() {
  const list = document.getElementById("zones");
  const conn = document.getElementById("conn");
  try {
    const { status, data } = await api("GET", "/api/zones");
    if (status !== 200) throw new Error(errorLines(data).join("; "));
    const seen = new Set();
    for (const z of data) {
      seen.add(z.zone);
      let box = [...list.children].find(b => b.dataset.zone === z.zone);
      if (!box) {
        box = zoneNew(z.zone);
        const next = [...list.children].find(b => b.dataset.zone > z.zone);
        list.insertBefore(box, next || null);
      }
      zoneUpdate(box, z);
    }
    for (const b of [...list.children]) if (!seen.has(b.dataset.zone)) b.remove();
    conn.textContent = `${data.length} zone${data.length === 1 ? "" : "s"}, ` +
      `updated ${new Date().toLocaleTimeString()}`;
    document.getElementById("zones-error").hidden = true;
  } catch (e) {
    const err = document.getElementById("zones-error");
    err.textContent = `cannot load the zones: ${e.message}`;
    err.hidden = false;
  }
  setTimeout(poll, POLL_MS);
}

async function setThresholds(box, name) {
  const body = { zone: name };
  for (const key of ["on_below", "off_above"]) {
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
  loadRef(true);
  poll();
});
