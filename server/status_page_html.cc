// The status page: plain HTML, CSS and a little JavaScript, no build step.
// It polls /api/status (status_page.h) every second and redraws; every
// string from the server goes in through textContent, never as markup.
#include "server/status_page.h"

namespace vms {

const char* StatusPage::Html() {
  return R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vms status</title>
<style>
  :root { --fg: #1d2330; --muted: #6b7385; --line: #e3e6ec; --ok: #1f8a4c; --warn: #b7791f;
          --bad: #c53030; --accent: #2b6cb0; --bg: #f7f8fa; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
         color: var(--fg); background: var(--bg); }
  header { display: flex; align-items: baseline; gap: 1.5em; padding: 14px 24px;
           background: #1d2330; color: #fff; }
  header h1 { margin: 0; font-size: 20px; letter-spacing: .02em; }
  header .meta { color: #b8c0d0; font-size: 13px; }
  header .dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%;
                background: var(--ok); margin-right: 6px; }
  header .dot.down { background: var(--bad); }
  main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 18px;
         padding: 18px 24px; }
  section { background: #fff; border: 1px solid var(--line); border-radius: 8px;
            padding: 12px 16px; min-width: 0; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted);
       margin: 0 0 8px; }
  table { width: 100%; border-collapse: collapse; }
  th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line);
           vertical-align: top; }
  th { font-weight: 600; color: var(--muted); font-size: 12px; }
  td.num { font-variant-numeric: tabular-nums; }
  .ok { color: var(--ok); } .warn { color: var(--warn); } .bad { color: var(--bad); }
  .muted { color: var(--muted); }
  .chip { display: inline-block; padding: 1px 7px; margin: 1px 3px 1px 0; border-radius: 10px;
          font-size: 12px; background: #edf2f7; white-space: nowrap; }
  .chip.ok { background: #e6f4ea; } .chip.warn { background: #fdf3e1; }
  .chip.bad { background: #fde8e8; }
  .bar { display: inline-block; width: 70px; height: 6px; background: var(--line);
         border-radius: 3px; vertical-align: middle; margin-left: 4px; overflow: hidden; }
  .bar > span { display: block; height: 100%; background: var(--accent); }
  ul.tree, ul.tree ul { list-style: none; margin: 0; padding-left: 18px; }
  ul.tree { padding-left: 0; }
  ul.tree li { position: relative; padding: 2px 0; }
  ul.tree ul li::before { content: ""; position: absolute; left: -12px; top: 0; height: 13px;
                          width: 9px; border-left: 1px solid #c3c9d4;
                          border-bottom: 1px solid #c3c9d4; }
  .item { margin-bottom: 10px; }
  .item .title { font-weight: 600; }
  #error { display: none; margin: 12px 24px 0; padding: 8px 12px; border-radius: 6px;
           background: #fde8e8; color: var(--bad); }
  #warnings { display: none; margin: 12px 24px 0; padding: 8px 12px; border-radius: 6px;
              background: #fff4e0; color: var(--warn); }
  @media (max-width: 900px) { main { grid-template-columns: 1fr; } }
</style>
</head>
<body>
<header>
  <h1>vms</h1>
  <span class="meta"><span id="dot" class="dot"></span><span id="conn">connecting</span></span>
  <span class="meta">event log head <b id="head">-</b></span>
  <span class="meta">updated <span id="updated">-</span></span>
</header>
<div id="error"></div>
<div id="warnings"></div>
<main>
  <section class="wide">
    <h2>Sites</h2>
    <table id="sites"><thead><tr><th>Site</th><th>Follows</th><th>Applied</th><th>Lag</th>
      <th>Last report</th><th>Live versions</th><th>In flight</th><th>Problem</th></tr></thead>
      <tbody></tbody></table>
  </section>
  <section>
    <h2>Apps</h2>
    <table id="apps"><thead><tr><th>App</th><th>Live</th><th>Since</th><th>Latest</th>
      <th>Versions</th><th>Sites live</th></tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Who follows whom</h2>
    <ul class="tree" id="tree"></ul>
  </section>
  <section>
    <h2>Latest pushes</h2>
    <div id="pushes"></div>
  </section>
  <section>
    <h2>Latest flips</h2>
    <div id="flips"></div>
  </section>
</main>
<script>
"use strict";
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}
function ago(ms, now) {
  if (!ms) return "never";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return s + " s ago";
  if (s < 3600) return Math.round(s / 60) + " min ago";
  if (s < 86400) return Math.round(s / 3600) + " h ago";
  return Math.round(s / 86400) + " d ago";
}
function bytes(n) {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + u[i];
}
function duration(ms) {
  return ms < 1000 ? ms + " ms" : (ms / 1000).toFixed(ms < 10000 ? 2 : 0) + " s";
}
function stateChip(st) {
  const cls = { complete: "ok", fetching: "warn", failed: "bad" }[st.state] || "";
  const chip = el("span", { class: "chip " + cls }, st.state);
  if (st.state === "fetching" && st.bytes_total) {
    const pct = Math.min(100, Math.round(100 * st.bytes_done / st.bytes_total));
    chip.append(" " + pct + "%",
                el("span", { class: "bar" }, el("span", { style: "width:" + pct + "%" })));
  }
  if (st.error) chip.title = st.error;
  return chip;
}
function follows(site, byAddress) {
  if (site.parent) return site.parent;
  const up = byAddress[site.upstream];
  return up ? up.name : "master";
}
function render(s) {
  const now = s.now_ms;
  document.getElementById("head").textContent = s.head_seq;
  document.getElementById("updated").textContent = new Date(now).toLocaleTimeString();
  const appLive = {};
  for (const a of s.apps) appLive[a.name] = a.live_version;
  const byAddress = {};
  for (const site of s.sites) byAddress[site.address] = site;

  const sites = document.querySelector("#sites tbody");
  sites.replaceChildren();
  if (s.sites.length === 0) {
    sites.append(el("tr", {}, el("td", { colspan: 8, class: "muted" },
      "no sites yet: start a vms-replica with --upstream pointing at the master")));
  }
  for (const site of s.sites) {
    const live = el("td", { class: "live" });
    for (const [app, l] of Object.entries(site.live)) {
      const current = appLive[app] === l.version;
      live.append(el("span", { class: "chip " + (current ? "ok" : "warn"), "data-app": app,
                               title: current ? "live everywhere" : "not yet the live version" },
                     app + " " + l.version));
    }
    const flight = el("td", {});
    for (const v of site.in_flight) flight.append(el("span", {}, v.app + " " + v.version + " "),
                                                  stateChip(v));
    if (site.in_flight_total > site.in_flight.length) {
      flight.append(el("span", { class: "muted" },
                       "and " + (site.in_flight_total - site.in_flight.length) + " more"));
    }
    const lagCls = site.lag_events === 0 ? "ok" : site.lag_events > 100 ? "bad" : "warn";
    sites.append(el("tr", { "data-site": site.name },
      el("td", {}, el("b", {}, site.name), el("div", { class: "muted" }, site.address)),
      el("td", {}, follows(site, byAddress)),
      el("td", { class: "num" }, site.applied_seq),
      el("td", { class: "num " + lagCls }, site.lag_events),
      el("td", {}, ago(site.last_seen_ms, now)),
      live, flight,
      el("td", { class: site.problem ? "bad" : "" }, site.problem || "")));
  }

  const apps = document.querySelector("#apps tbody");
  apps.replaceChildren();
  if (s.apps.length === 0) {
    apps.append(el("tr", {}, el("td", { colspan: 6, class: "muted" }, "no apps yet: vms push")));
  }
  for (const a of s.apps) {
    let at = 0;
    for (const site of s.sites) if (site.live[a.name] && site.live[a.name].version === a.live_version) at++;
    apps.append(el("tr", { "data-app": a.name },
      el("td", {}, el("b", {}, a.name)),
      el("td", { class: "live" }, a.live_version || el("span", { class: "muted" }, "none")),
      el("td", {}, a.live_version ? ago(a.live_since_ms, now) : ""),
      el("td", {}, a.latest_version),
      el("td", { class: "num" }, a.version_count),
      el("td", { class: "num " + (at === s.sites.length ? "ok" : "warn") },
         a.live_version ? at + "/" + s.sites.length : "")));
  }

  const children = {};
  for (const site of s.sites) (children[follows(site, byAddress)] ||= []).push(site.name);
  function branch(name) {
    const kids = children[name] || [];
    const li = el("li", { "data-node": name },
                  name === "master" ? el("b", {}, "master") : name);
    if (kids.length) li.append(el("ul", {}, ...kids.map(branch)));
    return li;
  }
  document.getElementById("tree").replaceChildren(branch("master"));

  const pushes = document.getElementById("pushes");
  pushes.replaceChildren();
  if (s.pushes.length === 0) pushes.append(el("div", { class: "muted" }, "none yet"));
  for (const p of s.pushes) {
    const chips = el("div", {});
    for (const [name, st] of Object.entries(p.sites)) chips.append(el("span", {}, name + " "), stateChip(st), " ");
    pushes.append(el("div", { class: "item", "data-push": p.app + "@" + p.version },
      el("div", { class: "title" }, p.app + " " + p.version),
      el("div", { class: "muted" }, p.files + (p.files === 1 ? " file, " : " files, ") + bytes(p.bytes) + ", by " + p.publisher +
         ", " + ago(p.created_ms, now)),
      chips));
  }

  const flips = document.getElementById("flips");
  flips.replaceChildren();
  if (s.flips.length === 0) flips.append(el("div", { class: "muted" }, "none yet"));
  for (const f of s.flips) {
    const chips = el("div", {});
    for (const [name, st] of Object.entries(f.sites)) {
      const text = st.applied ? (st.applied_ms ? duration(Math.max(0, st.applied_ms - f.issued_ms))
                                               : "applied") : "pending";
      chips.append(el("span", { class: "chip " + (st.applied ? "ok" : "warn") }, name + " " + text));
    }
    flips.append(el("div", { class: "item", "data-flip": f.app + "#" + f.live_seq },
      el("div", { class: "title" }, f.kind === "retire" ? f.app + " " + f.version + " retired"
         : (f.label ? f.app + "@" + f.label : f.app) + " \u2192 " + f.version +
           (f.kind === "rollback" ? " (rollback)" : "") +
           (f.scope && f.scope.length ? " at " + f.scope.join(", ") + " (canary)" : "")),
      el("div", { class: "muted" }, (f.kind === "retire" ? "" : f.previous ? "from " +
         f.previous + ", " : f.label ? "a new label, " : "the first live version, ") +
         "by " + f.issuer + ", " + ago(f.issued_ms, now)),
      chips));
  }
}
async function poll() {
  try {
    const r = await fetch("api/status", { cache: "no-store" });
    if (!r.ok) throw new Error("HTTP " + r.status);
    const s = await r.json();
    if (s.error) throw new Error(s.error);
    render(s);
    const warnings = document.getElementById("warnings");
    warnings.replaceChildren(...(s.trust_warnings || []).map(w => el("div", {}, w)));
    warnings.style.display = (s.trust_warnings || []).length ? "block" : "none";
    document.getElementById("error").style.display = "none";
    document.getElementById("dot").className = "dot";
    document.getElementById("conn").textContent = "live";
  } catch (e) {
    const box = document.getElementById("error");
    box.textContent = "cannot read the master's status: " + e.message;
    box.style.display = "block";
    document.getElementById("dot").className = "dot down";
    document.getElementById("conn").textContent = "disconnected";
  }
  setTimeout(poll, 1000);
}
poll();
</script>
</body>
</html>
)html";
}

}  // namespace vms
