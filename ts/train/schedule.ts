/** The KL weight β as a function of the optimizer step (see `BetaSchedule` in `ts/models/config.ts`). */
import type { BetaSchedule } from '../models/config.js';

export interface ScheduleContext {
  /** Minibatches per epoch (the `reference` schedule's unit). */
  batchesPerEpoch: number;
  /** Steps of the `multvae` schedule to reach the cap. */
  annealSteps: number;
}

/**
 * β for the step that follows `stepsDone` completed steps (the first step has `stepsDone = 0`, so it
 * starts at 0 except under `constant`), as the reference implementations compute it before each update:
 * - `reference`: `min(β, stepsDone / (5 · batchesPerEpoch))` (MacridVAE's released code);
 * - `multvae`: `min(β, stepsDone / annealSteps)` (Liang et al.);
 * - `constant`: `β`.
 */
export function betaAt(schedule: BetaSchedule, beta: number, stepsDone: number, ctx: ScheduleContext): number {
  switch (schedule) {
    case 'reference':
      return Math.min(beta, stepsDone / (5 * Math.max(1, ctx.batchesPerEpoch)));
    case 'multvae':
      return Math.min(beta, stepsDone / Math.max(1, ctx.annealSteps));
    case 'constant':
      return beta;
  }
}
