/**
 * The explorer page in a real browser (Debian's Chromium driven by playwright-core; it FAILS when the
 * browser cannot start): trains a small MacridVAE on the bundled ml-latest-small, starts
 * `macridvae serve` (the built CLI), builds a history by search and pasted ids, moves a concept's
 * slider with the keyboard (the list changes; each update's time from the input to the list on screen
 * is recorded and printed, not asserted: timings are for benchmarks), mutes a concept (its items
 * leave the list), runs a traversal (values increase), waits for the map and saves a screenshot.
 *
 * `MACRIDVAE_EXPLORER_EPOCHS` (default 6) trains longer; `MACRIDVAE_EXPLORER_SCREENSHOT=FILE` keeps
 * the screenshot (the README's `docs/explorer.png` is made this way, with 60 epochs) and
 * `MACRIDVAE_EXPLORER_TIMINGS=FILE` the timings as JSON.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { BIN, cli } from '../helpers/cli.js';

// The page's globals, for the callbacks that run inside the page (this file is checked without the DOM lib).
interface Timing {
  reason: string;
  ms: number;
  fetchMs: number;
}
interface PageNode {
  textContent: string | null;
  getAttribute(name: string): string | null;
}
declare const window: { explorer: { updates: number; timings: Timing[] } };
declare const document: {
  getElementById(id: string): PageNode;
  querySelector(selector: string): PageNode | null;
  querySelectorAll(selector: string): { length: number };
};
interface Canvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
}

const root = mkdtempSync(join(tmpdir(), 'macridvae-explorer-'));
const epochs = process.env.MACRIDVAE_EXPLORER_EPOCHS ?? '6';
const screenshot = process.env.MACRIDVAE_EXPLORER_SCREENSHOT ?? join(root, 'explorer.png');
let server: ChildProcess | undefined;

test.after.always(() => {
  server?.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

/** Starts `macridvae serve` on a free port and resolves with its address. */
function serve(model: string): Promise<{ url: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, [BIN, 'serve', '--model', model, '--port', '0', '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    proc.stderr!.on('data', (b) => (err += b));
    proc.stdout!.on('data', (b) => {
      out += b;
      const line = out.split('\n').find((l) => l.includes('"listening"'));
      if (line) resolve({ url: JSON.parse(line).listening, proc });
    });
    proc.on('exit', (code) => reject(new Error(`serve exited with ${code} before listening: ${err}`)));
  });
}

/** Items on screen: `[id, concept]` in rank order. */
function shown(page: Page): Promise<Array<[string, number]>> {
  return page.$$eval('.rec', (els) =>
    els
      .map(
        (e) =>
          [
            Number(e.querySelector('.rank')!.textContent!.slice(1)),
            e.getAttribute('data-id')!,
            Number(e.getAttribute('data-concept')),
          ] as const,
      )
      .sort((a, b) => a[0] - b[0])
      .map(([, id, k]) => [id, k] as [string, number]),
  );
}

/** How many of the items on screen each of the 7 concepts has. */
function perConcept(items: Array<[string, number]>): number[] {
  const n = new Array<number>(7).fill(0);
  for (const [, k] of items) n[k]++;
  return n;
}

const updates = (page: Page) => page.evaluate(() => window.explorer.updates);

/** Runs `act` and waits until the page has rendered the recommendation update it caused. */
async function settled(page: Page, act: () => Promise<void>): Promise<void> {
  const before = await updates(page);
  await act();
  await page.waitForFunction((n) => window.explorer.updates > n, before);
  // Coalesced inputs finish in further updates: wait until none is pending.
  await page.waitForFunction(() => document.getElementById('recs').getAttribute('aria-busy') === 'false');
}

test('the explorer page in Chromium: history, sliders, mute, traversal, map, screenshot', async (t) => {
  const data = join(root, 'ds');
  const model = join(root, 'model');
  for (const args of [
    ['data', 'prepare', '--input', 'data/ml-latest-small', '--out', data],
    // Small batches and k-means placed prototypes: distinct concepts after a few epochs.
    [
      'train',
      '--data',
      data,
      '--out',
      model,
      '--epochs',
      epochs,
      '--concepts',
      '7',
      '--d',
      '32',
      '--batch-size',
      '50',
      '--prototype-init',
      'kmeans',
      '--json',
    ],
  ]) {
    const r = cli(args, { timeoutMs: 900_000 });
    t.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  }
  const started = await serve(model);
  server = started.proc;
  const browser = await launchChromium({ width: 1400, height: 1000 });
  t.teardown(() => browser.close());
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });

  await page.goto(started.url);
  await page.waitForFunction(() => window.explorer.updates >= 1);
  t.regex((await page.textContent('#model-info')) ?? '', /MacridVAE · 5,\d{3} items · 7 concepts · d = 32/);
  t.is(await page.locator('.concept input[type="range"]').count(), 7);
  // Every control is labelled.
  for (const k of [0, 6]) {
    t.regex((await page.getAttribute(`#w-${k}`, 'aria-label')) ?? '', new RegExp(`^Weight of Concept ${k}`));
    t.regex((await page.getAttribute(`#mute-${k}`, 'aria-label')) ?? '', new RegExp(`^Mute Concept ${k}`));
  }
  // Empty history: the most popular items.
  t.regex((await page.textContent('#recs-meta')) ?? '', /most popular/);

  // A history: two items found by title, typed with the keyboard (Enter adds the first match) …
  for (const [q, title] of [
    ['matrix', 'Matrix, The (1999)'],
    ['toy story', 'Toy Story (1995)'],
  ]) {
    await settled(page, async () => {
      await page.focus('#search');
      await page.keyboard.type(q);
      await page.waitForFunction(
        (x) => document.querySelector('#search-results button')?.textContent?.startsWith(x),
        title,
      );
      await page.keyboard.press('Enter');
    });
    await page.fill('#search', '');
  }
  // … and pasted ids, one of which the model does not know (removed, and said so).
  await page.click('.paste summary');
  await settled(page, async () => {
    await page.fill('#paste-ids', '260, 1196 2571\n999999999');
    await page.click('#paste-add');
  });
  await page.waitForFunction(() => document.querySelectorAll('#history li').length === 4);
  t.regex((await page.textContent('#status')) ?? '', /Not in the model's catalogue \(removed\): 999999999/);
  // Pasted ids get their titles from /explain.
  await page.waitForFunction(() => document.getElementById('history').textContent!.includes('Star Wars'));
  const history = await page.$$eval('#history li span', (els) => els.map((e) => e.textContent));
  t.deepEqual(history.slice(0, 2), ['Matrix, The (1999)', 'Toy Story (1995)']);
  t.regex(history.join('|'), /Star Wars/);
  const before = await shown(page);
  t.is(before.length, 24);
  t.false(
    before.some(([id]) => ['2571', '1', '260', '1196'].includes(id)),
    'the history is not recommended',
  );
  // The user's concept shares are shown and sum to 100 %.
  const shares = await page.$$eval('.concept .pct', (els) => els.map((e) => Number.parseInt(e.textContent!, 10)));
  t.true(Math.abs(shares.reduce((a, b) => a + b, 0) - 100) <= 4, String(shares));

  // Boost the concept with the fewest items on screen, with the keyboard: the list changes.
  const counts = perConcept(before);
  const boost = counts.indexOf(Math.min(...counts));
  await settled(page, async () => {
    await page.focus(`#w-${boost}`);
    await page.keyboard.press('End');
  });
  t.is(await page.inputValue(`#w-${boost}`), '100');
  t.is(await page.textContent(`#wout-${boost}`), '×32');
  const boosted = await shown(page);
  t.notDeepEqual(boosted, before);
  t.true(boosted.filter(([, k]) => k === boost).length > counts[boost], 'boosting a concept brings more of its items');

  // Timings: 30 single slider steps, each waiting for its update (measured in the page), once the map's
  // t-SNE no longer competes for the cores.
  await page.waitForSelector('#map-legend li', { timeout: 300_000 });
  const first = await page.evaluate(() => window.explorer.timings.length);
  for (let s = 0; s < 30; s++) await settled(page, () => page.keyboard.press('ArrowLeft'));
  const steps = (await page.evaluate(() => window.explorer.timings)).slice(first).filter((x) => x.reason === 'weights');
  t.is(steps.length, 30);
  const q = (xs: number[], p: number) => {
    const s = xs.slice().sort((a, b) => a - b);
    return Math.round(10 * s[Math.min(s.length - 1, Math.floor(p * s.length))]) / 10;
  };
  const ms = steps.map((x) => x.ms);
  const fetchMs = steps.map((x) => x.fetchMs);
  const summary = {
    updates: steps.length,
    medianMs: q(ms, 0.5),
    p90Ms: q(ms, 0.9),
    maxMs: q(ms, 1),
    fetchMedianMs: q(fetchMs, 0.5),
    fetchP90Ms: q(fetchMs, 0.9),
  };
  t.log(`slider updates on ml-latest-small (input → list on screen): ${JSON.stringify(summary)}`);
  if (process.env.MACRIDVAE_EXPLORER_TIMINGS) {
    writeFileSync(process.env.MACRIDVAE_EXPLORER_TIMINGS, `${JSON.stringify({ ...summary, steps }, null, 1)}\n`);
  }

  // Mute (with the keyboard) the concept with the most items on screen: none of its items is left.
  const now = await shown(page);
  const c2 = perConcept(now);
  const mute = c2.indexOf(Math.max(...c2));
  await settled(page, async () => {
    await page.focus(`#mute-${mute}`);
    await page.keyboard.press('Space');
  });
  t.is(await page.getAttribute(`#mute-${mute}`, 'aria-pressed'), 'true');
  t.is(await page.textContent(`#wout-${mute}`), 'muted');
  const muted = await shown(page);
  t.is(muted.length, 24);
  t.false(
    muted.some(([, k]) => k === mute),
    `concept ${mute} muted but still shown`,
  );
  t.is(await page.locator(`.group[data-concept="${mute}"]`).count(), 0);
  const gone = now.filter(([id, k]) => k === mute && !muted.some(([m]) => m === id)).length;
  t.true(gone > 0, 'muting removes items of the concept from the list');

  // Traversal from one of the user's components: items of one concept, values increasing.
  await page.selectOption('#traverse-start', `c:${boost}`);
  await page.fill('#traverse-dim', '5');
  await page.fill('#traverse-steps', '6');
  await page.click('#traverse-run');
  await page.waitForFunction(() => document.querySelectorAll('#traverse-strip li').length === 6);
  const walk = await page.$$eval('#traverse-strip li', (els) =>
    els.map((e) => [e.getAttribute('data-id')!, Number(e.getAttribute('data-value'))] as [string, number]),
  );
  t.is(new Set(walk.map(([id]) => id)).size, 6);
  for (let s = 1; s < walk.length; s++) t.true(walk[s][1] > walk[s - 1][1], `step ${s}`);
  t.regex((await page.textContent('#traverse-meta')) ?? '', /^Concept \d.*dimension 5: 6 items/);

  // The map (t-SNE on the server's pool; seconds, computed once): drawn, with a legend per concept.
  t.is(await page.locator('#map-legend li').count(), 7 + 3);
  t.regex((await page.textContent('#map-meta')) ?? '', /5,?\d{3} items: \d+ embedded by t-SNE/);
  const inked = await page.$eval('#map', (c) => {
    const canvas = c as unknown as Canvas;
    const px = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
    return n;
  });
  t.true(inked > 5000, `${inked} drawn pixels`);

  await page.screenshot({ path: screenshot, fullPage: true });
  t.true(existsSync(screenshot) && statSync(screenshot).size > 20_000);
  t.deepEqual([...readFileSync(screenshot).subarray(1, 4)], [...Buffer.from('PNG')]);
  t.deepEqual(problems, []);

  // SIGTERM: the server finishes and exits 0.
  const code = await new Promise<number | null>((resolve) => {
    started.proc.on('exit', resolve);
    started.proc.kill('SIGTERM');
  });
  server = undefined;
  t.is(code, 0);
});
