/**
 * `macridvae/data`: datasets — reading ratings (files, or rows in memory), the MultVAE split, the dataset
 * store, the synthetic generator, GroupLens downloads. Light.
 */
export type { Csr } from '../csr.js';
export { checkCsr, csrFromRows, csrGatherRows, csrRow, csrRows, csrSliceRows } from '../csr.js';
export type { DownloadOptions, DownloadResult } from '../data/download.js';
export { DOWNLOADS, downloadDataset } from '../data/download.js';
export type { ItemMeta } from '../data/metadata.js';
export { alignItemMetadata, readItemMetadata } from '../data/metadata.js';
export type { PreparedOptions, PrepareOptions, PrepareResult } from '../data/prepare.js';
export { prepareDataset } from '../data/prepare.js';
export { exportReference, importReference } from '../data/reference.js';
export type { RatingRow, RatingRows } from '../data/rows.js';
export type { Dataset, DatasetCounts, DatasetManifest } from '../data/store.js';
export { indexOf, loadDataset, loadDatasetSync, readManifest } from '../data/store.js';
export type { SynthesizeOptions, SynthesizeResult, SynthSummary } from '../data/synth.js';
export { SYNTH_PRESETS, synthesize } from '../data/synth.js';
export type { HeldOut, SplitData } from '../data/types.js';
