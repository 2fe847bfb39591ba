/**
 * A real Chromium for browser tests: Debian's `chromium` (scripts/setup installs it as root) driven by
 * playwright-core, which downloads no browser. Headless, sandbox off (tests run as root in CI), no
 * network chatter, and a fresh profile removed afterwards. When the browser cannot start this throws
 * (with how to install it), so the test fails instead of skipping.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM = process.env.MACRIDVAE_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Starts Chromium with a fresh `--user-data-dir` (see the module doc). */
export async function launchChromium(options: { width?: number; height?: number } = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: run 'bash scripts/setup' as root, or 'apt-get install chromium'`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'macridvae-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: options.width ?? 1400, height: options.height ?? 1000 },
      timeout: 60_000,
    });
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    throw new Error(`Chromium (${CHROMIUM}) did not start: ${e instanceof Error ? e.message : String(e)}`);
  }
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
