/**
 * Finds, reads and compiles the kernels' WASM module — once per process. The compiled
 * `WebAssembly.Module` is what workers receive; each thread instantiates its own copy.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MacridError } from '../errors.js';

/** The file name the build writes (`scripts/build-wasm`). */
export const WASM_FILE = 'macrid_wasm.wasm';

let cached: WebAssembly.Module | undefined;

/** The package root: the nearest folder above this file holding `package.json`. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new MacridError(`cannot find package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** Path of the WASM module; `MACRIDVAE_WASM` overrides it (for testing another build). */
export function wasmPath(): string {
  return process.env.MACRIDVAE_WASM ?? join(packageRoot(), 'wasm', WASM_FILE);
}

/** The compiled module, compiled synchronously on first use and shared afterwards. */
export function wasmModule(): WebAssembly.Module {
  if (cached) return cached;
  const path = wasmPath();
  if (!existsSync(path)) {
    throw new MacridError(
      `the WASM kernels are not built: ${path} is missing. Run 'bash scripts/setup' (or 'npm run build:wasm').`,
    );
  }
  cached = new WebAssembly.Module(readFileSync(path));
  return cached;
}
