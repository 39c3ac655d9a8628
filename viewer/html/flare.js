// flare view: flame graphs and a thread timeline from the data flare wrote
// into this page (viewer/html_page.h describes it). Plain DOM and canvas, no
// libraries, nothing fetched.
'use strict';

const data = JSON.parse(document.getElementById('flare-data').textContent);
const STYLE_CLASS = ['user', 'kernel', 'marker'];
const STATE_NAME = ['unknown', 'sleeping', 'uninterruptible', 'preempted'];
const STATE_COLOR = ['#9e9e9e', '#64b5f6', '#e53935', '#ffa726'];
const RUNQ_COLOR = '#fff176';
const CPU_COLOR = '#2e7d32';
const FRAME_HEIGHT = 17;
const LABEL_WIDTH = 150;
const ROW_HEIGHT = 16;

const state = {
  view: 0,           // index into data.views
  callers: false,
  tid: 0,            // 0: all threads
  search: '',
  range: null,       // [fromNs, toNs) or null for the whole capture
  zoomPath: [],      // names from the root of the shown tree to the zoomed frame
};

// ---- the call tree shipped by flare -------------------------------------

const nodeCount = data.parent.length;
const children = Array.from({length: nodeCount}, () => []);
for (let i = 1; i < nodeCount; i++) children[data.parent[i]].push(i);

function pathOf(node) {  // names, root first, without the root
  const names = [];
  for (let n = node; n !== 0; n = data.parent[n]) names.push(data.names[data.nameOf[n]]);
  return names.reverse();
}

// ---- formatting ----------------------------------------------------------

function formatNs(ns) {
  if (ns >= 1e9) return (ns / 1e9).toFixed(ns >= 1e10 ? 1 : 2) + ' s';
  if (ns >= 1e6) return (ns / 1e6).toFixed(ns >= 1e7 ? 1 : 2) + ' ms';
  if (ns >= 1e3) return (ns / 1e3).toFixed(1) + ' µs';
  return Math.round(ns) + ' ns';
}

function formatBytes(b) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) { b /= 1024; i++; }
  return (i === 0 ? Math.round(b) : b.toFixed(1)) + ' ' + units[i];
}

function formatValue(v, unit) {
  if (unit === 'samples') {
    const s = Math.round(v) + (Math.round(v) === 1 ? ' sample' : ' samples');
    return data.periodNs ? s + ' (' + formatNs(v * data.periodNs) + ')' : s;
  }
  if (unit === 'bytes') return formatBytes(v);
  return formatNs(v);
}

function percent(part, whole) {
  return whole > 0 ? (100 * part / whole).toFixed(2) + '%' : '0%';
}

// ---- the entries a flame graph is built from ----------------------------

const currentView = () => data.views[state.view];
const rangeSignals = new Set(['cpu', 'offcpu', 'wall']);

// Self weight per call-tree node of one view, after the thread filter and
// the selected time range.
function selfWeights(view, useRange) {
  const self = new Float64Array(nodeCount);
  const keep = (tid) => state.tid === 0 || tid === state.tid;
  if (!useRange || !state.range || !rangeSignals.has(view.signal)) {
    for (let i = 0; i < view.node.length; i++) if (keep(view.tid[i])) self[view.node[i]] += view.weight[i];
    return self;
  }
  const [from, to] = state.range;
  const tl = data.timeline;
  if (view.signal !== 'offcpu') {
    // A cell counts when its bucket starts inside the range.
    const perSample = view.signal === 'cpu' ? 1 : data.periodNs;
    const cpu = tl.cpu;
    for (let i = 0; i < cpu.node.length; i++) {
      const t = cpu.bucket[i] * tl.bucketNs;
      if (t >= from && t < to && keep(cpu.tid[i])) self[cpu.node[i]] += cpu.count[i] * perSample;
    }
  }
  if (view.signal !== 'cpu') {
    const o = tl.offcpu;
    for (let i = 0; i < o.node.length; i++) {
      if (!keep(o.tid[i])) continue;
      const start = o.start[i], end = start + o.blocked[i] + o.runq[i];
      const overlap = Math.min(end, to) - Math.max(start, from);
      if (overlap > 0) self[o.node[i]] += overlap;
    }
  }
  return self;
}

// A displayable tree {name, style, total, self, base, children}: the call
// tree itself, or inverted (leaf functions at the top level) in callers mode.
function buildTree(self, baseSelf) {
  const root = {name: 'all', style: 2, total: 0, self: 0, base: 0, children: []};
  if (state.callers) {
    // One map for the whole inverted tree, keyed by (parent id, name id).
    const nameCount = data.names.length;
    const byKey = new Map();
    let nextId = 1;
    root.id = 0;
    for (let n = 1; n < nodeCount; n++) {
      const w = self[n], b = baseSelf ? baseSelf[n] : 0;
      if (w === 0 && b === 0) continue;
      root.total += w; root.base += b;
      let at = root;
      for (let m = n; m !== 0; m = data.parent[m]) {
        const nameId = data.nameOf[m];
        const key = at.id * nameCount + nameId;
        let next = byKey.get(key);
        if (!next) {
          next = {id: nextId++, name: data.names[nameId], style: data.styles[nameId], total: 0, self: 0, base: 0,
                  children: []};
          byKey.set(key, next);
          at.children.push(next);
        }
        next.total += w; next.base += b;
        at = next;
      }
      at.self += w;
    }
    return root;
  }
  const total = Float64Array.from(self);
  const baseTotal = baseSelf ? Float64Array.from(baseSelf) : null;
  for (let n = nodeCount - 1; n > 0; n--) {
    total[data.parent[n]] += total[n];
    if (baseTotal) baseTotal[data.parent[n]] += baseTotal[n];
  }
  const make = (n) => {
    const nameId = data.nameOf[n];
    const out = {name: n === 0 ? 'all' : data.names[nameId], style: n === 0 ? 2 : data.styles[nameId],
                 total: total[n], self: self[n], base: baseTotal ? baseTotal[n] : 0, children: []};
    for (const c of children[n]) {
      if (total[c] > 0 || (baseTotal && baseTotal[c] > 0)) out.children.push(make(c));
    }
    return out;
  };
  return make(0);
}

// ---- flame graph ----------------------------------------------------------

const flameEl = document.getElementById('flame');
const tooltip = document.getElementById('tooltip');
let shownRoot = null;      // the tree of the current view
let frameInfo = [];        // per rendered frame element: its tree node and path

function zoomTarget(root) {
  let at = root;
  for (const name of state.zoomPath) {
    const next = at.children.find((c) => c.name === name);
    if (!next) { state.zoomPath = []; return root; }
    at = next;
  }
  return at;
}

function diffColor(node, newTotal, baseTotal) {
  const now = newTotal > 0 ? node.total / newTotal : 0;
  const before = baseTotal > 0 ? node.base / baseTotal : 0;
  const change = now - before;
  const strength = Math.min(1, Math.abs(change) * 10);  // a 10-point share change is full colour
  const light = 95 - 40 * strength;
  return change >= 0 ? `hsl(0, 80%, ${light}%)` : `hsl(215, 80%, ${light}%)`;
}

// The tree for the current view, thread, range and mode; zooming and
// searching reuse it, so they only redraw.
let treeKey = '';
function currentTree() {
  const key = [state.view, state.tid, state.range, state.callers].join('|');
  if (key !== treeKey || !shownRoot) {
    const view = currentView();
    const self = selfWeights(view, true);
    const baseSelf = data.diff ? selfWeights(data.baseViews[state.view], false) : null;
    shownRoot = buildTree(self, baseSelf);
    sortChildren(shownRoot);
    treeKey = key;
  }
  return shownRoot;
}

function sortChildren(node) {
  const stack = [node];
  while (stack.length) {
    const n = stack.pop();
    n.children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const c of n.children) stack.push(c);
  }
}

function renderFlame() {
  const view = currentView();
  currentTree();
  const zoomed = zoomTarget(shownRoot);
  const width = flameEl.clientWidth || 1000;
  // Frames under a pixel and a half are not drawn (they still count in their
  // parents' widths and in search shares): on a big profile they are most
  // of the tree and would cost more to lay out than everything visible.
  const minWidth = 1.5;
  const frag = document.createDocumentFragment();
  frameInfo = [];
  let maxDepth = 0;
  const query = state.search.toLowerCase();
  const place = (node, parentIndex, depth, x, w) => {
    const el = document.createElement('div');
    el.className = 'frame ' + (data.diff ? 'diff' : STYLE_CLASS[node.style] || 'user');
    if (query && node.name.toLowerCase().includes(query)) el.classList.add('match');
    if (data.diff) el.style.background = diffColor(node, shownRoot.total, shownRoot.base);
    el.style.left = x + 'px';
    el.style.width = w + 'px';
    el.style.top = depth * FRAME_HEIGHT + 'px';
    el.textContent = w > 20 ? node.name : '';
    el.dataset.name = node.name;
    el.dataset.index = frameInfo.length;
    const index = frameInfo.length;
    frameInfo.push({node, parentIndex});
    frag.appendChild(el);
    maxDepth = Math.max(maxDepth, depth);
    const scale = node.total > 0 ? w / node.total : 0;
    let cx = x;
    for (const c of node.children) {
      const cw = c.total * scale;
      if (cw >= minWidth) place(c, index, depth + 1, cx, cw);
      cx += cw;
    }
  };
  if (zoomed.total > 0 || zoomed === shownRoot) place(zoomed, -1, 0, 0, width);
  flameEl.replaceChildren(frag);
  flameEl.style.height = (maxDepth + 1) * FRAME_HEIGHT + 'px';
  renderBreadcrumbs();
  renderTotals(view);
  renderMatches(view);
}

function renderBreadcrumbs() {
  const el = document.getElementById('breadcrumbs');
  el.replaceChildren();
  const crumbs = ['all'].concat(state.zoomPath);
  crumbs.forEach((name, i) => {
    if (i > 0) {
      const sep = document.createElement('span');
      sep.className = 'sep';
      sep.textContent = '›';
      el.appendChild(sep);
    }
    const a = document.createElement(i === crumbs.length - 1 ? 'span' : 'a');
    a.textContent = name;
    if (i < crumbs.length - 1) a.onclick = () => { state.zoomPath = state.zoomPath.slice(0, i); renderFlame(); };
    el.appendChild(a);
  });
}

function renderTotals(view) {
  let text = 'Total: ' + formatValue(shownRoot.total, view.unit);
  if (data.diff) text = 'New: ' + formatValue(shownRoot.total, view.unit) + ' · base: ' +
                        formatValue(shownRoot.base, view.unit) + ' · red grew, blue shrank (share of total)';
  if (state.range) text += ' in ' + formatNs(state.range[0]) + ' – ' + formatNs(state.range[1]);
  if (state.range && !rangeSignals.has(view.signal)) text += ' (time ranges apply to cpu, offcpu and wall; this is the whole capture)';
  if (state.callers) text += ' · callers mode: leaf functions at the top';
  document.getElementById('total').textContent = text;
}

// The share of the matched frames: a match below another match is already
// inside that one's total, so only the topmost matches add up.
function matchedWeight(node, query) {
  if (node.name.toLowerCase().includes(query) && node !== shownRoot) return node.total;
  let sum = 0;
  for (const c of node.children) sum += matchedWeight(c, query);
  return sum;
}

function renderMatches(view) {
  const el = document.getElementById('matches');
  if (!state.search) { el.textContent = ''; return; }
  const matched = matchedWeight(shownRoot, state.search.toLowerCase());
  el.textContent = 'matched: ' + formatValue(matched, view.unit) + ' = ' + percent(matched, shownRoot.total);
  el.dataset.share = shownRoot.total > 0 ? String(matched / shownRoot.total) : '0';
}

// Highlights the drawn frames that match, without rebuilding anything.
function renderSearch() {
  const query = state.search.toLowerCase();
  const els = flameEl.children;
  for (let i = 0; i < els.length; i++) {
    els[i].classList.toggle('match', query !== '' && frameInfo[i].node.name.toLowerCase().includes(query));
  }
  renderMatches(currentView());
}

function frameTooltip(info) {
  const view = currentView();
  const {node} = info;
  const zoomed = zoomTarget(shownRoot);
  const lines = [node.name,
    'total: ' + formatValue(node.total, view.unit) + ' · ' + percent(node.total, shownRoot.total) + ' of all' +
      (zoomed !== shownRoot ? ' · ' + percent(node.total, zoomed.total) + ' of zoomed' : ''),
    'self: ' + formatValue(node.self, view.unit) + ' · ' + percent(node.self, shownRoot.total)];
  if (data.diff) {
    lines.push('base: ' + formatValue(node.base, view.unit) + ' · ' + percent(node.base, shownRoot.base) + ' of base');
  }
  return lines.join('\n');
}

// Names from the shown tree's root down to a drawn frame: the zoomed
// frame's own path, then the drawn frames above it.
function zoomPathOf(index) {
  const below = [];
  for (let i = index; frameInfo[i].parentIndex !== -1; i = frameInfo[i].parentIndex) below.push(frameInfo[i].node.name);
  return state.zoomPath.concat(below.reverse());
}

flameEl.addEventListener('click', (e) => {
  const el = e.target.closest('.frame');
  if (!el) return;
  state.zoomPath = zoomPathOf(+el.dataset.index);
  renderFlame();
});
flameEl.addEventListener('mousemove', (e) => {
  const el = e.target.closest('.frame');
  if (!el) { hideTooltip(); return; }
  showTooltip(frameTooltip(frameInfo[+el.dataset.index]), e);
});
flameEl.addEventListener('mouseleave', hideTooltip);

function showTooltip(text, e) {
  tooltip.textContent = text;
  tooltip.hidden = false;
  const x = Math.min(e.clientX + 14, window.innerWidth - tooltip.offsetWidth - 8);
  const y = e.clientY + 16 + tooltip.offsetHeight > window.innerHeight ? e.clientY - tooltip.offsetHeight - 8 : e.clientY + 16;
  tooltip.style.left = Math.max(0, x) + 'px';
  tooltip.style.top = Math.max(0, y) + 'px';
}
function hideTooltip() { tooltip.hidden = true; }

// ---- timeline -------------------------------------------------------------

const canvas = document.getElementById('timeline');
const threadRow = new Map();   // tid -> row index among the shown threads
let timelineThreads = [];
let plotWidth = 1;
let drag = null;               // {x0, x1} in canvas pixels while selecting

// Per-thread activity (samples per thread and fine bucket), for drawing.
const cpuByThread = new Map();  // tid -> Map(bucket -> samples)
const activityNs = data.timeline.activity.bucketNs;
{
  const c = data.timeline.activity;
  for (let i = 0; i < c.tid.length; i++) {
    let m = cpuByThread.get(c.tid[i]);
    if (!m) cpuByThread.set(c.tid[i], m = new Map());
    m.set(c.bucket[i], (m.get(c.bucket[i]) || 0) + c.count[i]);
  }
}
const spansByThread = new Map();  // tid -> span indices in time order
{
  const o = data.timeline.offcpu;
  for (let i = 0; i < o.tid.length; i++) {
    if (!spansByThread.has(o.tid[i])) spansByThread.set(o.tid[i], []);
    spansByThread.get(o.tid[i]).push(i);
  }
}

const timeToX = (t) => LABEL_WIDTH + (data.durationNs > 0 ? t / data.durationNs : 0) * plotWidth;
const xToTime = (x) => Math.max(0, Math.min(data.durationNs, (x - LABEL_WIDTH) / plotWidth * data.durationNs));

function renderTimeline() {
  const active = data.threads.filter((t) => cpuByThread.has(t.tid) || spansByThread.has(t.tid));
  timelineThreads = active.filter((t) => state.tid === 0 || t.tid === state.tid);
  threadRow.clear();
  timelineThreads.forEach((t, i) => threadRow.set(t.tid, i));
  const cssWidth = canvas.parentElement.clientWidth || 1000;
  const cssHeight = Math.max(1, timelineThreads.length) * ROW_HEIGHT + 4;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = cssWidth * ratio;
  canvas.height = cssHeight * ratio;
  canvas.style.width = cssWidth + 'px';
  canvas.style.height = cssHeight + 'px';
  plotWidth = Math.max(1, cssWidth - LABEL_WIDTH - 8);
  const g = canvas.getContext('2d');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, cssWidth, cssHeight);
  g.font = '11px system-ui, sans-serif';
  g.textBaseline = 'middle';
  const bucketNs = activityNs;
  const maxPerBucket = Math.max(1, bucketNs / (data.periodNs || bucketNs));
  timelineThreads.forEach((t, row) => {
    const y = row * ROW_HEIGHT;
    g.fillStyle = row % 2 ? '#f7f7f7' : '#fff';
    g.fillRect(0, y, cssWidth, ROW_HEIGHT);
    g.fillStyle = '#333';
    g.fillText(`${t.name} (${t.tid})`.slice(0, 24), 4, y + ROW_HEIGHT / 2);
    for (const i of spansByThread.get(t.tid) || []) {
      const o = data.timeline.offcpu;
      const x0 = timeToX(o.start[i]), x1 = timeToX(o.start[i] + o.blocked[i]), x2 = timeToX(o.start[i] + o.blocked[i] + o.runq[i]);
      g.fillStyle = STATE_COLOR[o.state[i]] || STATE_COLOR[0];
      g.fillRect(x0, y + 3, Math.max(0.5, x1 - x0), ROW_HEIGHT - 6);
      if (x2 > x1) { g.fillStyle = RUNQ_COLOR; g.fillRect(x1, y + 3, Math.max(0.5, x2 - x1), ROW_HEIGHT - 6); }
    }
    const cells = cpuByThread.get(t.tid);
    if (cells) {
      const w = Math.max(1, timeToX(bucketNs) - timeToX(0));
      for (const [bucket, count] of cells) {
        g.globalAlpha = 0.35 + 0.65 * Math.min(1, count / maxPerBucket);
        g.fillStyle = CPU_COLOR;
        g.fillRect(timeToX(bucket * bucketNs), y + 2, w, ROW_HEIGHT - 4);
      }
      g.globalAlpha = 1;
    }
  });
  // Wake-up links: from the waker's row to the wakee's, at the wakeup.
  const o = data.timeline.offcpu;
  g.strokeStyle = '#7b1fa2';
  g.lineWidth = 1;
  g.beginPath();
  for (let i = 0; i < o.tid.length; i++) {
    if (!o.wakerTid[i] || !threadRow.has(o.wakerTid[i]) || !threadRow.has(o.tid[i])) continue;
    const x = timeToX(o.start[i] + o.blocked[i]);
    const from = threadRow.get(o.wakerTid[i]) * ROW_HEIGHT + ROW_HEIGHT / 2;
    const to = threadRow.get(o.tid[i]) * ROW_HEIGHT + ROW_HEIGHT / 2;
    g.moveTo(x, from);
    g.lineTo(x, to);
    g.moveTo(x - 2, to - (to > from ? 3 : -3));
    g.lineTo(x, to);
    g.lineTo(x + 2, to - (to > from ? 3 : -3));
  }
  g.stroke();
  const sel = drag ? [Math.min(drag.x0, drag.x1), Math.max(drag.x0, drag.x1)]
                   : state.range ? [timeToX(state.range[0]), timeToX(state.range[1])] : null;
  if (sel) {
    g.fillStyle = 'rgba(21, 101, 192, 0.18)';
    g.fillRect(sel[0], 0, sel[1] - sel[0], cssHeight);
    g.strokeStyle = '#1565c0';
    g.strokeRect(sel[0], 0, sel[1] - sel[0], cssHeight);
  }
}

function stackText(node, leafFirst) {
  const names = pathOf(node);
  if (leafFirst) names.reverse();
  return names.slice(0, 30).map((n) => '  ' + n).join('\n') + (names.length > 30 ? '\n  …' : '');
}

function threadName(tid) {
  const t = data.threads.find((x) => x.tid === tid);
  return t ? `${t.name} (${tid})` : `tid ${tid}`;
}

function timelineTooltip(x, y) {
  const row = Math.floor(y / ROW_HEIGHT);
  const thread = timelineThreads[row];
  if (!thread || x < LABEL_WIDTH) return null;
  const t = xToTime(x);
  const slack = data.durationNs / plotWidth * 2;  // two pixels
  const o = data.timeline.offcpu;
  for (const i of spansByThread.get(thread.tid) || []) {
    const end = o.start[i] + o.blocked[i] + o.runq[i];
    if (t < o.start[i] - slack || t > end + slack) continue;
    const lines = [`${threadName(thread.tid)} off CPU at ${formatNs(o.start[i])}: ${STATE_NAME[o.state[i]] || 'unknown'}`,
      `blocked ${formatNs(o.blocked[i])}, then ${formatNs(o.runq[i])} in the run queue`,
      'blocked in (leaf first):', stackText(o.node[i], true)];
    if (o.wakerTid[i]) lines.push(`woken by ${threadName(o.wakerTid[i])} in:`, stackText(o.wakerNode[i], true));
    return lines.join('\n');
  }
  const bucketNs = activityNs;
  const bucket = Math.floor(t / bucketNs);
  const count = (cpuByThread.get(thread.tid) || new Map()).get(bucket);
  if (count) return `${threadName(thread.tid)} on CPU: ${count} sample${count === 1 ? '' : 's'} in ` +
                    `${formatNs(bucket * bucketNs)} – ${formatNs((bucket + 1) * bucketNs)}`;
  return threadName(thread.tid);
}

function canvasPoint(e) {
  const r = canvas.getBoundingClientRect();
  return [e.clientX - r.left, e.clientY - r.top];
}

canvas.addEventListener('mousedown', (e) => {
  const [x] = canvasPoint(e);
  drag = {x0: Math.max(LABEL_WIDTH, x), x1: Math.max(LABEL_WIDTH, x)};
  e.preventDefault();
});
window.addEventListener('mousemove', (e) => {
  if (drag) {
    drag.x1 = Math.max(LABEL_WIDTH, canvasPoint(e)[0]);
    renderTimeline();
    return;
  }
  if (e.target !== canvas) return;
  const [x, y] = canvasPoint(e);
  const text = timelineTooltip(x, y);
  if (text) showTooltip(text, e); else hideTooltip();
});
canvas.addEventListener('mouseleave', () => { if (!drag) hideTooltip(); });
window.addEventListener('mouseup', () => {
  if (!drag) return;
  const a = xToTime(Math.min(drag.x0, drag.x1)), b = xToTime(Math.max(drag.x0, drag.x1));
  drag = null;
  if (Math.abs(timeToX(b) - timeToX(a)) >= 3) setRange([a, b]); else renderTimeline();
});

function setRange(range) {
  state.range = range;
  document.getElementById('clear-range').hidden = !range;
  document.getElementById('range-info').textContent = range ? `· selected ${formatNs(range[0])} – ${formatNs(range[1])}` : '';
  renderTimeline();
  renderFlame();
}

// ---- controls -------------------------------------------------------------

function setup() {
  document.getElementById('title').textContent = data.title;
  document.getElementById('subtitle').textContent = data.subtitle;
  const notes = [];
  if (data.timeline.offcpu.omitted > 0) {
    notes.push(`The timeline shows the ${data.timeline.offcpu.tid.length} longest off-CPU intervals; ` +
               `${data.timeline.offcpu.omitted} shorter ones are left out of it (the flame graphs count them all).`);
  }
  if (data.timeline.bucketNs > (data.periodNs || 0) && data.timeline.cpu.tid.length > 0) {
    notes.push(`A selected time range counts CPU samples in ${formatNs(data.timeline.bucketNs)} steps ` +
               '(the recording has too many distinct stacks over time to keep each sample\'s time).');
  }
  document.getElementById('notes').textContent = notes.join(' ');
  const views = document.getElementById('views');
  data.views.forEach((v, i) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = v.signal;
    b.dataset.view = v.signal;
    b.onclick = () => {
      state.view = i;
      state.zoomPath = [];
      for (const other of views.children) other.classList.toggle('active', other === b);
      renderFlame();
    };
    if (i === state.view) b.classList.add('active');
    views.appendChild(b);
  });
  const select = document.getElementById('thread');
  const all = new Option('all threads', '0');
  select.appendChild(all);
  for (const t of data.threads) select.appendChild(new Option(`${t.name} (${t.tid})`, String(t.tid)));
  select.onchange = () => { state.tid = +select.value; state.zoomPath = []; renderTimeline(); renderFlame(); };
  if (data.diff) {
    document.getElementById('thread-filter').hidden = true;
    document.getElementById('timeline-section').hidden = true;
  }
  document.getElementById('callers').onchange = (e) => { state.callers = e.target.checked; state.zoomPath = []; renderFlame(); };
  document.getElementById('search').oninput = (e) => { state.search = e.target.value; renderSearch(); };
  document.getElementById('clear-range').onclick = () => setRange(null);
  window.addEventListener('resize', () => { if (!data.diff) renderTimeline(); renderFlame(); });
}

setup();
if (!data.diff) renderTimeline();
renderFlame();

// For tests and the console: where things are on the page.
window.flare = {
  data, state, timeToX, setRange,
  rowOf: (tid) => threadRow.get(tid), rowHeight: ROW_HEIGHT,
  frames: () => frameInfo.map((f) => ({name: f.node.name, total: f.node.total})),
};
