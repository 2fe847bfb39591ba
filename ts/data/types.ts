/**
 * The in-memory shape of a prepared dataset, as training and evaluation consume it. The dataset store
 * (`ts/data/`) loads a dataset directory into this; tests build it directly.
 *
 * Item columns are the items of training users (the MultVAE protocol), indexed 0..items-1.
 */
import type { Csr } from '../csr.js';

/** Held-out users of one split: `foldIn` is the model's input, `target` what it must rank. Row r of both is the same user. */
export interface HeldOut {
  foldIn: Csr;
  target: Csr;
}

export interface SplitData {
  /** Number of item columns. */
  items: number;
  /** Training users × items (binary). */
  train: Csr;
  validation: HeldOut;
  test: HeldOut;
}
