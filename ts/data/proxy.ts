/**
 * Proxies for `data download`, from the environment as curl reads it: `HTTPS_PROXY` (or `https_proxy`)
 * for https URLs, `HTTP_PROXY` (or `http_proxy`) for http URLs, `NO_PROXY` (or `no_proxy`): a comma- or
 * space-separated list of hosts that bypass the proxy — `*` (all), a host name matching itself and its
 * subdomains (`example.org`, `.example.org`), an IP address, optionally with `:port`.
 *
 * https through a proxy opens a CONNECT tunnel and runs TLS to the origin inside it (the proxy sees only
 * the host and port); http through a proxy sends the request in absolute form to the proxy. A proxy URL
 * with `user:password@` sends `Proxy-Authorization: Basic …`.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import { MacridError } from '../errors.js';

type Env = Record<string, string | undefined>;

function envVar(env: Env, name: string): string | undefined {
  const v = env[name] ?? env[name.toLowerCase()];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function defaultPort(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

/** Whether `NO_PROXY` exempts `url`. */
export function bypassesProxy(url: URL, noProxy: string | undefined): boolean {
  if (!noProxy) return false;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const port = defaultPort(url);
  for (const raw of noProxy.split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    let entryPort: number | undefined;
    const m = /^(.*?):(\d+)$/.exec(entry);
    if (m && !entry.includes('::')) {
      entry = m[1];
      entryPort = Number(m[2]);
    }
    entry = entry.replace(/^\[(.*)\]$/, '$1').replace(/^\*?\./, '');
    if (entryPort !== undefined && entryPort !== port) continue;
    if (host === entry || host.endsWith(`.${entry}`)) return true;
  }
  return false;
}

/** The proxy for `url` from `env` (default `process.env`), or undefined for a direct connection. */
export function proxyFor(url: URL, env: Env = process.env): URL | undefined {
  const raw = envVar(env, url.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY');
  if (raw === undefined || bypassesProxy(url, envVar(env, 'NO_PROXY'))) return undefined;
  let proxy: URL;
  try {
    proxy = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new MacridError(`the proxy '${raw}' (from the environment) is not a URL`);
  }
  if (proxy.protocol !== 'http:') {
    throw new MacridError(`the proxy '${raw}' must be an http:// proxy (got ${proxy.protocol})`);
  }
  return proxy;
}

function proxyAuth(proxy: URL): Record<string, string> {
  if (!proxy.username) return {};
  const cred = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return { 'Proxy-Authorization': `Basic ${Buffer.from(cred).toString('base64')}` };
}

/** Opens a CONNECT tunnel through `proxy` to `url`'s host and port. */
export function connectTunnel(proxy: URL, url: URL, timeoutMs = 60_000): Promise<Socket> {
  const target = `${url.hostname}:${defaultPort(url)}`;
  return new Promise((ok, fail) => {
    const req = http.request({
      host: proxy.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: defaultPort(proxy),
      method: 'CONNECT',
      path: target,
      headers: { Host: target, ...proxyAuth(proxy) },
      timeout: timeoutMs,
    });
    req.on('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        fail(new MacridError(`the proxy ${proxy.host} refused CONNECT ${target}: HTTP ${res.statusCode}`));
        return;
      }
      ok(socket);
    });
    req.on('timeout', () =>
      req.destroy(new MacridError(`the proxy ${proxy.host}: no answer to CONNECT for ${timeoutMs / 1000} s`)),
    );
    req.on('error', (e) => fail(new MacridError(`the proxy ${proxy.host}: ${e.message}`, { cause: e })));
    req.end();
  });
}

/**
 * The `http(s).get` options that route a request to `url` through `proxy`: for https a TLS connection
 * inside a CONNECT tunnel (opened here), for http the absolute-form request to the proxy.
 */
export async function viaProxy(
  proxy: URL,
  url: URL,
  tlsOptions: tls.ConnectionOptions = {},
): Promise<http.RequestOptions & { proxied: true }> {
  if (url.protocol === 'https:') {
    const socket = await connectTunnel(proxy, url);
    // No agent: Node then uses createConnection (with `agent: false` it would make its own connection).
    return {
      proxied: true,
      createConnection: () =>
        tls.connect({ ...tlsOptions, socket, servername: url.hostname.replace(/^\[(.*)\]$/, '$1') }),
    };
  }
  return {
    proxied: true,
    agent: false,
    host: proxy.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: defaultPort(proxy),
    path: url.href,
    headers: { Host: url.host, ...proxyAuth(proxy) },
  };
}
