/**
 * Slow, obviously correct TypeScript versions of the data pipeline, written the way the numpy/pandas
 * reference (`../shared/reference/torch/data.py`, `export_pro_sg.py`) reads: numpy's legacy MT19937
 * (`init_genrand`, masked rejection `random_interval`, `permutation`), a plain line splitter, and the
 * MultVAE split producing the pro_sg files as text. Tests compare the WASM pipeline with these.
 */

/** numpy legacy `RandomState(seed)`: MT19937 with `init_genrand`. */
export class Mt19937 {
  private readonly mt = new Uint32Array(624);
  private mti = 624;
  constructor(seed: number) {
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) {
      const prev = this.mt[i - 1] ^ (this.mt[i - 1] >>> 30);
      this.mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }
  nextU32(): number {
    const mt = this.mt;
    if (this.mti >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7fffffff);
        mt[k] = mt[(k + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.mti = 0;
    }
    let y = mt[this.mti++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
  /** Uniform in [0, max] by masked rejection (numpy `random_interval`, 32-bit branch). */
  interval(max: number): number {
    if (max === 0) return 0;
    let mask = max;
    for (const s of [1, 2, 4, 8, 16]) mask |= mask >>> s;
    mask >>>= 0;
    for (;;) {
      const v = (this.nextU32() & mask) >>> 0;
      if (v <= max) return v;
    }
  }
  permutation(n: number): number[] {
    const a = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i >= 1; i--) {
      const j = this.interval(i);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
}

export interface Row {
  user: string;
  item: string;
  rating: number;
}

/** Splits lines of `u::i::r::t`, `u\ti\tr\tt` or `u,i,r,t` (header skipped when its rating is not a number). */
export function parseOracle(text: string): Row[] {
  const rows: Row[] = [];
  const lines = text.replace(/^\ufeff/, '').split(/\r?\n/);
  lines.forEach((line, k) => {
    if (line.trim() === '') return;
    const f = line.includes('::') ? line.split('::') : line.includes('\t') ? line.split('\t') : line.split(',');
    if (k === 0 && Number.isNaN(Number(f[2]))) return;
    rows.push({ user: f[0], item: f[1], rating: Number(f[2]) });
  });
  return rows;
}

export interface ProSg {
  uniqueSid: string;
  train: string;
  validationTr: string;
  validationTe: string;
  testTr: string;
  testTe: string;
  users: number;
  items: number;
}

/** The reference split and its pro_sg files (duplicate pairs: first occurrence kept, the documented rule). */
export function splitOracle(
  input: Row[],
  opts: { heldout: number; seed?: number; minRating?: number; minUserItems?: number; minItemUsers?: number },
): ProSg {
  const seed = opts.seed ?? 98765;
  let raw = input.filter((r) => r.rating > (opts.minRating ?? 3.5));
  const seen = new Set<string>();
  raw = raw.filter((r) => {
    const k = `${r.user}\u0000${r.item}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  if ((opts.minItemUsers ?? 0) > 0) {
    const ic = new Map<string, number>();
    for (const r of raw) ic.set(r.item, (ic.get(r.item) ?? 0) + 1);
    raw = raw.filter((r) => (ic.get(r.item) ?? 0) >= (opts.minItemUsers ?? 0));
  }
  const uc = new Map<string, number>();
  for (const r of raw) uc.set(r.user, (uc.get(r.user) ?? 0) + 1);
  raw = raw.filter((r) => (uc.get(r.user) ?? 0) >= (opts.minUserItems ?? 5));
  const users = [...new Set(raw.map((r) => r.user))];
  const numeric = users.every((u) => /^(0|[1-9]\d*)$/.test(u));
  users.sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const perm = new Mt19937(seed).permutation(users.length);
  const uids = perm.map((k) => users[k]);
  const n = uids.length;
  const h = opts.heldout;
  const role = new Map<string, number>();
  uids.forEach((u, k) => {
    role.set(u, k < n - 2 * h ? 0 : k < n - h ? 1 : 2);
  });
  const profile = new Map(uids.map((u, k) => [u, k]));
  const train = raw.filter((r) => role.get(r.user) === 0);
  const sids = [...new Set(train.map((r) => r.item))];
  const show = new Map(sids.map((s, k) => [s, k]));
  const csv = (rows: Row[]) => `uid,sid\n${rows.map((r) => `${profile.get(r.user)},${show.get(r.item)}\n`).join('')}`;
  const holdout = (which: number): [string, string] => {
    const rng = new Mt19937(seed);
    const tr: Row[] = [];
    const te: Row[] = [];
    for (const u of users) {
      if (role.get(u) !== which) continue;
      const plays = raw.filter((r) => r.user === u && show.has(r.item));
      if (plays.length >= 5) {
        const size = Math.trunc(0.2 * plays.length);
        const picked = new Set(rng.permutation(plays.length).slice(0, size));
        plays.forEach((p, j) => {
          (picked.has(j) ? te : tr).push(p);
        });
      } else tr.push(...plays);
    }
    return [csv(tr), csv(te)];
  };
  const [validationTr, validationTe] = holdout(1);
  const [testTr, testTe] = holdout(2);
  return {
    uniqueSid: sids.map((s) => `${s}\n`).join(''),
    train: csv(train),
    validationTr,
    validationTe,
    testTr,
    testTe,
    users: n,
    items: sids.length,
  };
}

/** A seeded random ratings table: power-law-ish users and items, half-star ratings, some duplicates. */
export function randomRatings(
  rng: { next(): number; int(n: number): number },
  users: number,
  items: number,
  rows: number,
  options: { duplicates?: boolean; stringIds?: boolean } = {},
): Row[] {
  const out: Row[] = [];
  const name = (prefix: string, k: number) => (options.stringIds ? `${prefix}${k.toString(36)}` : String(k * 7 + 1));
  for (let t = 0; t < rows; t++) {
    const u = Math.floor(users * rng.next() ** 2);
    const i = Math.floor(items * rng.next() ** 3);
    out.push({ user: name('u', u), item: name('m', i), rating: (1 + rng.int(10)) / 2 });
  }
  if (!options.duplicates) {
    const seen = new Set<string>();
    return out.filter((r) => {
      const k = `${r.user}/${r.item}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }
  return out;
}

/** MovieLens `ratings.csv` text. */
export function toMovieLensCsv(rows: Row[]): string {
  return `userId,movieId,rating,timestamp\n${rows.map((r, t) => `${r.user},${r.item},${r.rating.toFixed(1)},${1000 + t}\n`).join('')}`;
}

/** Netflix Prize `combined_data` text: rows grouped by movie (movies in first-appearance order). */
export function toNetflixCombined(rows: Row[]): string {
  const by = new Map<string, Row[]>();
  for (const r of rows) {
    if (!by.has(r.item)) by.set(r.item, []);
    by.get(r.item)!.push(r);
  }
  let s = '';
  for (const [item, rs] of by) {
    s += `${item}:\n`;
    for (const r of rs) s += `${r.user},${Math.round(r.rating)},2005-09-06\n`;
  }
  return s;
}
