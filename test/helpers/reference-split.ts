/**
 * TEST-ONLY scaffolding until the data branch's `loadDataset` lands: reads the reference preprocessing's
 * split files (`export_pro_sg.py RATINGS N OUT_DIR` of the PyTorch reference: `unique_sid.txt`,
 * `train.csv`, `validation_{tr,te}.csv`, `test_{tr,te}.csv`, columns `uid,sid`) into a `SplitData`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { csrFromRows } from '../../ts/csr.js';
import type { HeldOut, SplitData } from '../../ts/data/types.js';

function pairs(path: string): Array<[number, number]> {
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  return lines.slice(1).map((l) => {
    const [u, s] = l.split(',');
    return [Number(u), Number(s)];
  });
}

function rowsByUser(ps: Array<[number, number]>): Map<number, number[]> {
  const m = new Map<number, number[]>();
  for (const [u, s] of ps) {
    let r = m.get(u);
    if (!r) m.set(u, (r = []));
    r.push(s);
  }
  return m;
}

function heldOut(dir: string, name: string, items: number): HeldOut {
  const tr = rowsByUser(pairs(join(dir, `${name}_tr.csv`)));
  const te = rowsByUser(pairs(join(dir, `${name}_te.csv`)));
  const users = [...new Set([...tr.keys(), ...te.keys()])].sort((a, b) => a - b);
  const sorted = (r: number[] | undefined) => [...(r ?? [])].sort((a, b) => a - b);
  return {
    foldIn: csrFromRows(
      users.map((u) => sorted(tr.get(u))),
      items,
    ),
    target: csrFromRows(
      users.map((u) => sorted(te.get(u))),
      items,
    ),
  };
}

export function loadReferenceSplit(dir: string): SplitData {
  const items = readFileSync(join(dir, 'unique_sid.txt'), 'utf8').trim().split('\n').length;
  const train = rowsByUser(pairs(join(dir, 'train.csv')));
  const users = [...train.keys()].sort((a, b) => a - b);
  return {
    items,
    train: csrFromRows(
      users.map((u) => [...(train.get(u) as number[])].sort((a, b) => a - b)),
      items,
    ),
    validation: heldOut(dir, 'validation', items),
    test: heldOut(dir, 'test', items),
  };
}
