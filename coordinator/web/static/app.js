// The callfleet dashboard: one WebSocket, one update a second, drawn with uPlot.
// Every figure comes from the server as the coordinator reported it; nothing is summed here.
"use strict";
(() => {
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const $ = (sel) => document.querySelector(sel);
  const COLOURS = {asked: "#6b7280", rate: "#93c5fd", window: "#1d4ed8", up: "#059669",
    p50: "#1d4ed8", p95: "#d97706", p99: "#dc2626", failed: "#dc2626", lost: "#7c3aed",
    loss: "#dc2626", jitter: "#d97706", mos: "#059669"};
  const S = {watch: "", rows: [], readOnly: null, ws: null, charts: {}, runState: "",
    delays: [], updates: 0, events: 0};
  window.callfleetDashboard = S;  // for tests and the benchmark

  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else if (k === "text") e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k);
    return e;
  }
  const num = (v, d = 0) => (v === null || v === undefined || v === "") ? "–" :
    Number(v).toLocaleString("en-US", {minimumFractionDigits: d, maximumFractionDigits: d});
  function dur(s) {
    s = Math.round(Number(s) || 0);
    const d = Math.floor(s / 86400), hh = Math.floor(s % 86400 / 3600),
      m = Math.floor(s % 3600 / 60), ss = s % 60;
    return d ? `${d}d ${hh}h` : hh ? `${hh}h ${String(m).padStart(2, "0")}m` :
      m ? `${m}m ${String(ss).padStart(2, "0")}s` : `${ss}s`;
  }
  const clock = (ts) => new Date(ts * 1000).toLocaleTimeString("en-GB", {hour12: false});
  function toast(text, bad) {
    const t = $("#toast");
    t.textContent = text; t.className = "toast" + (bad ? " bad" : ""); t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { t.hidden = true; }, 4000);
  }
  function fillBody(table, rows) {
    const body = table.tBodies[0];
    body.replaceChildren(...rows);
  }
  function card(label, value, unit, cls, key, raw) {
    const v = h("div", {class: "value"}, String(value));
    if (key) v.setAttribute("data-counter", key);
    if (raw !== undefined) v.setAttribute("data-value", String(raw));
    if (unit) v.append(h("small", {text: unit}));
    return h("div", {class: "card " + (cls || "")}, h("div", {class: "label", text: label}), v);
  }

  // -- the connection -------------------------------------------------------------------
  function connect() {
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
    S.ws = ws;
    ws.onopen = () => { setConn(true); send({watch: S.watch}); applyFilter(); };
    ws.onmessage = (m) => handle(JSON.parse(m.data));
    ws.onclose = () => { setConn(false); setTimeout(connect, 1000); };
  }
  function send(obj) { if (S.ws && S.ws.readyState === 1) S.ws.send(JSON.stringify(obj)); }
  function setConn(up, problem) {
    const c = $("#conn");
    c.className = "pill " + (up ? "pill-ok" : "pill-bad");
    c.textContent = up ? "live" : (problem || "dashboard unreachable");
    if (problem) c.title = problem;
  }
  async function post(path, body) {
    const r = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json",
      "X-CSRF-Token": csrf}, body: JSON.stringify(body || {}), credentials: "same-origin"});
    const out = await r.json().catch(() => ({error: r.statusText}));
    if (!r.ok) throw new Error(out.error || r.statusText);
    return out;
  }

  // -- updates --------------------------------------------------------------------------
  function handle(u) {
    if (u.type === "filter") { $("#filter-error").textContent = u.error; if (!u.error) clearEvents(); return; }
    if (u.type !== "update") return;
    S.updates += 1;
    renderTop(u);
    if (!S.watch) {  // the fleet view: the run view's parts are hidden, and the other way round
      changed("fleet", u.fleet, renderFleet);
      changed("runs", u.runs, renderRuns);
    }
    if (u.run && u.run.run === S.watch) renderRun(u.run);
    addEvents(u.events, u.events_total);
  }
  // a part is drawn again only when what it shows changed (the page stays cheap at any rate)
  const drawn = {};
  function changed(part, data, draw) {
    const key = JSON.stringify(data);
    if (drawn[part] === key) return;
    drawn[part] = key;
    draw(data);
  }
  function renderTop(u) {
    const f = u.fleet;
    if (!f.connected) setConn(false, "coordinator: " + (f.problem || "not answering"));
    else setConn(true);
    const ro = u.role.read_only;
    S.readOnly = ro;
    const role = $("#role");
    role.className = "pill " + (ro === null ? "pill-wait" : ro ? "pill-info" : "pill-ok");
    role.textContent = ro === null ? "role: asking" : ro ? "read-only" : "control";
    role.title = u.role.why || "";
    document.querySelectorAll(".control:not(.run-control)").forEach((e) => { e.hidden = ro !== false; });
    const s = f.status || {};
    $("#coord").textContent = s.version ? `protocol v${s.version} · callfleet ${s.software || "?"} · ` +
      `coordinator ${s.coordinator || "?"} up ${dur(s.uptime)}` + (u.dropped ? ` · ${u.dropped} messages lost` : "") : "";
  }
  function renderFleet(f) {
    const t = f.totals, s = f.status || {};
    $("#fleet-cards").replaceChildren(
      card("agents", t.agents, "", "", "agents", t.agents),
      card("lost agents", t.lost, "", t.lost ? "bad" : "", "lost_agents", t.lost),
      card("call legs up", num(t.calls), `of ${num(t.slots)} slots`, "", "calls", t.calls),
      card("free slots", num(t.free), "", "", "free", t.free),
      card("accounts", num(s.accounts), "", "", "accounts", s.accounts));
    fillBody($("#agents"), f.agents.map((a) => {
      const life = a.lifecycle === "replaced" ? `replaced ${clock(a.since)} (pid ${a.replaced_pid})` :
        a.lifecycle === "lost" ? `lost ${clock(a.since)}` : "joined";
      const cls = a.lifecycle === "lost" ? "pill-bad" : a.lifecycle === "replaced" ? "pill-info" : "pill-ok";
      const bridge = a.bridge_used === null ? "–" : `${a.bridge_used}/${a.bridge_max}` +
        (a.bridge_leaked ? ` (${a.bridge_leaked} leaked)` : "");
      const tr = h("tr", {class: a.lifecycle, "data-agent": a.name},
        h("td", {text: a.name}), h("td", {text: a.host || ""}), h("td", {text: String(a.pid || "")}),
        h("td", {text: (a.sip || []).join(", ")}),
        h("td", {}, h("span", {class: "pill " + cls, "data-lifecycle": a.lifecycle, text: life})),
        h("td", {text: a.state || ""}), h("td", {class: "num", text: num(a.calls)}),
        h("td", {class: "num", text: num(a.capacity)}), h("td", {class: "num", text: num(a.free)}),
        h("td", {class: "num", text: num(a.accounts)}), h("td", {class: "num", text: bridge}),
        h("td", {class: "num", text: a.sockets === null ? "–" : String(a.sockets)}));
      return tr;
    }));
  }
  function stateBadge(state, passed) {
    const cls = state === "running" ? "pill-info" : state === "ended" ? "pill-wait" :
      passed ? "pill-ok" : "pill-bad";
    return h("span", {class: "pill " + cls, text: state});
  }
  function renderRuns(runs) {
    $("#no-runs").hidden = runs.length > 0;
    fillBody($("#runs"), runs.map((r) => h("tr", {"data-run": r.run},
      h("td", {}, h("a", {href: "#/run/" + encodeURIComponent(r.run), text: r.run})),
      h("td", {}, stateBadge(r.state, r.passed)), h("td", {class: "num", text: dur(r.elapsed)}),
      h("td", {class: "num", text: num(r.attempted)}), h("td", {class: "num", text: num(r.answered)}),
      h("td", {class: "num", text: num(r.failed)}), h("td", {class: "num", text: num(r.lost)}),
      h("td", {class: "num", text: num(r.active)}), h("td", {class: "num", text: num(r.rate, 1) + "/s"}),
      h("td", {class: "num", text: num(r.asked, 1) + "/s"}),
      h("td", {}, r.passed === null ? "" : h("span", {class: r.passed ? "pass" : "fail",
        text: r.passed ? "PASS" : "FAIL"})))));
  }

  // -- one run --------------------------------------------------------------------------
  function renderRun(r) {
    if (r.reset) S.rows = [];
    S.rows.push(...r.rows);
    if (r.rows.length && r.last_timestamp && r.state === "running")
      S.delays.push(Date.now() / 1000 - r.last_timestamp);
    S.runState = r.state;
    $("#run-title").textContent = "Run " + r.run;
    const st = $("#run-state");
    st.textContent = r.state + (r.stopped ? " (stopped)" : "") + (r.end_reason ? ": " + r.end_reason : "");
    st.className = "pill " + (r.state === "running" ? "pill-info" : r.verdict.passed ? "pill-ok" : "pill-bad");
    $("#run-profile").textContent = profileText(r.profile);
    document.querySelectorAll(".run-control").forEach((e) => {
      e.hidden = S.readOnly !== false || r.state !== "running"; });
    const asked = r.counters.find((c) => c.key === "asked");
    if ($("#rate-input").value === "" && asked) $("#rate-input").value = asked.value;
    $("#counters").replaceChildren(...r.counters.map((c) => card(c.label,
      num(c.value, c.unit === "ms" || c.unit === "calls/s" ? 1 : 0), c.unit,
      (c.key === "failed" || c.key === "lost") && c.value ? "bad" : "", c.key, c.value)));
    const dl = $("#downloads");
    const base = "/runs/" + encodeURIComponent(r.run) + "/report.";
    dl.replaceChildren(...(r.report ? ["json", "csv", "html"] : ["csv"]).map((k) =>
      h("a", {href: base + k, "data-download": k, text: k.toUpperCase()})));
    if (r.rows.length || r.reset) drawCharts(r.media);
    changed("codes", [r.failed_by_code, r.counters], () => renderCodes(r.failed_by_code, r.counters));
    changed("verdict", r.verdict, renderVerdict);
    changed("agents", [r.by_agent, r.lost_agents, r.replaced_agents],
      () => renderAgents(r.by_agent, r.lost_agents, r.replaced_agents || []));
    changed("steps", [r.scenario, r.steps], () => renderSteps(r.scenario, r.steps || []));
  }
  function renderSteps(name, steps) {
    // each step of each leg: calls that passed it, failed it (why) and the time it took
    $("#steps-name").textContent = name || "";
    fillBody($("#steps"), steps.map((s) => {
      const why = Object.entries(s.failed_by_reason || {}).sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k}: ${num(n)}`).join(", ");
      // a failure that fails the run in red; one that does not (on_failure end or skip) plain
      return h("tr", {"data-step": `${s.leg}.${s.step}`},
        h("td", {text: s.leg}), h("td", {class: "num", text: String(s.step)}), h("td", {text: s.op}),
        h("td", {class: "num", text: num(s.ok)}),
        h("td", {class: "num" + (s.fatal ? " fail" : ""), text: num(s.failed)}),
        h("td", {class: "num", text: num(s.lost || 0)}),
        h("td", {class: "num", text: num(s.time_ms.p50, 1)}), h("td", {class: "num", text: num(s.time_ms.p95, 1)}),
        h("td", {text: why}));
    }));
  }
  function profileText(p) {
    if (!p || !Object.keys(p).length) return "started elsewhere: its profile comes with its report";
    const parts = [`${p.rate} calls/s`];
    if (p.calls) parts.push(`${p.calls} calls`);
    if (p.duration) parts.push(`${p.duration} s`);
    if (p.ramp) parts.push(`ramp ${p.ramp} s`);
    if (p.scenario && p.scenario !== "built-in") parts.push(`scenario ${p.scenario}`);
    else parts.push(`hold ${p.hold || 1}`);
    parts.push(p.targets && p.targets.length ? `to ${p.targets.join(", ")}` : "self-answered");
    if (p.media && p.media !== "silence") parts.push(`media ${p.media}`);
    return parts.join(" · ");
  }
  function renderCodes(codes, counters) {
    const lost = (counters.find((c) => c.key === "lost") || {}).value || 0;
    const items = Object.entries(codes || {}).sort((a, b) => b[1] - a[1]);
    if (lost) items.push(["lost", lost]);
    const total = items.reduce((n, [, v]) => n + v, 0);
    const attempted = (counters.find((c) => c.key === "attempted") || {}).value || 0;
    $("#codes-total").textContent = `${num(total)} of ${num(attempted)} calls`;
    if (!items.length) { $("#codes").replaceChildren(h("div", {class: "none", text: "no failed call"})); return; }
    const top = Math.max(...items.map(([, v]) => v));
    $("#codes").replaceChildren(...items.map(([code, n]) => h("div", {class: "row", "data-code": code},
      h("span", {text: code === "lost" ? "lost (agent gone)" : "SIP " + code}),
      h("div", {class: "bar" + (code === "lost" ? " lost" : ""), style: `width:${Math.max(1, 100 * n / top)}%`}),
      h("span", {class: "num", text: num(n)}))));
  }
  function renderVerdict(v) {
    $("#verdict-note").textContent = (v.final ? "final" : "provisional, as the run goes") +
      "; criteria: " + v.criteria_from;
    fillBody($("#verdict"), v.checks.map((c) => h("tr", {},
      h("td", {}, h("span", {class: c.passed ? "pass" : "fail", text: c.passed ? "pass" : "FAIL"})),
      h("td", {text: c.criterion}), h("td", {text: c.value}), h("td", {text: c.limit}))));
    const res = $("#verdict-result");
    res.textContent = v.final ? (v.passed ? "PASS" : `FAIL (exit code ${v.exit_code})`) :
      (v.passed ? "passing so far" : "failing so far");
    res.className = "result " + (v.passed ? "pass" : "fail");
  }
  function renderAgents(parts, lost, replaced) {
    // a lost agent's part ends where it was lost; a replacement took the rest of it
    const note = (n) => (lost.includes(n) ? " (lost)" : replaced.includes(n) ? " (replaced)" : "");
    fillBody($("#by-agent"), (parts || []).map((a) => h("tr", {class: lost.includes(a.agent) ? "lost" : ""},
      h("td", {text: a.agent + note(a.agent)}),
      h("td", {class: "num", text: num(a.started)}), h("td", {class: "num", text: num(a.answered)}),
      h("td", {class: "num", text: num(a.incoming)}), h("td", {class: "num", text: num(a.failed)}),
      h("td", {class: "num", text: a.active === undefined ? "–" : num(a.active)}))));
  }

  // -- charts ---------------------------------------------------------------------------
  const col = (k) => S.rows.map((r) => (r[k] === undefined ? null : r[k]));
  const when = (k, ok) => S.rows.map((r) => (ok(r) ? r[k] : null));
  const line = (label, stroke, extra) => Object.assign({label, stroke, width: 2}, extra || {});
  // counts get whole-number ticks
  const COUNT_TICKS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6];
  const counts = (label) => ({label, size: 50, incrs: COUNT_TICKS});
  function chart(id, series, axes, scales) {
    const box = document.getElementById(id);
    if (S.charts[id]) return S.charts[id];
    const opts = {width: Math.max(300, box.clientWidth), height: 240, series: [{label: "t (s)"}, ...series],
      scales: Object.assign({x: {time: false}, y: {range: (u, lo, hi) => [0, hi > 0 ? hi * 1.1 : 1]}},
        scales || {}),
      axes: [{label: "seconds since the run started", size: 40}, ...axes],
      legend: {live: false}, cursor: {drag: {x: false, y: false}}};
    const u = new uPlot(opts, [[], ...series.map(() => [])], box);
    S.charts[id] = u;
    return u;
  }
  function drawCharts(media) {
    const t = col("t");
    const bars = uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({size: [0.7, 40]}) : undefined;
    const set = (id, data) => { const u = S.charts[id]; u.setData([t, ...data]);
      document.getElementById(id).setAttribute("data-points", String(t.length)); };
    chart("chart-rate", [line("asked", COLOURS.asked, {dash: [6, 4]}),
      line("last interval", COLOURS.rate, {width: 1}), line("last 5 s", COLOURS.window)],
    [{label: "calls/s", size: 50}]);
    set("chart-rate", [col("target_rate"), col("rate"), col("rate_window")]);
    chart("chart-up", [line("calls up", COLOURS.up, {fill: "rgba(5,150,105,0.15)"})], [counts("calls")]);
    set("chart-up", [col("active")]);
    chart("chart-setup", ["p50", "p95", "p99"].map((p) => line(p, COLOURS[p], {spanGaps: false})),
      [{label: "ms", size: 50}]);
    const answered = (r) => r.interval_answered > 0;
    set("chart-setup", ["p50", "p95", "p99"].map((p) => when(`interval_setup_${p}_ms`, answered)));
    chart("chart-failures", [line("failed in the interval", COLOURS.failed, {fill: "rgba(220,38,38,0.6)", paths: bars, width: 0}),
      line("lost (total)", COLOURS.lost)], [counts("calls")]);
    set("chart-failures", [col("interval_failed"), col("lost")]);
    $("#media-panel").hidden = !media;
    if (media) {
      chart("chart-media", [line("RTP loss %", COLOURS.loss), line("jitter p95 ms", COLOURS.jitter),
        line("MOS p50", COLOURS.mos, {scale: "mos"})],
      [{label: "% / ms", size: 50}, {scale: "mos", side: 1, label: "MOS", grid: {show: false}}],
      {mos: {range: [1, 5]}});
      const measured = (r) => r.interval_mos_p50 > 0;
      set("chart-media", [when("interval_rtp_loss_pct", measured), when("interval_jitter_p95_ms", measured),
        when("interval_mos_p50", measured)]);
    }
  }
  function dropCharts() { for (const u of Object.values(S.charts)) u.destroy(); S.charts = {}; S.rows = []; }
  new ResizeObserver(() => {
    for (const [id, u] of Object.entries(S.charts)) {
      const w = document.getElementById(id).clientWidth;
      if (w > 0 && Math.abs(w - u.width) > 4) u.setSize({width: w, height: 240});
    }
  }).observe($("main"));

  // -- events ---------------------------------------------------------------------------
  function clearEvents() { $("#events").tBodies[0].replaceChildren(); }
  function addEvents(events, total) {
    const body = $("#events").tBodies[0];
    for (const e of events) {
      body.prepend(h("tr", {"data-op": e.op}, h("td", {text: clock(e.ts)}), h("td", {text: e.op}),
        h("td", {text: e.obj}), h("td", {class: "num", text: String(e.seq)}), h("td", {text: e.data})));
    }
    while (body.rows.length > 300) body.deleteRow(-1);
    S.events += events.length;
    $("#events-count").textContent = `${num(total)} received since the dashboard started; newest first`;
  }
  function applyFilter() {
    const f = $("#filter-form");
    send({filter: f.filter.value, exclude: f.exclude.value});
  }
  $("#filter-form").addEventListener("submit", (ev) => { ev.preventDefault(); applyFilter(); });

  // -- control --------------------------------------------------------------------------
  $("#start-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = {};
    for (const [k, v] of new FormData(ev.target).entries()) if (String(v).trim() !== "") body[k] = String(v);
    $("#start-error").textContent = "";
    try {
      const out = await post("/api/runs", body);
      location.hash = "#/run/" + encodeURIComponent(out.result);
    } catch (e) { $("#start-error").textContent = e.message; }
  });
  $("#rate-button").addEventListener("click", async () => {
    const rate = Number($("#rate-input").value);
    try { await post(`/api/runs/${encodeURIComponent(S.watch)}/rate`, {rate}); toast(`rate set to ${rate} calls/s`); }
    catch (e) { toast(e.message, true); }
  });
  $("#stop-button").addEventListener("click", async () => {
    try { await post(`/api/runs/${encodeURIComponent(S.watch)}/stop`); toast(`run ${S.watch} told to stop`); }
    catch (e) { toast(e.message, true); }
  });

  // -- views ----------------------------------------------------------------------------
  function route() {
    const m = location.hash.match(/^#\/run\/(.+)$/);
    const run = m ? decodeURIComponent(m[1]) : "";
    if (run !== S.watch) { dropCharts(); S.delays = []; $("#rate-input").value = ""; }
    for (const part of Object.keys(drawn)) delete drawn[part];
    S.watch = run;
    $("#fleet-view").hidden = !!run;
    $("#run-view").hidden = !run;
    const f = $("#filter-form");
    f.filter.value = run ? "run=" + run : "";
    f.exclude.value = "load.stats";  // the agents' own reports, each a second: shown on request
    send({watch: run});
    applyFilter();
    window.scrollTo(0, 0);
  }
  window.addEventListener("hashchange", route);
  route();
  connect();
})();
