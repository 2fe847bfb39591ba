/**
 * A real redis-server for tests: on a free loopback port, with its files in a temp directory, AOF on
 * (so a restart keeps the queue). Throws — the test fails, never skips — when it cannot start
 * (install it with `apt-get install redis-server`; scripts/setup does as root).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const ping = (port: number) =>
  spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() ===
  'PONG';

export interface TestRedis {
  port: number;
  url: string;
  /** Stops the server (SHUTDOWN: it writes its files first) and starts it again on the same port and files. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(dir: string): Promise<TestRedis> {
  const port = await freePort();
  let proc: ChildProcess | undefined;
  const start = async () => {
    const p = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
      ],
      { stdio: 'ignore' },
    );
    const failed = new Promise<Error>((resolve) => {
      p.once('error', (e) => resolve(e));
      p.once('exit', (code) => resolve(new Error(`redis-server exited with code ${code}`)));
    });
    let error: Error | undefined;
    failed.then((e) => {
      error = e;
    });
    for (let i = 0; i < 100; i++) {
      if (error) break;
      if (ping(port)) {
        proc = p;
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    p.kill('SIGKILL');
    throw new Error(
      `cannot start redis-server on port ${port}: ${error?.message ?? 'no PONG within 10 s'} (install it: apt-get install redis-server)`,
    );
  };
  const stop = async () => {
    const p = proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    async restart(downMs = 1000) {
      await stop();
      await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
  };
}
