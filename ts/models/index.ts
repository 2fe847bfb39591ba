/** Model construction by kind: the one place that maps a config to its implementation. */
import { InvalidArgumentError } from '../errors.js';
import type { RuntimeLike } from '../runtime/runtime.js';
import { checkInt } from '../validate.js';
import type { ModelConfig } from './config.js';
import { MacridVae } from './macridvae.js';
import { MultDae } from './multdae.js';
import { MultModel } from './multvae.js';
import type { Model } from './types.js';

export interface CreateModelOptions {
  /** Seed of the initialization. */
  seed: number;
  /** Where the fused decoder runs (default: the calling thread). */
  runtime?: RuntimeLike;
}

/** A freshly initialized model for `items` item columns (weights drawn from `seed`). */
export function createModel(config: ModelConfig, items: number, options: CreateModelOptions): Model {
  checkInt('createModel', 'items', items, 1);
  checkInt('createModel', 'seed', options.seed, 0, 0xffffffff);
  switch (config.kind) {
    case 'macridvae':
      return new MacridVae(config, items, options);
    case 'multvae':
      return new MultModel(config, items, options);
    case 'multdae':
      return new MultDae({ ...config, kind: 'multdae' }, items, options);
    default:
      throw new InvalidArgumentError(
        `createModel(): unknown model kind '${String((config as { kind: unknown }).kind)}'`,
      );
  }
}
