/**
 * MultDAE (Liang et al. 2018): the denoising autoencoder `[items → hidden… → latent → reversed hidden… →
 * items]` with tanh activations, dropout on the L2-normalized input and the multinomial likelihood. It
 * shares its implementation with β-MultVAE (see `multvae.ts`); this module is its named entry point.
 */

import type { RuntimeLike } from '../runtime/runtime.js';
import type { MultConfig } from './config.js';
import { MultModel } from './multvae.js';

export class MultDae extends MultModel {
  constructor(
    config: MultConfig & { kind: 'multdae' },
    items: number,
    options: { seed: number; runtime?: RuntimeLike },
  ) {
    super(config, items, options);
  }
}
