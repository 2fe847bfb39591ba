/** Spawns the real built CLI (dist/cli/main.js; run `npm run build:ts` first). */
import { spawnSync } from 'node:child_process';

export const BIN = 'dist/cli/main.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cli(
  args: string[],
  options: { input?: string; cwd?: string; timeoutMs?: number; env?: Record<string, string> } = {},
): CliResult {
  const r = spawnSync(process.execPath, [options.cwd ? `${process.cwd()}/${BIN}` : BIN, ...args], {
    encoding: 'utf8',
    input: options.input,
    cwd: options.cwd,
    env: options.env ? { ...process.env, ...options.env } : undefined,
    timeout: options.timeoutMs ?? 300_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * A synthetic dataset (`data synth --preset tiny`), prepared, and a model trained on it with `trainArgs`,
 * under `root`: returns the dataset and model directories. Throws with the command's stderr on failure.
 */
export function cliModel(root: string, trainArgs: string[]): { raw: string; data: string; model: string } {
  const raw = `${root}/raw`;
  const data = `${root}/ds`;
  const model = `${root}/model`;
  for (const args of [
    ['data', 'synth', '--preset', 'tiny', '--out', raw],
    ['data', 'prepare', '--input', raw, '--out', data],
    ['train', '--data', data, '--out', model, ...trainArgs, '--json'],
  ]) {
    const r = cli(args);
    if (r.code !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  }
  return { raw, data, model };
}
