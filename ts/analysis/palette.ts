/**
 * The colours of labels (concepts, categories, methods) in the analysis figures and the explorer page,
 * in one dependency-free module so the page's server need not load the figure renderer.
 */

/** Tableau-10 then more distinct colours, so up to 20 labels stay distinguishable. */
export const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
  '#1f77b4',
  '#aec7e8',
  '#ffbb78',
  '#98df8a',
  '#ff9896',
  '#c5b0d5',
  '#c49c94',
  '#f7b6d2',
  '#dbdb8d',
  '#9edae5',
];
