/**
 * Where training time goes: a process-wide accumulator of milliseconds per phase, off by default.
 * The models time `concepts` (item-side work: normalization, concept assignment and their gradients),
 * `encoder` (sparse first layer, f_nn, sampling, KL and their gradients), `decoder` (the fused kernel) —
 * MacridVAE runs its encoder, decoder and encoder backward together per slice of users, timed as
 * `users`; the trainer times `optimizer` and `evaluation`. `npm run bench:train` prints the shares.
 */
export const PHASES = ['concepts', 'encoder', 'decoder', 'users', 'optimizer', 'evaluation'] as const;
export type Phase = (typeof PHASES)[number];

const times = new Map<Phase, number>();
let enabled = false;

/** Turns profiling on (and clears it) or off. */
export function setProfiling(on: boolean): void {
  enabled = on;
  times.clear();
}

/** Milliseconds per phase since profiling was turned on. */
export function profileTimes(): Record<Phase, number> {
  const out = {} as Record<Phase, number>;
  for (const p of PHASES) out[p] = times.get(p) ?? 0;
  return out;
}

/** Adds the time since `start` (a `performance.now()` value) to `phase`; returns now. */
export function lap(phase: Phase, start: number): number {
  const now = performance.now();
  if (enabled) times.set(phase, (times.get(phase) ?? 0) + (now - start));
  return now;
}
