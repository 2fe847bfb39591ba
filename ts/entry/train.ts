/**
 * `macridvae/train`: training (the trainer, Adam, β schedules), production training on all users, and the
 * model directory (checkpoints, manifest, tensor files). Importing this loads TensorFlow.js.
 */
export type {
  Checkpoint,
  CheckpointState,
  LoadedModel,
  Manifest as ModelManifest,
  MetricTable,
  TensorFile,
} from '../train/checkpoint.js';
export {
  datasetFingerprint,
  decodeTensorFile,
  encodeTensorFile,
  loadModel,
  readManifest as readModelManifest,
  readTensorFile,
  sameDatasetFingerprint,
} from '../train/checkpoint.js';
export type { AdamOptions, AdamState } from '../train/optimizer.js';
export { Adam } from '../train/optimizer.js';
export type { ProductionInfo } from '../train/production.js';
export { allUsersData, epochsFromRun } from '../train/production.js';
export { betaAt } from '../train/schedule.js';
export type { EpochRecord, EpochTraining, EpochValidation, TrainOptions, TrainResult } from '../train/trainer.js';
export { EVAL_KS, Trainer, trainModel } from '../train/trainer.js';
