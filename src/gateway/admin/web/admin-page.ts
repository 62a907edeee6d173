/**
 * The admin web page (issue 16) as static strings served by the admin listener: HTML, one script
 * and one style sheet, all same-origin under a strict Content-Security-Policy (no inline script or
 * style, nothing fetched from elsewhere). The script renders every peer-named value with
 * textContent, never as markup, and polls the JSON API (docs/admin-api.md).
 */

/** Served with every page asset: only same-origin script, style and fetches; no framing. */
export const ADMIN_PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** How often the page asks for /api/status (ms): within the "1 s of each state change". */
export const ADMIN_PAGE_POLL_MS = 500;
/** How often the page redraws the last-hour charts (ms); the server samples every 10 s. */
export const ADMIN_PAGE_CHART_MS = 5_000;

export const ADMIN_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>talkgate admin</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/uplot.css">
<link rel="stylesheet" href="/admin.css">
<script src="/uplot.js" defer></script>
<script src="/admin.js" defer></script>
</head>
<body>
<header><h1>talkgate</h1><span id="mode"></span><span id="updated"></span></header>
<section id="auth">
  <label>Admin token <input id="token" type="password" autocomplete="off" placeholder="needed to end calls"></label>
  <span id="auth-note"></span>
</section>
<section>
  <h2>Live calls</h2>
  <table id="calls"><thead><tr>
    <th>ID</th><th>State</th><th>Direction</th><th>Caller</th><th>Callee</th><th>Mode / data path</th><th>Duration</th><th>Bytes in</th><th>Bytes out</th><th></th>
  </tr></thead><tbody></tbody></table>
  <p id="no-calls">no live calls</p>
</section>
<section id="mappings-section" hidden>
  <h2>PCP mappings</h2>
  <table id="mappings"><thead><tr>
    <th>ID</th><th>Kind</th><th>Client (nonce owner)</th><th>Third party</th><th>Protocol</th><th>Internal port</th><th>External port</th><th>Filter</th><th>Lifetime left</th>
  </tr></thead><tbody></tbody></table>
</section>
<section>
  <h2>Recent refusals</h2>
  <table id="refusals"><thead><tr><th>Time</th><th>Reason</th><th>Rule</th><th>Caller</th><th>Callee</th><th>Message</th></tr></thead><tbody></tbody></table>
</section>
<section>
  <h2>Last hour</h2>
  <div id="charts"><div id="chart-calls"></div><div id="chart-refusals"></div><div id="chart-bytes"></div></div>
</section>
<section>
  <h2>Counters</h2>
  <table id="counters"><tbody></tbody></table>
</section>
<footer id="error" role="status"></footer>
</body>
</html>
`;

export const ADMIN_PAGE_CSS = `body{font:14px system-ui,sans-serif;margin:1em;color:#111;background:#fafafa}
header{display:flex;gap:1em;align-items:baseline}h1{margin:0;font-size:1.4em}
table{border-collapse:collapse;margin:.3em 0}th,td{border:1px solid #ccc;padding:2px 6px;text-align:left;font-family:ui-monospace,monospace;white-space:pre}
th{background:#eee}#charts{display:flex;flex-wrap:wrap;gap:1em}#error{color:#a00}#no-calls{color:#666}.num{text-align:right}
`;

export const ADMIN_PAGE_JS = `'use strict';
(() => {
  const POLL_MS = ${ADMIN_PAGE_POLL_MS};
  const CHART_MS = ${ADMIN_PAGE_CHART_MS};
  const charts = {};
  const chart = (id, title, series, data) => {
    if (typeof uPlot !== 'function') return;
    if (charts[id]) return charts[id].setData(data);
    charts[id] = new uPlot({
      title, width: 360, height: 180, scales: { x: { time: true } },
      series: [{}, ...series.map(([label, stroke]) => ({ label, stroke, width: 1.5 }))],
    }, data, $(id));
  };
  const drawCharts = async () => {
    try {
      const res = await fetch('/api/history', { cache: 'no-store' });
      if (res.ok) {
        const h = await res.json();
        chart('chart-calls', 'live calls', [['calls', '#1565c0']], [h.t, h.calls]);
        chart('chart-refusals', 'refusals per 10 s', [['refusals', '#c62828']], [h.t, h.refusals]);
        chart('chart-bytes', 'relayed bytes/s', [['in', '#2e7d32'], ['out', '#ef6c00']], [h.t, h.bytesInPerSecond, h.bytesOutPerSecond]);
      }
    } catch (_) {}
    setTimeout(drawCharts, CHART_MS);
  };
  const $ = (id) => document.getElementById(id);
  let token = '';
  let info = { endCall: false };
  // Every value from the gateway (peer-named or not) goes in as text, never as markup.
  const cell = (row, text, cls) => {
    const td = document.createElement('td');
    td.textContent = text === undefined || text === null ? '-' : String(text);
    if (cls) td.className = cls;
    row.appendChild(td);
    return td;
  };
  const age = (iso, now) => {
    const t = Date.parse(iso || '');
    if (!Number.isFinite(t)) return '-';
    const s = Math.max(0, Math.floor((now - t) / 1000));
    return s < 60 ? s + 's' : Math.floor(s / 60) + 'm' + String(s % 60).padStart(2, '0') + 's';
  };
  const path = (c, now) => {
    const d = c.dataPath;
    if (!d) return c.relayPort ? 'relay :' + c.relayPort : '-';
    if (d.kind === 'relay') return 'relay :' + d.port;
    if (d.kind === 'hole') return 'nft hole :' + d.port + (d.expiresAt ? ' (expires in ' + Math.max(0, Math.round((Date.parse(d.expiresAt) - now) / 1000)) + 's)' : '');
    if (d.kind === 'pcp') return 'PCP ' + d.server + (d.externalPort ? ' :' + d.externalPort : '') + (d.expiresAt ? ' (' + Math.max(0, Math.round((Date.parse(d.expiresAt) - now) / 1000)) + 's left)' : '');
    return '-';
  };
  const endCall = async (callId, button) => {
    button.disabled = true;
    const res = await fetch('/api/calls/end', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token },
      body: JSON.stringify({ callId }),
    });
    const answer = await res.json().catch(() => ({}));
    $('error').textContent = res.ok ? '' : 'end call refused: ' + (answer.code || res.status);
    button.disabled = false;
  };
  const render = (st, mode) => {
    const now = Date.now();
    $('mode').textContent = 'mode: ' + (mode || st.mode || '-');
    $('updated').textContent = 'updated ' + new Date(now).toLocaleTimeString();
    const calls = Array.isArray(st.calls) ? st.calls : [];
    const body = $('calls').tBodies[0];
    const rows = calls.map((c) => {
      const tr = document.createElement('tr');
      tr.dataset.callId = String(c.callId || c.id || '');
      cell(tr, c.callId || c.id);
      cell(tr, c.state);
      cell(tr, c.direction);
      cell(tr, c.caller + (c.callerTty ? ' on ' + c.callerTty : '') + (c.callerAsSeenOutside ? ' (outside sees ' + c.callerAsSeenOutside + ')' : ''));
      cell(tr, c.callee + (c.calleeTty ? ' on ' + c.calleeTty : '') + (c.calleeAsSeenInside ? ' (inside sees ' + c.calleeAsSeenInside + ')' : ''));
      cell(tr, (st.mode || '') + ' / ' + path(c, now));
      cell(tr, age(c.startedAt || c.since, now), 'num');
      cell(tr, c.bytesIn, 'num');
      cell(tr, c.bytesOut, 'num');
      const td = cell(tr, '');
      if (info.endCall && token) {
        const b = document.createElement('button');
        b.type = 'button';
        b.textContent = 'end call';
        b.addEventListener('click', () => void endCall(tr.dataset.callId, b));
        td.textContent = '';
        td.appendChild(b);
      }
      return tr;
    });
    body.replaceChildren(...rows);
    $('no-calls').hidden = rows.length > 0;
    const mappings = Array.isArray(st.mappings) ? st.mappings : null;
    $('mappings-section').hidden = mappings === null;
    $('mappings').tBodies[0].replaceChildren(...(mappings || []).map((m) => {
      const tr = document.createElement('tr');
      for (const v of [m.id, m.kind, m.client, m.thirdParty, m.protocol, m.internalPort, m.externalPort, m.filter === null ? 'any' : m.filter, m.lifetimeLeftSeconds === undefined ? undefined : m.lifetimeLeftSeconds + 's']) cell(tr, v);
      return tr;
    }));
    const refusals = Array.isArray(st.refusals) ? st.refusals.slice(-50).reverse() : [];
    $('refusals').tBodies[0].replaceChildren(...refusals.map((r) => {
      const tr = document.createElement('tr');
      for (const v of [r.at, r.reason, r.rule, r.caller, r.callee, r.message]) cell(tr, v);
      return tr;
    }));
    const counters = st.counters && typeof st.counters === 'object' ? Object.entries(st.counters) : [];
    $('counters').tBodies[0].replaceChildren(...counters.map(([k, v]) => {
      const tr = document.createElement('tr');
      cell(tr, k);
      cell(tr, v, 'num');
      return tr;
    }));
  };
  const poll = async () => {
    try {
      const res = await fetch('/api/status', { cache: 'no-store' });
      if (!res.ok) throw new Error('HTTP ' + res.status);
      render(await res.json());
      if ($('error').textContent.startsWith('status:')) $('error').textContent = '';
    } catch (err) {
      $('error').textContent = 'status: ' + (err && err.message ? err.message : 'unreachable');
    }
    setTimeout(poll, POLL_MS);
  };
  const start = async () => {
    try {
      const res = await fetch('/api/info', { cache: 'no-store' });
      if (res.ok) info = await res.json();
    } catch (_) {}
    $('auth').hidden = !info.endCall;
    $('auth-note').textContent = info.endCall ? '' : 'read-only';
    $('token').addEventListener('input', (e) => { token = e.target.value; });
    void poll();
    void drawCharts();
  };
  document.addEventListener('DOMContentLoaded', () => void start());
})();
`;
