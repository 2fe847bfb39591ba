/** Temporary directories for tests, removed when the test ends. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';

export function tempDir(t: ExecutionContext, tag = 'data'): string {
  const dir = mkdtempSync(join(tmpdir(), `macridvae-${tag}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
