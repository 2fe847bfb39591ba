// macridvae explorer: the page `macridvae serve` shows at `/` (plain ES module, no framework, no build step).
// It calls the HTTP API of docs/http-api.md (/health, /items, /recommend, /explain, /traverse) and the
// explorer's own routes (/explorer/concepts, /explorer/map; docs/explorer.md).
import { drawMap, nearestPoint } from './map.js';

const $ = (id) => document.getElementById(id);

/** Recommendations asked for per update. */
const K_RECS = 24;
/** Slider positions: 0 mutes, 50 is ×1, 100 is ×32 (weight 2^((v − 50)/10)). */
const SLIDER_MID = 50;

const state = {
  macrid: false,
  concepts: 1,
  d: 0,
  /** [{ id, title?, concept? }] */
  history: [],
  /** Slider position per concept. */
  slider: [],
  /** Mute toggle per concept (the slider keeps its place). */
  muted: [],
  labels: [],
  /** The last /recommend answer. */
  recs: undefined,
  map: undefined,
  mapIndex: new Map(),
  /** The last /traverse answer. */
  walk: undefined,
};

// Timings of every recommendation update: `ms` from the input that asked for it to the list on screen,
// `fetchMs` of which the /recommend request took; read by the browser test, `ms` shown under the list.
window.explorer = { timings: [], updates: 0, state };

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'style') for (const [p, x] of Object.entries(v)) e.style.setProperty(p, x);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else if (v !== undefined && v !== false) e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) e.append(c);
  return e;
}

function say(message) {
  $('status').textContent = message ?? '';
}

async function api(method, path, body) {
  const r = await fetch(path, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(j.message || `${method} ${path}: HTTP ${r.status}`);
  return j;
}

const itemName = (it) => it.title || `item ${it.id}`;
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

function weight(k) {
  const v = state.slider[k];
  return state.muted[k] || v === 0 ? 0 : 2 ** ((v - SLIDER_MID) / 10);
}

/** Concept k's colour, from the server (the palette of `analyze`'s figures). */
function conceptColour(k) {
  return state.labels[k]?.colour ?? '#8a93a3';
}

function conceptName(k) {
  const l = state.labels[k];
  const cat = l?.distinctive?.name ?? l?.category?.name;
  return cat ? `Concept ${k} · ${cat}` : `Concept ${k}`;
}

// ---------- history ----------

function renderHistory() {
  const ul = $('history');
  ul.replaceChildren(
    ...state.history.map((it, j) =>
      el(
        'li',
        { style: it.concept !== undefined ? { '--c': conceptColour(it.concept) } : {}, title: `id ${it.id}` },
        el('span', {}, itemName(it)),
        el(
          'button',
          { type: 'button', 'aria-label': `Remove ${itemName(it)} from the history`, onclick: () => removeItem(j) },
          '×',
        ),
      ),
    ),
  );
  $('history-empty').hidden = state.history.length > 0;
  renderTraverseStarts();
}

function addItems(items) {
  const have = new Set(state.history.map((x) => x.id));
  let added = 0;
  for (const it of items) {
    if (have.has(it.id)) continue;
    have.add(it.id);
    state.history.push({ id: it.id, title: it.title });
    added++;
  }
  if (added > 0) historyChanged();
}

function removeItem(j) {
  state.history.splice(j, 1);
  historyChanged();
}

async function historyChanged() {
  renderHistory();
  update('history');
  if (!state.macrid || state.history.length === 0) return;
  // The history items' own concepts (chip colours) and titles for pasted ids.
  try {
    const ids = state.history.map((x) => x.id);
    const r = await api('POST', '/explain', { history: ids, onUnknown: 'skip' });
    const byId = new Map(r.items.map((x) => [x.id, x]));
    for (const it of state.history) {
      const x = byId.get(it.id);
      if (x) {
        it.concept = x.concept;
        it.title ??= x.title;
      }
    }
    renderHistory();
  } catch (e) {
    say(e.message);
  }
}

let searchTimer;
let searchSeq = 0;
async function search() {
  const q = $('search').value.trim();
  const seq = ++searchSeq;
  if (q === '') {
    $('search-results').replaceChildren();
    return;
  }
  try {
    const r = await api('GET', `/items?q=${encodeURIComponent(q)}&limit=12`);
    if (seq !== searchSeq) return;
    const list = r.items.map((it) =>
      el(
        'li',
        {},
        el(
          'button',
          {
            type: 'button',
            'aria-label': `Add ${itemName(it)} (id ${it.id}) to the history`,
            onclick: () => addItems([it]),
          },
          el('span', {}, itemName(it)),
          el('span', { class: 'id' }, it.id),
          el('span', { class: 'add', 'aria-hidden': 'true' }, '+'),
        ),
      ),
    );
    $('search-results').replaceChildren(...(list.length ? list : [el('li', { class: 'empty' }, 'No item matches.')]));
  } catch (e) {
    say(e.message);
  }
}

// ---------- concepts ----------

function renderConcepts() {
  const box = $('concepts');
  if (!state.macrid) {
    $('concepts-panel').hidden = true;
    return;
  }
  box.replaceChildren(
    ...Array.from({ length: state.concepts }, (_, k) => {
      const l = state.labels[k];
      const typical = l?.items?.slice(0, 3).map(itemName).join(' · ') ?? '';
      const cat = l?.category;
      const dis = l?.distinctive;
      const catText = dis?.name ?? cat?.name ?? '';
      const catTitle = [
        cat && `${cat.name}: ${Math.round(100 * cat.share)} % of its items`,
        dis && dis.name !== cat?.name && `${dis.name}: ×${dis.lift.toFixed(1)} its share of the catalogue`,
        l && `${l.size} items, ${Math.round(100 * l.clicks)} % of the clicks`,
      ]
        .filter(Boolean)
        .join('; ');
      const range = el('input', {
        type: 'range',
        id: `w-${k}`,
        min: 0,
        max: 100,
        step: 1,
        value: state.slider[k],
        'aria-label': `Weight of ${conceptName(k)}`,
        oninput: (ev) => {
          state.slider[k] = Number(ev.target.value);
          renderWeight(k);
          update('weights');
        },
      });
      return el(
        'div',
        { class: 'concept', id: `concept-${k}`, style: { '--c': conceptColour(k) } },
        el(
          'div',
          { class: 'concept-head' },
          el('strong', {}, `Concept ${k}`),
          el('span', { class: 'cat', title: catTitle }, catText),
          el('span', { class: 'pct', id: `share-${k}`, title: 'your history’s share of this concept' }, '–'),
        ),
        el('div', { class: 'typical', title: l?.items?.map(itemName).join('\n') ?? '' }, typical && `e.g. ${typical}`),
        el(
          'div',
          { class: 'share', 'aria-hidden': 'true' },
          el('span', { id: `sharebar-${k}`, style: { width: '0%' } }),
        ),
        el(
          'div',
          { class: 'control' },
          range,
          el('output', { id: `wout-${k}`, for: `w-${k}` }),
          el(
            'button',
            {
              type: 'button',
              id: `mute-${k}`,
              'aria-pressed': String(state.muted[k]),
              'aria-label': `Mute ${conceptName(k)}`,
              onclick: () => {
                state.muted[k] = !state.muted[k];
                renderWeight(k);
                update('weights');
              },
            },
            'Mute',
          ),
        ),
      );
    }),
  );
  for (let k = 0; k < state.concepts; k++) renderWeight(k);
}

function renderWeight(k) {
  const w = weight(k);
  const text = w === 0 ? 'muted' : `×${w < 10 ? w.toFixed(2) : w.toFixed(0)}`;
  const out = $(`wout-${k}`);
  if (!out) return;
  out.textContent = text;
  $(`w-${k}`).setAttribute('aria-valuetext', text);
  $(`w-${k}`).value = String(state.slider[k]);
  $(`mute-${k}`).setAttribute('aria-pressed', String(state.muted[k]));
  $(`concept-${k}`).classList.toggle('muted-concept', w === 0);
}

function renderShares(shares) {
  for (let k = 0; k < state.concepts; k++) {
    const s = shares?.[k] ?? 0;
    const pct = $(`share-${k}`);
    if (!pct) return;
    pct.textContent = shares ? `${Math.round(100 * s)} %` : '–';
    $(`sharebar-${k}`).style.width = `${Math.min(100, 100 * s).toFixed(1)}%`;
  }
}

// ---------- recommendations ----------

let inflight = false;
let pending;

/** Asks for new recommendations; while one request is in flight, the newest wish waits (coalesced). */
function update(reason) {
  const t0 = performance.now();
  if (inflight) {
    pending = { t0: pending?.t0 ?? t0, reason };
    return;
  }
  inflight = true;
  (async () => {
    let job = { t0, reason };
    while (job) {
      await recommend(job);
      job = pending;
      pending = undefined;
    }
    inflight = false;
  })();
}

async function recommend(job) {
  const weights = Array.from({ length: state.concepts }, (_, k) => weight(k));
  let fetchMs = 0;
  $('recs').setAttribute('aria-busy', 'true');
  try {
    if (state.macrid && weights.every((w) => w === 0)) {
      state.recs = { items: [], unknown: [] };
      renderRecs('Every concept is muted: unmute one to get recommendations.');
    } else {
      const body = { history: state.history.map((x) => x.id), k: K_RECS, onUnknown: 'skip' };
      if (state.macrid) {
        body.explain = true;
        body.conceptWeights = weights;
      }
      const t1 = performance.now();
      state.recs = await api('POST', '/recommend', body);
      fetchMs = performance.now() - t1;
      if (state.recs.unknown?.length) {
        const unknown = new Set(state.recs.unknown);
        state.history = state.history.filter((x) => !unknown.has(x.id));
        renderHistory();
        say(`Not in the model's catalogue (removed): ${state.recs.unknown.join(', ')}`);
      }
      renderRecs();
      renderShares(state.recs.concepts);
      renderTraverseStarts();
    }
    const ms = performance.now() - job.t0;
    window.explorer.timings.push({ reason: job.reason, ms, fetchMs });
    $('recs-meta').textContent =
      `${plural(state.recs.items.length, 'item')}${state.recs.fallback ? ' (most popular: the history is empty)' : ''}` +
      ` · updated in ${Math.round(ms)} ms`;
  } catch (e) {
    say(e.message);
  } finally {
    $('recs').setAttribute('aria-busy', 'false');
    window.explorer.updates++;
    drawMarks();
  }
}

function renderRecs(message) {
  const box = $('recs');
  const items = state.recs?.items ?? [];
  if (items.length === 0) {
    box.replaceChildren(el('p', { class: 'empty' }, message ?? 'No recommendations.'));
    return;
  }
  const groups = new Map();
  items.forEach((it, r) => {
    const k = it.concept ?? -1;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push({ ...it, rank: r + 1 });
  });
  const order = [...groups.keys()].sort((a, b) => a - b);
  box.replaceChildren(
    ...order.map((k) =>
      el(
        'section',
        {
          class: 'group',
          dataset: { concept: String(k) },
          style: { '--c': k >= 0 ? conceptColour(k) : 'var(--line)' },
          'aria-label': k >= 0 ? conceptName(k) : 'Recommendations',
        },
        el(
          'h3',
          {},
          k >= 0 ? conceptName(k) : 'Recommendations',
          el('span', { class: 'n' }, plural(groups.get(k).length, 'item')),
        ),
        el(
          'ol',
          {},
          groups.get(k).map((it) =>
            el(
              'li',
              {
                class: 'rec',
                dataset: { id: it.id, concept: String(k) },
                title: `id ${it.id} · score ${it.score.toFixed(3)}`,
              },
              el('span', { class: 'rank' }, `#${it.rank}`),
              el('span', { class: 'title' }, itemName(it)),
              el(
                'span',
                { class: 'sh', title: 'the concept’s share of this item’s probability' },
                it.share !== undefined ? `${Math.round(100 * it.share)} %` : it.score.toFixed(2),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

// ---------- traversal ----------

function renderTraverseStarts() {
  const sel = $('traverse-start');
  const keep = sel.value;
  const opts = [];
  if (state.macrid && state.history.length > 0) {
    for (let k = 0; k < state.concepts; k++) {
      opts.push(el('option', { value: `c:${k}` }, `Your component ${k} (${conceptName(k)})`));
    }
  }
  for (const it of state.history) opts.push(el('option', { value: `i:${it.id}` }, `Item: ${itemName(it)}`));
  for (const it of (state.recs?.items ?? []).slice(0, 5)) {
    if (!state.history.some((h) => h.id === it.id)) {
      opts.push(el('option', { value: `i:${it.id}` }, `Recommended: ${itemName(it)}`));
    }
  }
  if (opts.length === 0) opts.push(el('option', { value: '' }, 'add items to your history first'));
  sel.replaceChildren(...opts);
  if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
}

async function runTraverse(ev) {
  ev.preventDefault();
  const start = $('traverse-start').value;
  const dimension = Number($('traverse-dim').value);
  const steps = Number($('traverse-steps').value);
  if (!start) {
    $('traverse-meta').textContent = 'Add items to your history first.';
    return;
  }
  const body = { dimension, steps };
  if (start.startsWith('c:')) {
    body.history = state.history.map((x) => x.id);
    body.concept = Number(start.slice(2));
  } else body.item = start.slice(2);
  $('traverse-run').disabled = true;
  try {
    const r = await api('POST', '/traverse', body);
    state.walk = r;
    const [a, b] = r.range;
    $('traverse-meta').textContent =
      `${conceptName(r.concept)}, dimension ${dimension}: ${r.items.length} items, values ${a.toFixed(3)} … ${b.toFixed(3)}`;
    $('traverse-strip').replaceChildren(
      ...r.items.map((it, s) =>
        el(
          'li',
          { style: { '--c': conceptColour(r.concept) }, dataset: { id: it.id, value: String(it.value) } },
          el('div', { class: 'v' }, `${s + 1}. ${it.value.toFixed(3)}`),
          el(
            'div',
            { class: 'bar', 'aria-hidden': 'true' },
            el('span', { style: { width: `${(100 * (it.value - a)) / (b - a || 1)}%` } }),
          ),
          el('div', { class: 't', title: `id ${it.id}` }, itemName(it)),
        ),
      ),
    );
    drawMarks();
  } catch (e) {
    $('traverse-meta').textContent = e.message;
  } finally {
    $('traverse-run').disabled = false;
  }
}

// ---------- map ----------

let base;
function drawMarks() {
  if (!state.map) return;
  base = drawMap($('map'), state.map, conceptColour, {
    base,
    history: state.history.map((x) => state.mapIndex.get(x.id)).filter((i) => i !== undefined),
    recs: (state.recs?.items ?? []).map((x) => state.mapIndex.get(x.id)).filter((i) => i !== undefined),
    walk: (state.walk?.items ?? []).map((x) => state.mapIndex.get(x.id)).filter((i) => i !== undefined),
  });
}

async function loadMap() {
  if (!state.macrid) {
    $('map-meta').textContent = 'The map needs a MacridVAE model.';
    return;
  }
  $('map-meta').textContent = 'computing the map (t-SNE, a few seconds the first time)…';
  try {
    const t0 = performance.now();
    const m = await api('GET', '/explorer/map');
    state.map = m;
    state.mapIndex = new Map(m.ids.map((id, i) => [id, i]));
    const embedded = m.embedded.reduce((a, b) => a + b, 0);
    $('map-meta').textContent =
      `${m.ids.length} items: ${embedded} embedded by t-SNE (perplexity ${m.perplexity}, KL ${m.kl.toFixed(2)}), ` +
      `the others beside their nearest embedded items · ${((performance.now() - t0) / 1000).toFixed(1)} s`;
    $('map-legend').replaceChildren(
      ...Array.from({ length: state.concepts }, (_, k) =>
        el('li', {}, el('i', { style: { '--c': conceptColour(k) } }), conceptName(k)),
      ),
      el('li', {}, el('i', { class: 'ring' }), 'your history'),
      el('li', {}, el('i', { class: 'diamond' }), 'recommended'),
      el('li', {}, el('i', { class: 'path' }), 'traversal'),
    );
    drawMarks();
  } catch (e) {
    $('map-meta').textContent = `The map failed: ${e.message}`;
  }
}

function mapHover(ev) {
  const tip = $('map-tip');
  if (!state.map) return;
  const i = nearestPoint($('map'), state.map, ev.offsetX, ev.offsetY);
  if (i < 0) {
    tip.hidden = true;
    return;
  }
  const title = state.map.titles?.[i];
  tip.textContent = `${title || `item ${state.map.ids[i]}`} · concept ${state.map.concept[i]}`;
  tip.style.left = `${ev.offsetX + 12}px`;
  tip.style.top = `${ev.offsetY + 8}px`;
  tip.hidden = false;
}

// ---------- start ----------

async function start() {
  try {
    const h = await api('GET', '/health');
    const m = h.model;
    state.macrid = m.kind === 'macridvae';
    state.concepts = state.macrid ? m.concepts : 1;
    state.d = m.d ?? 0;
    state.slider = new Array(state.concepts).fill(SLIDER_MID);
    state.muted = new Array(state.concepts).fill(false);
    $('model-info').textContent =
      `${m.kind === 'macridvae' ? 'MacridVAE' : m.kind} · ${m.items.toLocaleString('en')} items` +
      (state.macrid ? ` · ${m.concepts} concepts · d = ${m.d}` : '');
    if (state.d > 0) $('traverse-dim').max = String(state.d - 1);
    if (state.macrid) state.labels = (await api('GET', '/explorer/concepts?top=5')).concepts;
    renderConcepts();
    renderHistory();
    update('start');
    loadMap();
  } catch (e) {
    say(`Cannot reach the service: ${e.message}`);
  }
}

$('search').addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(search, 120);
});
$('search-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  clearTimeout(searchTimer);
  search().then(() => $('search-results').querySelector('button')?.click());
});
$('paste-add').addEventListener('click', () => {
  const ids = $('paste-ids')
    .value.split(/[\s,;]+/)
    .filter((s) => s !== '');
  addItems(ids.map((id) => ({ id })));
  $('paste-ids').value = '';
});
$('clear-history').addEventListener('click', () => {
  state.history = [];
  historyChanged();
});
$('example').addEventListener('click', async () => {
  try {
    const r = await api('GET', '/items?limit=30');
    addItems(r.items.filter((_, j) => j % 5 === 0));
  } catch (e) {
    say(e.message);
  }
});
$('reset-weights').addEventListener('click', () => {
  state.slider.fill(SLIDER_MID);
  state.muted.fill(false);
  for (let k = 0; k < state.concepts; k++) renderWeight(k);
  update('weights');
});
$('traverse-form').addEventListener('submit', runTraverse);
$('map').addEventListener('mousemove', mapHover);
$('map').addEventListener('mouseleave', () => {
  $('map-tip').hidden = true;
});
window.addEventListener('resize', () => {
  base = undefined;
  drawMarks();
});

start();
