/**
 * The done criterion of the data work: ml-latest-small with 50 held-out users and the reference split
 * gives the paper's 603 users × 5,697 items and exactly the reference's pro_sg files — checked against
 * committed golden checksums (always), and against a fresh run of the numpy reference when
 * python3-numpy/pandas and ../shared are present. ML-100K (only in ../shared, never in the repo) prepares
 * with pinned counts.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { prepareDataset } from '../../ts/data/prepare.js';
import { exportReference } from '../../ts/data/reference.js';
import { loadDataset } from '../../ts/data/store.js';
import { tempDir } from '../helpers/tmp.js';

const FILES = ['unique_sid.txt', 'train.csv', 'validation_tr.csv', 'validation_te.csv', 'test_tr.csv', 'test_te.csv'];
const golden = JSON.parse(readFileSync('test/fixtures/reference-golden.json', 'utf8')) as {
  proSg: Record<string, { files: Record<string, { sha256: string; lines: number }> }>;
};
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

const BUNDLED = 'data/ml-latest-small/ratings.csv';
const SHARED_SMALL = '../shared/data/ml-latest-small/ratings.csv';
const SHARED_100K = '../shared/data/ml-100k/u.data';
const EXPORT_PY = '../shared/reference/torch/export_pro_sg.py';

/** Fails the test (never skips it) when what it needs is missing. */
function need(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

function numpyAvailable(): boolean {
  if (!existsSync('/usr/bin/python3') || !existsSync(EXPORT_PY)) return false;
  return spawnSync('/usr/bin/python3', ['-c', 'import numpy, pandas'], { stdio: 'ignore' }).status === 0;
}

test('ml-latest-small, 50 held-out users, reference split: 603 users, 5,697 items, golden pro_sg checksums', async (t) => {
  const dir = tempDir(t);
  const r = await prepareDataset({ input: BUNDLED, out: join(dir, 'ds'), heldoutUsers: 50, split: 'reference' });
  const c = r.manifest.counts;
  t.is(c.users, 603);
  t.is(c.items, 5697);
  t.is(c.interactions, 47922);
  t.is(c.positives, 48562);
  t.deepEqual([c.trainUsers, c.validationUsers, c.testUsers], [503, 50, 50]);
  t.is(r.manifest.metadata?.matched, 5697);
  await exportReference(r.dir, join(dir, 'pro'));
  for (const f of FILES) t.is(sha(join(dir, 'pro', f)), golden.proSg['ml-latest-small'].files[f].sha256, f);
  const ds = await loadDataset(r.dir);
  t.is(ds.itemTitles?.[ds.itemIds.indexOf('1')], 'Toy Story (1995)');
  t.deepEqual(ds.itemGenres?.[ds.itemIds.indexOf('1')], ['Adventure', 'Animation', 'Children', 'Comedy', 'Fantasy']);
});

// Never skipped: scripts/setup installs python3-numpy/pandas (Debian) and CI has ../shared; when either is
// missing the test fails and says what to install.
test(`the numpy reference and the export agree file for file (needs python3-numpy, python3-pandas and ${EXPORT_PY})`, async (t) => {
  need(existsSync(SHARED_SMALL), `${SHARED_SMALL} is missing: this test needs ../shared beside the checkout`);
  need(
    numpyAvailable(),
    'python3-numpy and python3-pandas are needed (run scripts/setup as root, or apt-get install python3-numpy python3-pandas)',
  );
  const dir = tempDir(t);
  const ref = join(dir, 'ref');
  const py = spawnSync('/usr/bin/python3', [EXPORT_PY, SHARED_SMALL, '50', ref], { encoding: 'utf8' });
  t.is(py.status, 0, py.stderr);
  const r = await prepareDataset({ input: SHARED_SMALL, out: join(dir, 'ds'), heldoutUsers: 50 });
  await exportReference(r.dir, join(dir, 'pro'));
  for (const f of FILES) t.true(readFileSync(join(ref, f)).equals(readFileSync(join(dir, 'pro', f))), f);
});

test(`ML-100K (${SHARED_100K}, from ../shared, never copied into the package) prepares with stable counts and the reference's files`, async (t) => {
  need(existsSync(SHARED_100K), `${SHARED_100K} is missing: this test needs ../shared beside the checkout`);
  const dir = tempDir(t);
  const r = await prepareDataset({ input: SHARED_100K, out: join(dir, 'ds'), heldoutUsers: 50 });
  const c = r.manifest.counts;
  t.deepEqual(
    {
      users: c.users,
      items: c.items,
      interactions: c.interactions,
      positives: c.positives,
      validationScored: c.validationScored,
      testScored: c.testScored,
    },
    { users: 938, items: 1433, interactions: 55343, positives: 55361, validationScored: 50, testScored: 50 },
  );
  t.is(r.manifest.source.format, 'movielens');
  t.is(r.manifest.metadata?.format, 'u-item');
  const ds = await loadDataset(r.dir);
  t.is(ds.itemTitles?.[ds.itemIds.indexOf('1')], 'Toy Story (1995)');
  t.deepEqual(ds.itemGenres?.[ds.itemIds.indexOf('1')], ['Animation', "Children's", 'Comedy']);
  const g = golden.proSg['ml-100k'];
  if (g) {
    await exportReference(r.dir, join(dir, 'pro'));
    for (const f of FILES) t.is(sha(join(dir, 'pro', f)), g.files[f].sha256, f);
  }
});
