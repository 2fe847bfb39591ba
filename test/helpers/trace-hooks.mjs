// Module hooks (node:module register) that report every resolved URL to the main thread: the
// light-import tests check which packages an entry point loads.
let port;
export async function initialize(data) {
  port = data.port;
}
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  port.postMessage(r.url);
  return r;
}
