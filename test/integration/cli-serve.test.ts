/**
 * `macridvae serve` and `macridvae recommend` by spawning the built CLI (run `npm run build:ts` first):
 * `train` writes a self-contained model directory (items.json), `serve` answers by the dataset's ids
 * on 127.0.0.1 without `--data`, and SIGTERM finishes the request in flight and exits 0.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { BIN, cliModel } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'macridvae-cli-serve-'));
const { model } = cliModel(root, ['--epochs', '2', '--concepts', '3', '--d', '8']);
test.after.always(() => rmSync(root, { recursive: true, force: true }));

test('serve: listens on 127.0.0.1, answers by ids with titles, SIGTERM drains and exits 0', async (t) => {
  t.true(existsSync(join(model, 'items.json')));
  const child = spawn(process.execPath, [BIN, 'serve', '--model', model, '--port', '0', '--threads', '2', '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b) => {
    stderr += b;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (b) => {
        out += b;
        if (out.includes('\n')) resolve(out.split('\n')[0]);
      });
      child.on('exit', () => reject(new Error(`serve exited early: ${stderr}`)));
    });
    const { listening } = JSON.parse(line) as { listening: string };
    t.regex(listening, /^http:\/\/127\.0\.0\.1:\d+$/);
    const ask = () =>
      fetch(`${listening}/recommend`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ history: ['1', '2', '3'], k: 3, explain: true }),
      });
    const res = await ask();
    t.is(res.status, 200);
    const body = (await res.json()) as { items: Array<{ id: string; title: string; concept: number }> };
    t.is(body.items.length, 3);
    for (const it of body.items) t.is(it.title, `Item ${it.id}`);
    // A request in flight when SIGTERM arrives is answered: its headers and half its body are sent, then
    // SIGTERM, then the rest of the body; then the process exits 0.
    const { port } = new URL(listening);
    const raw = JSON.stringify({ history: ['1', '2', '3'], k: 3 });
    const sock = connect(Number(port), '127.0.0.1');
    let answer = '';
    sock.on('data', (b) => {
      answer += b;
    });
    const closed = new Promise((r) => sock.on('close', r));
    sock.write(
      `POST /recommend HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${raw.length}\r\nConnection: close\r\n\r\n${raw.slice(0, 10)}`,
    );
    await new Promise((r) => setTimeout(r, 2000));
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    sock.end(raw.slice(10));
    await closed;
    t.regex(answer, /^HTTP\/1\.1 200 /);
    t.is(await exited, 0, stderr);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
