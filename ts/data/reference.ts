/**
 * The MultVAE reference's `pro_sg` layout (written by `../shared/reference/torch/export_pro_sg.py`, after
 * the MultVAE notebook): `unique_sid.txt` (raw item id of column j on line j), `train.csv`,
 * `validation_tr.csv`, `validation_te.csv`, `test_tr.csv`, `test_te.csv` with a `uid,sid` header, `uid` the
 * dataset user index (shuffled order: training users first) and `sid` the column. Training rows are in
 * ratings-file order; held-out rows are grouped by user in raw-id order, each user's rows in file order.
 *
 * Export reproduces those files byte for byte from a dataset directory (using the stored `.order`
 * files); import reads such a directory back into a split.
 */
import { once } from 'node:events';
import { createWriteStream, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, ParseError } from '../errors.js';
import { writeOutputDir } from '../util/output.js';
import { checkObject, checkPath } from '../validate.js';
import type { SplitMatrix, SplitParts } from '../wasm/data.js';
import type { WasmInstance } from '../wasm/raw.js';
import { readRatingsFiles } from './read.js';
import { loadMatrices, MATRICES, type MatrixName, readManifest, readOrderFile } from './store.js';

/** The pro_sg file of each stored matrix. */
export const REFERENCE_FILE_OF: Record<MatrixName, string> = {
  train: 'train.csv',
  validation_fold_in: 'validation_tr.csv',
  validation_target: 'validation_te.csv',
  test_fold_in: 'test_tr.csv',
  test_target: 'test_te.csv',
};

async function writeLines(path: string, emit: (push: (s: string) => void) => void): Promise<void> {
  const ws = createWriteStream(path);
  const failed = once(ws, 'error').then(([e]) => {
    throw e;
  });
  let buf: string[] = [];
  let size = 0;
  const pending: Promise<unknown>[] = [];
  const flush = () => {
    if (buf.length === 0) return;
    if (!ws.write(buf.join(''))) pending.push(once(ws, 'drain'));
    buf = [];
    size = 0;
  };
  emit((s) => {
    buf.push(s);
    size += s.length;
    if (size > 1 << 20) flush();
  });
  flush();
  ws.end();
  await Promise.race([once(ws, 'finish'), failed]);
}

/**
 * Writes the pro_sg files of dataset directory `dir` into `out` (atomically: a new directory). An
 * existing `out` is replaced only when it is an earlier export and `options.force` is set; `out` may
 * not be the dataset itself nor contain it.
 */
export async function exportReference(
  dir: string,
  out: string,
  options: { force?: boolean } = {},
): Promise<{ files: string[]; dir: string }> {
  if (typeof dir !== 'string' || dir === '') {
    throw new InvalidArgumentError(`'dir' passed to exportReference() must be a path but got ${String(dir)}`);
  }
  if (typeof out !== 'string' || out === '') {
    throw new InvalidArgumentError(`'out' passed to exportReference() must be a path but got ${String(out)}`);
  }
  readManifest(dir);
  const files = await writeOutputDir(out, 'export', { option: 'output', force: options.force, inputs: [dir] }, (tmp) =>
    writeExport(dir, tmp),
  );
  return { files, dir: out };
}

async function writeExport(dir: string, tmp: string): Promise<string[]> {
  const matrices = loadMatrices(dir);
  const itemIds = readFileSync(join(dir, 'item_ids.txt'));
  if (itemIds.length > 0 && itemIds[itemIds.length - 1] !== 10) {
    throw new ParseError(`${join(dir, 'item_ids.txt')}: must end with a line break`);
  }
  const files: string[] = ['unique_sid.txt'];
  await writeFile(join(tmp, 'unique_sid.txt'), itemIds);
  for (const name of MATRICES) {
    const m = matrices[name];
    const order = readOrderFile(join(dir, `${name}.order`));
    if (order.length !== m.indices.length) {
      throw new ParseError(
        `${join(dir, `${name}.order`)}: ${order.length} entries but the matrix has ${m.indices.length}`,
      );
    }
    const rows = m.indptr.length - 1;
    const userAt = new Uint32Array(m.indices.length);
    for (let r = 0; r < rows; r++) userAt.fill(m.users[r], m.indptr[r], m.indptr[r + 1]);
    const file = REFERENCE_FILE_OF[name];
    files.push(file);
    await writeLines(join(tmp, file), (push) => {
      push('uid,sid\n');
      for (let t = 0; t < order.length; t++) {
        const p = order[t];
        push(`${userAt[p]},${m.indices[p]}\n`);
      }
    });
  }
  return files;
}

/**
 * Sorted CSR of entries given in file order (`users[t]` a dataset user, `cols[t]` a column), with rows
 * `rowUsers` (every entry's user must be among them).
 */
export function buildMatrix(users: Uint32Array, cols: Uint32Array, rowUsers: Uint32Array, what: string): SplitMatrix {
  const rowOf = new Map<number, number>();
  for (let r = 0; r < rowUsers.length; r++) rowOf.set(rowUsers[r], r);
  const n = users.length;
  const rowOfEntry = new Uint32Array(n);
  const indptr = new Uint32Array(rowUsers.length + 1);
  for (let t = 0; t < n; t++) {
    const r = rowOf.get(users[t]);
    if (r === undefined) throw new InvalidArgumentError(`${what}: user ${users[t]} has no row`);
    rowOfEntry[t] = r;
    indptr[r + 1]++;
  }
  for (let r = 0; r < rowUsers.length; r++) indptr[r + 1] += indptr[r];
  const next = indptr.slice(0, rowUsers.length);
  const byRow = new Uint32Array(n);
  for (let t = 0; t < n; t++) byRow[next[rowOfEntry[t]]++] = t;
  const indices = new Uint32Array(n);
  const order = new Uint32Array(n);
  for (let r = 0; r < rowUsers.length; r++) {
    const a = indptr[r];
    const ts = Array.from(byRow.subarray(a, indptr[r + 1]));
    ts.sort((x, y) => cols[x] - cols[y] || x - y);
    ts.forEach((t, k) => {
      if (k > 0 && cols[t] === indices[a + k - 1]) {
        throw new ParseError(`${what}: user ${users[t]} has column ${cols[t]} twice`);
      }
      indices[a + k] = cols[t];
      order[t] = a + k;
    });
  }
  return { indptr, indices, order, rows: rowUsers };
}

/** Reads one `uid,sid` file into numeric arrays. */
async function readPairs(inst: WasmInstance, file: string): Promise<{ users: Uint32Array; cols: Uint32Array }> {
  const { reader } = await readRatingsFiles(
    inst,
    [file],
    { format: 'csv', header: 'yes', columns: { user: 'uid', item: 'sid' }, implicit: true },
    { allowEmpty: true },
  );
  try {
    const num = (ids: string[], what: string) =>
      Uint32Array.from(ids, (s) => {
        const v = Number(s);
        if (!/^\d+$/.test(s) || v > 0xfffffffe) throw new ParseError(`${file}: ${what} '${s}' is not a valid index`);
        return v;
      });
    const uid = num(reader.ids('users'), 'uid');
    const sid = num(reader.ids('items'), 'sid');
    const rows = reader.rows();
    return { users: rows.users.map((u) => uid[u]), cols: rows.items.map((i) => sid[i]) };
  } finally {
    reader.free();
  }
}

function firstAppearance(...lists: Uint32Array[]): Uint32Array {
  const seen = new Set<number>();
  const out: number[] = [];
  for (const l of lists) {
    for (const u of l) {
      if (!seen.has(u)) {
        seen.add(u);
        out.push(u);
      }
    }
  }
  return Uint32Array.from(out);
}

/** Reads a pro_sg directory into a split (user ids are the `uid` numbers: the raw ids are not in it). */
export async function importReference(inst: WasmInstance, dir: string): Promise<SplitParts> {
  checkObject('importReference', 'inst', inst, 'a WasmInstance');
  checkPath('importReference', 'dir', dir);
  const itemIds = readFileSync(join(dir, 'unique_sid.txt'), 'utf8').split('\n');
  if (itemIds[itemIds.length - 1] === '') itemIds.pop();
  const nItems = itemIds.length;
  const pairs = {} as Record<MatrixName, { users: Uint32Array; cols: Uint32Array }>;
  let maxUser = -1;
  for (const name of MATRICES) {
    const file = join(dir, REFERENCE_FILE_OF[name]);
    const p = await readPairs(inst, file);
    for (const c of p.cols) if (c >= nItems) throw new ParseError(`${file}: sid ${c} is not below ${nItems} items`);
    for (const u of p.users) if (u > maxUser) maxUser = u;
    pairs[name] = p;
  }
  const trainUsers = firstAppearance(pairs.train.users);
  const nTrain = trainUsers.length;
  const identity = Uint32Array.from({ length: nTrain }, (_, i) => i);
  for (const u of trainUsers) {
    if (u >= nTrain)
      throw new ParseError(`${join(dir, 'train.csv')}: training uids must be 0..${nTrain - 1} but ${u} occurs`);
  }
  const train = buildMatrix(pairs.train.users, pairs.train.cols, identity, 'train.csv');
  const held = (fi: MatrixName, tg: MatrixName) => {
    const users = firstAppearance(pairs[fi].users, pairs[tg].users);
    for (const u of users) {
      if (u < nTrain) throw new ParseError(`${REFERENCE_FILE_OF[fi]}: uid ${u} is a training user`);
    }
    return {
      foldIn: buildMatrix(pairs[fi].users, pairs[fi].cols, users, REFERENCE_FILE_OF[fi]),
      target: buildMatrix(pairs[tg].users, pairs[tg].cols, users, REFERENCE_FILE_OF[tg]),
      users,
    };
  };
  const val = held('validation_fold_in', 'validation_target');
  const test = held('test_fold_in', 'test_target');
  const nUsers = maxUser + 1;
  const scoredRows = (m: SplitMatrix) => {
    let s = 0;
    for (let r = 0; r + 1 < m.indptr.length; r++) if (m.indptr[r + 1] > m.indptr[r]) s++;
    return s;
  };
  const interactions = MATRICES.reduce((s, n) => s + pairs[n].users.length, 0);
  return {
    stats: {
      inputRows: interactions,
      duplicates: 0,
      droppedByItemFilter: 0,
      droppedByUserFilter: 0,
      positives: interactions,
      users: nUsers,
      items: nItems,
      interactions,
      trainUsers: nTrain,
      validationUsers: val.users.length,
      testUsers: test.users.length,
      validationScored: scoredRows(val.target),
      testScored: scoredRows(test.target),
      heldoutDropped: 0,
      heldout: Math.max(val.users.length, test.users.length),
    },
    userIds: Array.from({ length: nUsers }, (_, i) => String(i)),
    itemIds,
    train,
    validationFoldIn: val.foldIn,
    validationTarget: val.target,
    testFoldIn: test.foldIn,
    testTarget: test.target,
  };
}
