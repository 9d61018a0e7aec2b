// The skein viewer. Plain JavaScript, no build step. Every value that comes from a span is put in
// the page with textContent (or as an attribute value), never as markup.
'use strict';

const token = new URLSearchParams(location.search).get('token');

async function api(path) {
  const headers = token ? { Authorization: 'Bearer ' + token } : {};
  const res = await fetch(path, { headers });
  const body = await res.json().catch(() => ({ error: 'bad response ' + res.status }));
  if (!res.ok) throw new Error(body.error || ('HTTP ' + res.status));
  return body;
}

// el('td', {class: 'num'}, 'text', child...) — strings become text nodes.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k === 'style') Object.assign(e.style, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

const $ = (id) => document.getElementById(id);

function fmtDuration(ms) {
  if (ms < 0.001) return (ms * 1e6).toFixed(0) + ' ns';
  if (ms < 1) return (ms * 1000).toFixed(1) + ' µs';
  if (ms < 1000) return ms.toFixed(2) + ' ms';
  if (ms < 60000) return (ms / 1000).toFixed(2) + ' s';
  return (ms / 60000).toFixed(1) + ' min';
}
function fmtTime(ms) {
  const d = new Date(ms);
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
         `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
function fmtBytes(b) {
  if (b < 1024) return b + ' B';
  if (b < 1048576) return (b / 1024).toFixed(1) + ' KiB';
  if (b < 1073741824) return (b / 1048576).toFixed(1) + ' MiB';
  return (b / 1073741824).toFixed(2) + ' GiB';
}
const KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

function showError(e) {
  const p = $('error');
  p.textContent = e ? String(e.message || e) : '';
  p.hidden = !e;
}

function show(view) {
  for (const s of document.querySelectorAll('main > section')) s.hidden = s.id !== 'view-' + view;
  for (const a of document.querySelectorAll('nav a')) {
    a.classList.toggle('active', a.id === 'nav-' + (view === 'trace' ? 'traces' : view === 'session' ? 'sessions' : view));
  }
}

// ---- trace list --------------------------------------------------------------------------------

let lastFilter = '';
let oldest = null;
let paged = false;

function filterQuery() {
  const f = new FormData($('filters'));
  const q = new URLSearchParams();
  for (const [k, v] of f.entries()) if (String(v).trim()) q.set(k, String(v).trim());
  return q;
}

async function loadServices() {
  try {
    const { services } = await api('/api/services');
    const sel = $('f-service');
    const current = sel.value;
    sel.replaceChildren(el('option', { value: '' }, 'all services'),
      ...services.map((s) => el('option', { value: s }, s)));
    sel.value = current;
  } catch (e) { /* the list stays as it is */ }
}

async function loadTraces(append) {
  const q = filterQuery();
  q.set('limit', '100');
  if (append) paged = true; else paged = false;
  if (append && oldest) q.set('before_ns', oldest);
  lastFilter = q.toString();
  const { traces } = await api('/api/traces?' + q.toString());
  const tbody = $('trace-table').querySelector('tbody');
  if (!append) tbody.replaceChildren();
  for (const t of traces) {
    const tr = el('tr', { 'data-trace-id': t.trace_id, class: t.error_count > 0 ? 'has-error' : '',
                          onclick: () => { location.hash = '#/trace/' + t.trace_id; } },
      el('td', { class: 'mono' }, fmtTime(t.start_ms)),
      el('td', { title: t.name }, t.name || '(missing root)'),
      el('td', {}, t.service),
      el('td', { class: 'mono', title: t.session_id }, t.session_id),
      el('td', { class: 'num' }, t.span_count, t.error_count > 0 ? ` (${t.error_count} ✗)` : ''),
      el('td', { class: 'num' }, fmtDuration(t.duration_ms)));
    tbody.append(tr);
  }
  if (traces.length) oldest = traces[traces.length - 1].start_ns;
  $('trace-empty').hidden = tbody.children.length > 0;
  $('more').hidden = traces.length < 100;
}

// ---- one trace ---------------------------------------------------------------------------------

function buildTree(spans) {
  const byId = new Map(spans.map((s) => [s.span_id, s]));
  const kids = new Map();
  const roots = [];
  for (const s of spans) {
    if (s.parent_span_id && byId.has(s.parent_span_id)) {
      if (!kids.has(s.parent_span_id)) kids.set(s.parent_span_id, []);
      kids.get(s.parent_span_id).push(s);
    } else {
      roots.push(s);
    }
  }
  const order = [];
  const walk = (s, depth) => {
    order.push({ span: s, depth });
    for (const c of kids.get(s.span_id) || []) walk(c, depth + 1);
  };
  for (const r of roots) walk(r, 0);
  return order;
}

async function loadTrace(id) {
  const { spans } = await api('/api/traces/' + encodeURIComponent(id));
  const t0 = Math.min(...spans.map((s) => s.start_ms));
  const t1 = Math.max(...spans.map((s) => s.start_ms + s.duration_ms));
  const total = Math.max(t1 - t0, 1e-6);
  const order = buildTree(spans);
  const root = order[0].span;
  const errors = spans.filter((s) => s.status === 2).length;
  $('trace-head').replaceChildren(
    el('h2', {}, root.name),
    el('div', { class: 'meta' },
      el('span', { class: 'mono' }, 'trace ' + spans[0].trace_id), ' · ',
      root.service || 'unknown service', ' · ', fmtTime(t0), ' · ',
      `${spans.length} spans`, ' · ', fmtDuration(t1 - t0),
      errors ? el('span', { class: 'status-error' }, ` · ${errors} error(s)`) : null));
  const wf = $('waterfall');
  wf.replaceChildren();
  for (const { span: s, depth } of order) {
    const left = ((s.start_ms - t0) / total) * 100;
    const width = Math.max((s.duration_ms / total) * 100, 0.2);
    const row = el('div', { class: 'wf-row', 'data-span-id': s.span_id },
      el('div', { class: 'wf-name', style: { paddingLeft: depth * 14 + 'px' }, title: s.name },
        s.name, el('span', { class: 'type' }, s.event_type || KINDS[s.kind] || '')),
      el('div', { class: 'wf-track' },
        el('div', { class: 'wf-bar' + (s.status === 2 ? ' error' : ''),
                    style: { left: left + '%', width: Math.min(width, 100 - left) + '%' } })),
      el('div', { class: 'wf-dur' }, fmtDuration(s.duration_ms)));
    row.addEventListener('click', () => {
      for (const r of wf.querySelectorAll('.wf-row.selected')) r.classList.remove('selected');
      row.classList.add('selected');
      showSpan(s);
    });
    wf.append(row);
  }
  $('span-panel').replaceChildren(el('p', { class: 'muted' }, 'Click a span to see its attributes.'));
}

// Attributes grouped by namespace: honeyhive_inputs.*, honeyhive_outputs.*, gen_ai.*, http.* ...
function namespaceOf(key) {
  const dot = key.indexOf('.');
  return dot > 0 ? key.slice(0, dot) : '(other)';
}

// Dotted keys back into nested objects; string values holding JSON are parsed.
function nest(entries, prefixLength) {
  const out = {};
  for (const [k, v] of entries) {
    const path = k.slice(prefixLength).split('.');
    let o = out;
    for (let i = 0; i < path.length - 1; i++) {
      if (typeof o[path[i]] !== 'object' || o[path[i]] === null) o[path[i]] = {};
      o = o[path[i]];
    }
    let value = v;
    if (typeof v === 'string' && /^\s*[[{]/.test(v)) {
      try { value = JSON.parse(v); } catch (e) { /* keep the text */ }
    }
    o[path[path.length - 1]] = value;
  }
  return out;
}

function valueText(v) {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function kvTable(obj) {
  return el('table', { class: 'kv' }, el('tbody', {},
    ...Object.entries(obj).map(([k, v]) => el('tr', {}, el('td', {}, k), el('td', {}, valueText(v))))));
}

function showSpan(s) {
  const panel = $('span-panel');
  const statusText = ['unset', 'ok', 'error'][s.status] || String(s.status);
  const head = {
    'span id': s.span_id,
    'parent span id': s.parent_span_id || '(root)',
    kind: KINDS[s.kind] || s.kind,
    status: statusText + (s.status_message ? ': ' + s.status_message : ''),
    start: fmtTime(s.start_ms),
    duration: fmtDuration(s.duration_ms),
    service: s.service,
    scope: s.scope_name + (s.scope_version ? ' ' + s.scope_version : ''),
  };
  if (s.session_id) head.session = s.session_id;
  if (s.user_id) head.user = s.user_id;
  const parts = [el('h3', {}, s.name), kvTable(head)];

  const groups = new Map();
  for (const [k, v] of Object.entries(s.attributes || {})) {
    const ns = namespaceOf(k);
    if (!groups.has(ns)) groups.set(ns, []);
    groups.get(ns).push([k, v]);
  }
  const first = ['honeyhive_inputs', 'honeyhive_outputs'];
  const names = [...groups.keys()].sort((a, b) => {
    const ia = first.indexOf(a), ib = first.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
  for (const ns of names) {
    const entries = groups.get(ns);
    const section = el('section', { class: 'attr-group', 'data-namespace': ns }, el('h4', {}, ns));
    if (ns === 'honeyhive_inputs' || ns === 'honeyhive_outputs') {
      section.append(el('pre', { class: 'json' }, JSON.stringify(nest(entries, ns.length + 1), null, 2)));
    } else {
      section.append(el('table', { class: 'kv' }, el('tbody', {},
        ...entries.map(([k, v]) => el('tr', { 'data-key': k }, el('td', {}, k), el('td', {}, valueText(v)))))));
    }
    parts.push(section);
  }
  if (s.events.length) {
    parts.push(el('h4', {}, 'events'));
    for (const e of s.events) {
      parts.push(el('div', { class: 'event' },
        el('strong', {}, e.name), ' +', fmtDuration(e.time_ms - s.start_ms)));
      if (Object.keys(e.attributes).length) parts.push(kvTable(e.attributes));
    }
  }
  if (s.links.length) {
    parts.push(el('h4', {}, 'links'));
    for (const l of s.links) {
      parts.push(el('div', { class: 'mono' }, `${l.trace_id} / ${l.span_id}`));
      if (Object.keys(l.attributes).length) parts.push(kvTable(l.attributes));
    }
  }
  parts.push(el('h4', {}, 'resource'), kvTable(s.resource || {}));
  panel.replaceChildren(...parts);
}

// ---- sessions ----------------------------------------------------------------------------------

async function loadSessions() {
  const { sessions } = await api('/api/sessions?limit=200');
  const tbody = $('session-table').querySelector('tbody');
  tbody.replaceChildren(...sessions.map((s) => el('tr', {
      onclick: () => { location.hash = '#/session/' + encodeURIComponent(s.session_id); } },
    el('td', { class: 'mono' }, fmtTime(s.start_ms + s.duration_ms)),
    el('td', { class: 'mono' }, s.session_id),
    el('td', {}, s.service),
    el('td', {}, s.user_id),
    el('td', { class: 'num' }, s.trace_count),
    el('td', { class: 'num' }, s.span_count),
    el('td', { class: 'num' }, s.error_count))));
  $('session-empty').hidden = sessions.length > 0;
}

async function loadSession(id) {
  const { spans } = await api('/api/sessions/' + encodeURIComponent(id));
  $('session-head').replaceChildren(el('h2', {}, 'Session ' + id),
    el('p', { class: 'muted' }, `${spans.length} operations`));
  const io = (s, prefix, label) => {
    const entries = Object.entries(s.attributes).filter(([k]) => k.startsWith(prefix));
    if (!entries.length) return null;
    return el('div', { class: 'io' }, el('div', { class: 'label' }, label),
      el('pre', { class: 'json' }, JSON.stringify(nest(entries, prefix.length), null, 2)));
  };
  $('transcript').replaceChildren(...spans.map((s) => el('li', {},
    el('div', {}, el('span', { class: 'op' }, s.name), ' ',
      el('span', { class: 'muted' }, `${s.event_type || KINDS[s.kind]} · ${fmtTime(s.start_ms)} · ${fmtDuration(s.duration_ms)}`), ' ',
      el('a', { href: '#/trace/' + s.trace_id }, 'trace'),
      s.status === 2 ? el('span', { class: 'status-error' }, ' error ' + s.status_message) : null),
    io(s, 'honeyhive_inputs.', 'inputs'),
    io(s, 'honeyhive_outputs.', 'outputs'))));
}

// ---- stats -------------------------------------------------------------------------------------

async function loadStats() {
  const s = await api('/api/stats');
  const rows = {
    store: s.path,
    'file size': fmtBytes(s.file_bytes),
    'spans stored': s.spans_stored,
    'traces stored': s.traces_stored,
    'sessions stored': s.sessions_stored,
    'spans ingested (all time)': s.spans_accepted,
    'spans rejected (partial success)': s.spans_rejected,
    'spans deleted by retention': s.spans_deleted,
    'requests (all time)': s.requests,
    'requests failed (all time)': s.requests_failed,
    'bytes received': fmtBytes(s.bytes_received),
  };
  if (s.server) {
    for (const [k, v] of Object.entries(s.server)) rows['this run: ' + k.replaceAll('_', ' ')] = v;
  }
  $('stats-table').querySelector('tbody').replaceChildren(
    ...Object.entries(rows).map(([k, v]) => el('tr', {}, el('td', {}, k), el('td', {}, String(v)))));
}

async function refreshIngest() {
  try {
    const s = await api('/api/stats');
    $('ingest').textContent = `${s.spans_stored} spans stored · ${s.spans_rejected} rejected · ${fmtBytes(s.file_bytes)}`;
  } catch (e) { $('ingest').textContent = ''; }
}

// ---- routing -----------------------------------------------------------------------------------

async function route() {
  showError(null);
  const h = location.hash || '#/traces';
  const m = h.match(/^#\/(\w+)(?:\/(.+))?$/) || [];
  try {
    switch (m[1]) {
      case 'trace': show('trace'); await loadTrace(decodeURIComponent(m[2])); break;
      case 'sessions': show('sessions'); await loadSessions(); break;
      case 'session': show('session'); await loadSession(decodeURIComponent(m[2])); break;
      case 'stats': show('stats'); await loadStats(); break;
      default: show('traces'); oldest = null; await loadTraces(false); loadServices();
    }
  } catch (e) {
    showError(e);
  }
  refreshIngest();
}

document.addEventListener('DOMContentLoaded', () => {
  $('filters').addEventListener('submit', (ev) => {
    ev.preventDefault();
    oldest = null;
    loadTraces(false).catch(showError);
  });
  $('f-clear').addEventListener('click', () => {
    $('filters').reset();
    oldest = null;
    loadTraces(false).catch(showError);
  });
  $('more').addEventListener('click', () => loadTraces(true).catch(showError));
  window.addEventListener('hashchange', route);
  route();
  setInterval(() => {
    if (!document.hidden && (location.hash || "#/traces") === "#/traces" && !paged) {
      loadTraces(false).catch(() => {});
    }
    refreshIngest();
  }, 5000);
});
