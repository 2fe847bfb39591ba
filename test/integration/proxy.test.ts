/**
 * `data download` through a proxy on loopback (never the real network): https through a CONNECT tunnel
 * (HTTPS_PROXY; the origin has a self-signed certificate made here with openssl), http in absolute form
 * (HTTP_PROXY), NO_PROXY bypassing both; plus the environment rules (proxyFor / bypassesProxy) and the
 * progress line's rate and ETA.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { formatBytes, formatDuration, progressLine } from '../../ts/cli/progress.js';
import { downloadDataset } from '../../ts/data/download.js';
import { bypassesProxy, proxyFor } from '../../ts/data/proxy.js';
import { tempDir } from '../helpers/tmp.js';
import { makeZip } from '../helpers/zip.js';

const RATINGS = 'userId,movieId,rating,timestamp\n1,10,4.0,964982703\n2,20,5.0,964982224\n';
const ZIP = makeZip([
  { name: 'ml-latest-small/', method: 0 },
  { name: 'ml-latest-small/ratings.csv', data: RATINGS },
]);
const MD5 = createHash('md5').update(ZIP).digest('hex');

function handler(req: http.IncomingMessage, res: http.ServerResponse) {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (path === '/ml-latest-small.zip.md5') res.writeHead(200).end(`MD5 (ml-latest-small.zip) = ${MD5}\n`);
  else if (path === '/ml-latest-small.zip') res.writeHead(200, { 'content-length': ZIP.length }).end(ZIP);
  else res.writeHead(404).end();
}

async function listen(t: ExecutionContext, server: net.Server): Promise<number> {
  const open = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    open.add(s);
    s.on('close', () => open.delete(s));
  });
  server.on('secureConnection', (s: net.Socket) => {
    open.add(s);
    s.on('close', () => open.delete(s));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  // Kept-alive and tunnelled connections would hold close() open: end them.
  t.teardown(() => {
    for (const s of open) s.destroy();
    return new Promise<void>((ok) => server.close(() => ok()));
  });
  return (server.address() as AddressInfo).port;
}

/** A forward proxy on loopback: CONNECT tunnels and absolute-form http requests, both logged. */
async function proxy(t: ExecutionContext) {
  const log: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    log.push(`GET ${req.url}`);
    const target = new URL(req.url ?? '');
    const up = http.get(target, { headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    log.push(`CONNECT ${req.url}`);
    const [host, port] = (req.url ?? '').split(':');
    const up = net.connect(Number(port), host === 'localhost' ? '127.0.0.1' : host, () => {
      client.write('HTTP/1.1 200 Connection established\r\n\r\n');
      up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    for (const s of [up, client]) {
      sockets.add(s);
      s.on('error', () => s.destroy());
      s.on('close', () => sockets.delete(s));
    }
  });
  t.teardown(() => {
    for (const s of sockets) s.destroy();
  });
  return { url: `http://127.0.0.1:${await listen(t, server)}`, log };
}

function selfSigned(t: ExecutionContext): { key: string; cert: string } {
  const dir = tempDir(t, 'tls');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
}

function withEnv(env: Record<string, string | undefined>) {
  const names = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy'];
  const saved = Object.fromEntries(names.map((n) => [n, process.env[n]]));
  for (const n of names) delete process.env[n];
  Object.assign(process.env, env);
  return () => {
    for (const n of names) {
      if (saved[n] === undefined) delete process.env[n];
      else process.env[n] = saved[n];
    }
  };
}

test.serial('https through HTTPS_PROXY (a CONNECT tunnel, TLS to the origin); NO_PROXY bypasses it', async (t) => {
  const tls = selfSigned(t);
  const origin = https.createServer({ key: tls.key, cert: tls.cert }, handler);
  const port = await listen(t, origin);
  const p = await proxy(t);
  const base = `https://localhost:${port}/`;
  let restore = withEnv({ HTTPS_PROXY: p.url });
  try {
    const out = tempDir(t);
    const r = await downloadDataset({ name: 'ml-latest-small', out, baseUrl: base, ca: tls.cert });
    t.is(r.md5, MD5);
    t.is(readFileSync(join(out, 'ml-latest-small', 'ratings.csv'), 'utf8'), RATINGS);
    t.deepEqual(p.log, [`CONNECT localhost:${port}`, `CONNECT localhost:${port}`], 'the .md5 and the archive');
  } finally {
    restore();
  }
  restore = withEnv({ https_proxy: p.url, no_proxy: 'example.org, localhost' });
  try {
    const r = await downloadDataset({ name: 'ml-latest-small', out: tempDir(t), baseUrl: base, ca: tls.cert });
    t.is(r.md5, MD5);
    t.is(p.log.length, 2, 'NO_PROXY: straight to the origin');
  } finally {
    restore();
  }
  // Without the CA the origin's certificate is refused, also inside the tunnel.
  restore = withEnv({ HTTPS_PROXY: p.url });
  try {
    await t.throwsAsync(downloadDataset({ name: 'ml-latest-small', out: tempDir(t), baseUrl: base }), {
      message: /self[- ]signed|certificate/i,
    });
  } finally {
    restore();
  }
});

test.serial('http through HTTP_PROXY (absolute-form requests); a refusing proxy is named', async (t) => {
  const origin = http.createServer(handler);
  const port = await listen(t, origin);
  const p = await proxy(t);
  const restore = withEnv({ HTTP_PROXY: p.url });
  try {
    const r = await downloadDataset({ name: 'ml-latest-small', out: tempDir(t), baseUrl: `http://127.0.0.1:${port}/` });
    t.is(r.md5, MD5);
    t.deepEqual(p.log, [
      `GET http://127.0.0.1:${port}/ml-latest-small.zip.md5`,
      `GET http://127.0.0.1:${port}/ml-latest-small.zip`,
    ]);
  } finally {
    restore();
  }
  const closed = net.createServer((s) => s.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n'));
  const cport = await listen(t, closed);
  const r2 = withEnv({ HTTPS_PROXY: `http://127.0.0.1:${cport}` });
  try {
    await t.throwsAsync(
      downloadDataset({ name: 'ml-latest-small', out: tempDir(t), baseUrl: 'https://localhost:9/' }),
      { message: /the proxy 127\.0\.0\.1:\d+ refused CONNECT localhost:9: HTTP 403/ },
    );
  } finally {
    r2();
  }
});

test('proxyFor and NO_PROXY follow curl: scheme variables, lower case, suffixes, ports, *', (t) => {
  const u = (s: string) => new URL(s);
  t.is(proxyFor(u('https://a.example.org/x'), { HTTPS_PROXY: 'http://p:8080' })?.href, 'http://p:8080/');
  t.is(proxyFor(u('https://a.example.org/x'), { https_proxy: 'p:3128' })?.href, 'http://p:3128/');
  t.is(proxyFor(u('http://a.example.org/x'), { HTTPS_PROXY: 'http://p:8080' }), undefined);
  t.is(proxyFor(u('http://a.example.org/x'), { HTTP_PROXY: 'http://p:8080' })?.host, 'p:8080');
  t.is(proxyFor(u('https://a.example.org/'), { HTTPS_PROXY: 'http://p', NO_PROXY: 'example.org' }), undefined);
  t.true(bypassesProxy(u('https://files.grouplens.org/'), '.grouplens.org'));
  t.true(bypassesProxy(u('https://grouplens.org/'), '*.grouplens.org'));
  t.false(bypassesProxy(u('https://notgrouplens.org/'), 'grouplens.org'));
  t.true(bypassesProxy(u('https://x.org:8443/'), 'x.org:8443'));
  t.false(bypassesProxy(u('https://x.org/'), 'x.org:8443'));
  t.true(bypassesProxy(u('http://127.0.0.1:9/'), 'localhost,127.0.0.1'));
  t.true(bypassesProxy(u('http://[::1]:9/'), '::1'));
  t.true(bypassesProxy(u('https://anything/'), '*'));
  t.false(bypassesProxy(u('https://anything/'), ''));
  t.throws(() => proxyFor(u('https://a/'), { HTTPS_PROXY: 'socks5://p:1080' }), {
    message: /must be an http:\/\/ proxy/,
  });
});

test('progress lines show the amount, the rate and the ETA', (t) => {
  t.is(formatBytes(999), '999 B');
  t.is(formatBytes(1_500_000), '1.50 MB');
  t.is(formatBytes(25_300_000), '25.3 MB');
  t.is(formatDuration(42.4), '42 s');
  t.is(formatDuration(185), '3 min 05 s');
  t.is(formatDuration(7620), '2 h 07 min');
  const line = progressLine('downloading', 10_000_000, 50_000_000, 4, 'bytes');
  t.regex(line, /^downloading █{6}░{24} 10.0 MB\/50.0 MB {2}2.50 MB\/s {2}ETA 16 s$/);
  t.regex(progressLine('training', 3, 150, 6), /3\/150 {2}0.50 it\/s {2}ETA 4 min 54 s$/);
  t.regex(progressLine('training', 0, 150, 0), /ETA \?$/);
  t.regex(progressLine('training', 150, 150, 61), /done in 1 min 01 s$/);
});
