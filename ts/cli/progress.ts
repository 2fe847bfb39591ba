/** A progress bar on stderr, drawn only when stderr is a TTY and output is not JSON. */
export interface Progress {
  tick(n?: number, note?: string): void;
  done(): void;
}

export function progress(label: string, total: number, enabled = process.stderr.isTTY === true): Progress {
  if (!enabled || total <= 0) return { tick() {}, done() {} };
  let current = 0;
  const start = Date.now();
  let last = 0;
  const draw = (note = '') => {
    const width = 30;
    const frac = Math.min(1, current / total);
    const bar = '█'.repeat(Math.round(frac * width)).padEnd(width, '░');
    const secs = ((Date.now() - start) / 1000).toFixed(1);
    process.stderr.write(`\r${label} ${bar} ${current}/${total} ${secs}s ${note}`.padEnd(80).slice(0, 120));
  };
  return {
    tick(n = 1, note = '') {
      current += n;
      const now = Date.now();
      if (now - last > 100 || current >= total) {
        last = now;
        draw(note);
      }
    },
    done() {
      draw();
      process.stderr.write('\n');
    },
  };
}
