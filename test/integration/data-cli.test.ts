/** `macridvae data …` by spawning the built CLI (run `npm run build:ts` first). */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import test from 'ava';
import { BIN, cli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { makeZip } from '../helpers/zip.js';

const golden = JSON.parse(readFileSync('test/fixtures/reference-golden.json', 'utf8')) as {
  proSg: Record<string, { files: Record<string, { sha256: string }> }>;
};

test('prepare --json (the paper-sized ml-latest-small split), reuse, refusal, stats, export', (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'ds');
  const args = ['data', 'prepare', '--input', 'data/ml-latest-small/ratings.csv', '--heldout-users', '50'];
  const r = cli([...args, '--split', 'reference', '--out', out, '--json']);
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.is(lines.length, 1, 'one JSON object');
  const o = JSON.parse(lines[0]);
  t.like(o, {
    users: 603,
    items: 5697,
    interactions: 47922,
    trainUsers: 503,
    validationUsers: 50,
    testUsers: 50,
    reused: false,
    invalid: 0,
  });
  t.like(JSON.parse(cli([...args, '--out', out, '--json']).stdout), { reused: true, users: 603 });
  const refused = cli([...args.slice(0, -1), '40', '--out', out]);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /prepared with different options \(heldoutUsers: 50 → 40\); pass --force/);
  const stats = cli(['data', 'stats', out, '--json']);
  t.is(stats.code, 0, stats.stderr);
  t.like(JSON.parse(stats.stdout).counts, { users: 603, items: 5697, validationScored: 50, testScored: 49 });
  t.regex(
    cli(['data', 'stats', out]).stdout,
    /users\s+603: train 503, validation 50 \(50 scored\), test 50 \(49 scored\)/,
  );
  const pro = join(dir, 'pro');
  const ex = cli(['data', 'export', '--format', 'reference', out, '--out', pro, '--json']);
  t.is(ex.code, 0, ex.stderr);
  for (const f of JSON.parse(ex.stdout).files as string[]) {
    const sha = createHash('sha256')
      .update(readFileSync(join(pro, f)))
      .digest('hex');
    t.is(sha, golden.proSg['ml-latest-small'].files[f].sha256, f);
  }
});

test('synth then prepare; bad lines fail with file and line, or are counted with --skip-invalid', (t) => {
  const dir = tempDir(t);
  const syn = cli(['data', 'synth', '--preset', 'tiny', '--seed', '3', '--out', join(dir, 's'), '--json']);
  t.is(syn.code, 0, syn.stderr);
  t.like(JSON.parse(syn.stdout), { users: 300, items: 200, ratings: 9000, concepts: 4, reused: false });
  const prep = cli([
    'data',
    'prepare',
    '--input',
    join(dir, 's'),
    '--out',
    join(dir, 'd'),
    '--split',
    'seeded',
    '--json',
  ]);
  t.is(prep.code, 0, prep.stderr);
  const p = JSON.parse(prep.stdout);
  t.is(p.validationUsers, Math.floor(p.users / 12));
  t.is(p.metadata.matched, p.items);

  const bad = join(dir, 'bad.csv');
  const rows = ['user,item,stars'];
  for (let u = 0; u < 30; u++) for (let i = 0; i < 8; i++) rows.push(`u${u},"i ${i}",5`);
  rows.splice(7, 0, 'u1,"i 3,4');
  writeFileSync(bad, `${rows.join('\r\n')}\r\n`);
  const base = ['data', 'prepare', '--input', bad, '--format', 'csv', '--heldout-users', '2'];
  const f = cli([...base, '--out', join(dir, 'b1')]);
  t.is(f.code, 1);
  t.true(f.stderr.includes(`${bad}: line 8: unterminated quoted field: 'u1,"i 3,4'`), f.stderr);
  const ok = cli([...base, '--out', join(dir, 'b2'), '--skip-invalid', '--json', '--columns', 'user,item,stars']);
  t.is(ok.code, 0, ok.stderr);
  t.like(JSON.parse(ok.stdout), { invalid: 1, users: 30, items: 8 });
  const human = cli([...base, '--out', join(dir, 'b3'), '--skip-invalid']);
  t.regex(human.stdout, /invalid lines\s+1 skipped/);
});

test('usage errors exit 2 and name the problem', (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['data'], /a subcommand is required \(prepare, stats, synth, export, download\)/],
    [['data', 'frob'], /unknown subcommand 'frob'/],
    [['data', 'prepare', '--out', 'x'], /--input is required/],
    [
      ['data', 'prepare', '--input', 'x', '--out', 'y', '--split', 'random'],
      /--split must be one of reference, seeded/,
    ],
    [['data', 'prepare', '--input', 'x', '--out', 'y', '--columns', 'a'], /--columns must be USER,ITEM/],
    [
      ['data', 'prepare', '--input', 'x', '--out', 'y', '--min-user-items', '0'],
      /--min-user-items must be an integer >= 1/,
    ],
    [['data', 'synth', '--preset', 'huge', '--out', 'x'], /--preset must be one of tiny, ml-1m, ml-20m, netflix/],
    [['data', 'export', '--format', 'csv', 'x', '--out', 'y'], /--format must be one of reference/],
    [['data', 'download'], /expected one dataset name/],
  ];
  for (const [args, re] of cases) {
    const r = cli(args);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.stderr, re);
  }
  const missing = cli(['data', 'prepare', '--input', 'no/such/file.csv', '--out', 'x', '--json']);
  t.is(missing.code, 1);
  t.like(JSON.parse(missing.stdout).error, { name: 'InvalidArgumentError' });
});

test('download --base-url against a local server', async (t) => {
  const zip = makeZip([{ name: 'ml-100k/u.data', data: '1\t2\t5\t0\n' }]);
  const md5 = createHash('md5').update(zip).digest('hex');
  const server = http.createServer((req, res) => {
    if (req.url === '/ml-100k.zip') res.writeHead(200, { 'content-length': zip.length }).end(zip);
    else if (req.url === '/ml-100k.zip.md5') res.writeHead(200).end(`${md5}  ml-100k.zip\n`);
    else res.writeHead(404).end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  t.teardown(() => new Promise<void>((ok) => server.close(() => ok())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const out = tempDir(t);
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((ok) => {
      execFile(process.execPath, [BIN, ...args], (err, stdout, stderr) => {
        ok({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
      });
    });
  const r = await run(['data', 'download', 'ml-100k', '--out', out, '--base-url', base, '--json']);
  t.is(r.code, 0, r.stderr);
  t.like(JSON.parse(r.stdout), { name: 'ml-100k', md5, reused: false, files: ['ml-100k/u.data'] });
  t.is(readFileSync(join(out, 'ml-100k', 'u.data'), 'utf8'), '1\t2\t5\t0\n');
});
