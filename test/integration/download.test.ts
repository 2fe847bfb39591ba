/**
 * `data download` end to end against a local HTTP server on 127.0.0.1 (never the real network):
 * checksum verification, resume after an interrupted transfer (within a run and across runs), restart
 * when the server ignores ranges, safe extraction; plus the zip reader's refusals.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { downloadDataset } from '../../ts/data/download.js';
import { extractZip, listZip } from '../../ts/data/zip.js';
import { OutputConflictError } from '../../ts/errors.js';
import { Rng } from '../helpers/random.js';
import { tempDir } from '../helpers/tmp.js';
import { makeZip } from '../helpers/zip.js';

interface ServerOptions {
  zip: Buffer;
  md5?: string | null;
  /** Cut the connection after this many body bytes, for the first `cuts` archive requests. */
  cutAfter?: number;
  cuts?: number;
  ignoreRange?: boolean;
}

async function serve(t: ExecutionContext, o: ServerOptions) {
  const log: Array<{ url: string; range?: string; status: number }> = [];
  let cuts = o.cuts ?? 0;
  const md5 = o.md5 === undefined ? createHash('md5').update(o.zip).digest('hex') : o.md5;
  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    if (url === '/ml-latest-small.zip.md5') {
      if (md5 === null) {
        res.writeHead(404).end('not found');
        log.push({ url, status: 404 });
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' }).end(`MD5 (ml-latest-small.zip) = ${md5}\n`);
        log.push({ url, status: 200 });
      }
      return;
    }
    if (url !== '/ml-latest-small.zip') {
      res.writeHead(404).end();
      log.push({ url, status: 404 });
      return;
    }
    const range = req.headers.range;
    let start = 0;
    let status = 200;
    const m = range ? /^bytes=(\d+)-$/.exec(range) : null;
    if (m && !o.ignoreRange) {
      start = Number(m[1]);
      status = 206;
    }
    const body = o.zip.subarray(start);
    const headers: Record<string, string | number> = { 'content-length': body.length };
    if (status === 206) headers['content-range'] = `bytes ${start}-${o.zip.length - 1}/${o.zip.length}`;
    log.push({ url, range, status });
    res.writeHead(status, headers);
    if (cuts > 0 && o.cutAfter !== undefined) {
      cuts--;
      // Let the client take the bytes in before the connection breaks.
      res.write(body.subarray(0, o.cutAfter), () => setTimeout(() => res.destroy(), 100));
    } else res.end(body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  t.teardown(() => new Promise<void>((ok) => server.close(() => ok())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return { base, log };
}

function fixture(): { zip: Buffer; ratings: string } {
  const rng = new Rng(77);
  let ratings = 'userId,movieId,rating,timestamp\n';
  for (let k = 0; k < 20000; k++)
    ratings += `${1 + rng.int(500)},${1 + rng.int(3000)},${(1 + rng.int(10)) / 2},${rng.int(1e9)}\n`;
  const zip = makeZip([
    { name: 'ml-latest-small/', method: 0 },
    { name: 'ml-latest-small/ratings.csv', data: ratings },
    { name: 'ml-latest-small/README.txt', data: 'readme', method: 0 },
  ]);
  return { zip, ratings };
}

test('downloads, verifies the published MD5, extracts into OUT/NAME; a second call does nothing', async (t) => {
  const { zip, ratings } = fixture();
  const { base, log } = await serve(t, { zip });
  const out = tempDir(t);
  const r = await downloadDataset({ name: 'ml-latest-small', out, baseUrl: base });
  t.false(r.reused);
  t.is(r.md5, createHash('md5').update(zip).digest('hex'));
  t.is(r.bytes, zip.length);
  t.is(readFileSync(join(out, 'ml-latest-small', 'ratings.csv'), 'utf8'), ratings);
  t.deepEqual(readdirSync(out), ['ml-latest-small'], 'archive and partial file removed');
  const n = log.length;
  const again = await downloadDataset({ name: 'ml-latest-small', out, baseUrl: base });
  t.true(again.reused);
  t.is(log.length, n, 'no request the second time');
});

test('an interrupted transfer resumes with a Range request (within the run)', async (t) => {
  const { zip, ratings } = fixture();
  const { base, log } = await serve(t, { zip, cutAfter: Math.floor(zip.length / 3), cuts: 1 });
  const out = tempDir(t);
  const r = await downloadDataset({ name: 'ml-latest-small', out, baseUrl: base });
  t.is(r.resumed, 1);
  const gets = log.filter((l) => l.url === '/ml-latest-small.zip');
  t.is(gets.length, 2);
  t.is(gets[1].status, 206);
  const from = Number(/^bytes=(\d+)-$/.exec(gets[1].range ?? '')?.[1]);
  t.true(from > 0 && from <= Math.floor(zip.length / 3), `resumed from ${from}`);
  t.is(readFileSync(join(out, 'ml-latest-small', 'ratings.csv'), 'utf8'), ratings);
});

test('a failed run leaves NAME.zip.part; the next run resumes it; a server ignoring ranges restarts', async (t) => {
  const { zip, ratings } = fixture();
  const cut = Math.floor(zip.length / 2);
  const { base, log } = await serve(t, { zip, cutAfter: cut, cuts: 1 });
  const out = tempDir(t);
  await t.throwsAsync(downloadDataset({ name: 'ml-latest-small', out, baseUrl: base, attempts: 1 }), {
    message: /failed after 1 attempts .*run again to resume from .*ml-latest-small\.zip\.part/,
  });
  const have = statSync(join(out, 'ml-latest-small.zip.part')).size;
  t.true(have > 0 && have <= cut, `partial file of ${have} bytes`);
  t.false(existsSync(join(out, 'ml-latest-small')));
  const r = await downloadDataset({ name: 'ml-latest-small', out, baseUrl: base, attempts: 1 });
  t.is(r.resumed, 1);
  t.is(r.fetched, zip.length - have);
  t.is(log.at(-1)?.status, 206);
  t.is(log.at(-1)?.range, `bytes=${have}-`);
  t.is(readFileSync(join(out, 'ml-latest-small', 'ratings.csv'), 'utf8'), ratings);

  const s2 = await serve(t, { zip, cutAfter: cut, cuts: 1, ignoreRange: true });
  const out2 = tempDir(t);
  const r2 = await downloadDataset({ name: 'ml-latest-small', out: out2, baseUrl: s2.base });
  t.is(r2.resumed, 0);
  t.is(r2.fetched, zip.length, 'the whole archive was fetched again after the cut');
  const gets = s2.log.filter((l) => l.url === '/ml-latest-small.zip');
  t.is(gets.length, 2);
  t.regex(gets[1].range ?? '', /^bytes=\d+-$/);
  t.is(gets[1].status, 200);
  t.is(readFileSync(join(out2, 'ml-latest-small', 'ratings.csv'), 'utf8'), ratings);
});

test('a wrong checksum, a missing checksum file and an escaping entry are refused, leaving nothing', async (t) => {
  const { zip } = fixture();
  const bad = await serve(t, { zip, md5: '0'.repeat(32) });
  const out = tempDir(t);
  await t.throwsAsync(downloadDataset({ name: 'ml-latest-small', out, baseUrl: bad.base }), {
    message: /MD5 [0-9a-f]{32} does not match the expected 0{32}; the partial file was removed/,
  });
  t.deepEqual(readdirSync(out), []);

  const none = await serve(t, { zip, md5: null });
  await t.throwsAsync(downloadDataset({ name: 'ml-latest-small', out, baseUrl: none.base }), {
    message:
      /cannot get the published checksum .*ml-latest-small\.zip\.md5 \(HTTP 404\); pass the archive's MD5 with --md5/,
  });
  const md5 = createHash('md5').update(zip).digest('hex');
  t.false((await downloadDataset({ name: 'ml-latest-small', out, baseUrl: none.base, md5 })).reused);

  const evil = makeZip([
    { name: 'ml-latest-small/ok.txt', data: 'fine' },
    { name: 'ml-latest-small/../../evil.txt', data: 'pwned' },
  ]);
  const e = await serve(t, { zip: evil });
  const out3 = join(tempDir(t), 'nested');
  mkdirSync(out3);
  await t.throwsAsync(downloadDataset({ name: 'ml-latest-small', out: out3, baseUrl: e.base }), {
    message: /unsafe zip entry name 'ml-latest-small\/\.\.\/\.\.\/evil\.txt': contains '\.\.'/,
  });
  t.false(existsSync(join(out3, '..', 'evil.txt')));
  t.false(existsSync(join(out3, 'ml-latest-small')));
  await t.throwsAsync(downloadDataset({ name: 'ml-2m', out: out3, baseUrl: e.base }), {
    message: /'name' passed to downloadDataset\(\) must be one of ml-latest-small, ml-100k/,
  });
});

test('zip reader: refuses links, absolute names and damaged data; reads stored and deflated entries', async (t) => {
  const dir = tempDir(t);
  const write = (name: string, buf: Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, buf);
    return p;
  };
  t.throws(() => listZip(write('link.zip', makeZip([{ name: 'a', data: '/etc/passwd', symlink: true }]))), {
    message: /symbolic link/,
  });
  t.throws(() => listZip(write('abs.zip', makeZip([{ name: '/tmp/x', data: 'x' }]))), { message: /absolute path/ });
  t.throws(() => listZip(write('bs.zip', makeZip([{ name: 'a\\..\\b', data: 'x' }]))), { message: /backslash/ });
  t.throws(
    () =>
      listZip(
        write(
          'dup.zip',
          makeZip([
            { name: 'a', data: 'x' },
            { name: 'a', data: 'y' },
          ]),
        ),
      ),
    {
      message: /occurs twice/,
    },
  );
  t.throws(() => listZip(write('junk.zip', Buffer.from('not a zip at all'))), { message: /not a zip file/ });
  const good = makeZip([
    { name: 'd/s.txt', data: 'stored', method: 0 },
    { name: 'd/z.txt', data: 'deflated '.repeat(100) },
    { name: 'd/empty.txt', data: '', method: 0 },
  ]);
  const ok = join(dir, 'ok');
  mkdirSync(ok);
  t.deepEqual(await extractZip(write('good.zip', good), ok), ['d/s.txt', 'd/z.txt', 'd/empty.txt']);
  t.is(readFileSync(join(ok, 'd/z.txt'), 'utf8'), 'deflated '.repeat(100));
  const damaged = Buffer.from(good);
  damaged[30 + 'd/s.txt'.length + 2] ^= 0xff;
  const bad = join(dir, 'bad');
  mkdirSync(bad);
  await t.throwsAsync(extractZip(write('damaged.zip', damaged), bad), { message: /fails its CRC-32 check/ });
});

test("issue 11, rule 1: an archive already in OUT is the user's: used when it verifies, never deleted; a different one is refused and kept", async (t) => {
  const { zip, ratings } = fixture();
  const { base, log } = await serve(t, { zip });
  const out = tempDir(t);
  writeFileSync(join(out, 'ml-latest-small.zip'), zip);
  const r = await downloadDataset({ name: 'ml-latest-small', out, baseUrl: base });
  t.is(readFileSync(join(out, 'ml-latest-small', 'ratings.csv'), 'utf8'), ratings);
  t.is(r.fetched, 0);
  t.false(
    log.some((l) => l.url === '/ml-latest-small.zip'),
    'the archive was not downloaded again',
  );
  t.true(readFileSync(join(out, 'ml-latest-small.zip')).equals(zip), "the user's archive is still there");
  const other = tempDir(t);
  writeFileSync(join(other, 'ml-latest-small.zip'), 'not the archive');
  await t.throwsAsync(downloadDataset({ name: 'ml-latest-small', out: other, baseUrl: base }), {
    instanceOf: OutputConflictError,
    message: /exists but its MD5 is not the expected/,
  });
  t.is(readFileSync(join(other, 'ml-latest-small.zip'), 'utf8'), 'not the archive');
});
