// `node --import ./test/helpers/trace-modules.mjs`: collects the URLs of every module resolved
// (ESM imports, including CommonJS packages imported from ESM) into globalThis.__resolved.
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

const { port1, port2 } = new MessageChannel();
globalThis.__resolved = [];
port1.on('message', (url) => globalThis.__resolved.push(url));
port1.unref();
register('./trace-hooks.mjs', import.meta.url, { data: { port: port2 }, transferList: [port2] });
