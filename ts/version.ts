/** The package version, read from package.json at run time (one source of truth). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './wasm/loader.js';

export const VERSION: string = (
  JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }
).version;
