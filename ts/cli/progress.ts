/**
 * A progress bar on stderr, drawn only when stderr is a TTY and output is not JSON: count (or bytes),
 * rate and ETA, e.g. `downloading ████████░░░░ 12.6/50.0 MB  4.1 MB/s  ETA 9 s`.
 */
export interface Progress {
  tick(n?: number, note?: string): void;
  done(): void;
}

export interface ProgressOptions {
  /** `bytes`: amounts in kB/MB/GB and rates per second; `items` (default): counts and `it/s`. */
  unit?: 'items' | 'bytes';
}

/** `1.5 MB`, `820 kB`, `12 B` (decimal units, as download sizes are usually quoted). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${Math.round(n)} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  do {
    v /= 1000;
    u++;
  } while (v >= 1000 && u < units.length - 1);
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

/** `42 s`, `3 min 05 s`, `2 h 07 min`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/**
 * One progress line: the bar, `current/total`, the rate since the start and the time left at that rate
 * (`ETA ?` before anything is done), then `note`.
 */
export function progressLine(
  label: string,
  current: number,
  total: number,
  elapsedSeconds: number,
  unit: ProgressOptions['unit'] = 'items',
  note = '',
): string {
  const width = 30;
  const frac = total > 0 ? Math.min(1, current / total) : 0;
  const bar = '█'.repeat(Math.round(frac * width)).padEnd(width, '░');
  const rate = elapsedSeconds > 0 ? current / elapsedSeconds : 0;
  const amount = unit === 'bytes' ? `${formatBytes(current)}/${formatBytes(total)}` : `${current}/${total}`;
  const speed = unit === 'bytes' ? `${formatBytes(rate)}/s` : `${rate >= 10 ? rate.toFixed(0) : rate.toFixed(2)} it/s`;
  const eta =
    current >= total
      ? `done in ${formatDuration(elapsedSeconds)}`
      : `ETA ${rate > 0 ? formatDuration((total - current) / rate) : '?'}`;
  return `${label} ${bar} ${amount}  ${speed}  ${eta}${note ? `  ${note}` : ''}`;
}

export function progress(
  label: string,
  total: number,
  enabled = process.stderr.isTTY === true,
  options: ProgressOptions = {},
): Progress {
  if (!enabled || total <= 0) return { tick() {}, done() {} };
  let current = 0;
  const start = Date.now();
  let last = 0;
  const draw = (note = '') => {
    const line = progressLine(label, current, total, (Date.now() - start) / 1000, options.unit, note);
    process.stderr.write(`\r${line}`.padEnd(80).slice(0, 140));
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
