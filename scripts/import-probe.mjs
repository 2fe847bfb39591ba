// import-probe: imports one module (argv[2], a path or URL) in a fresh process and reports what it cost;
// used by test/unit/imports.test.ts and scripts/bench-import.ts.
// Prints, as one JSON line on stdout, the node_modules packages an ESM import of argv[2] loads (through
// resolve hooks, which see ESM and CommonJS alike) and how long the import took in milliseconds.
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

const { port1, port2 } = new MessageChannel();
const loaded = new Set();
port1.on('message', (url) => {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) loaded.add(m[1]);
});
port1.unref();
const hooks = `
let port;
export function initialize(data) { port = data.port; }
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  port.postMessage(r.url);
  return r;
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`, { data: { port: port2 }, transferList: [port2] });
const t0 = performance.now();
await import(process.argv[2]);
const ms = performance.now() - t0;
await new Promise((r) => setTimeout(r, 50));
console.log(JSON.stringify({ ms, packages: [...loaded].sort() }));
