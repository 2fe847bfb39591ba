import test from 'ava';
import { csrFromRows } from '../../ts/csr.js';
import { closeTestPool, IMPLEMENTATIONS } from '../helpers/implementations.js';
import { topkOracle } from '../helpers/oracle.js';
import { Rng, randomCsr, randomScores } from '../helpers/random.js';

test.after.always(closeTestPool);

for (const impl of IMPLEMENTATIONS) {
  test(`${impl.name}: hand-computed case with ties and exclusions`, async (t) => {
    // user 0: scores 0.5 0.9 0.5 0.1, item 1 excluded -> 0 (0.5, lower id of the tie), 2, 3
    // user 1: items 0,1,2 excluded -> only 3 remains, so count 1 < k
    const r = await impl.topk({
      scores: new Float32Array([0.5, 0.9, 0.5, 0.1, 0.9, 0, 0, 0]),
      users: 2,
      items: 4,
      exclude: csrFromRows([[1], [0, 1, 2]], 4),
      k: 3,
    });
    t.deepEqual([...r.items], [0, 2, 3, 3, 0xffffffff, 0xffffffff]);
    t.deepEqual([...r.counts], [3, 1]);
    t.deepEqual([...r.scores.slice(0, 4)], [0.5, 0.5, 0.10000000149011612, 0]);
    t.is(r.scores[4], Number.NEGATIVE_INFINITY);
  });

  test(`${impl.name}: edge cases (k = 0, k > items, empty batch, all items excluded)`, async (t) => {
    const scores = new Float32Array([3, 1, 2]);
    const none = csrFromRows([[]], 3);
    t.deepEqual([...(await impl.topk({ scores, users: 1, items: 3, exclude: none, k: 0 })).items], []);
    const big = await impl.topk({ scores, users: 1, items: 3, exclude: none, k: 5 });
    t.deepEqual([...big.items.slice(0, 3)], [0, 2, 1]);
    t.is(big.counts[0], 3);
    const empty = await impl.topk({
      scores: new Float32Array(0),
      users: 0,
      items: 3,
      exclude: csrFromRows([], 3),
      k: 2,
    });
    t.is(empty.items.length, 0);
    const all = await impl.topk({ scores, users: 1, items: 3, exclude: csrFromRows([[0, 1, 2]], 3), k: 2 });
    t.is(all.counts[0], 0);
  });

  test(`${impl.name}: matches the oracle on seeded random inputs`, async (t) => {
    const rng = new Rng(20261129);
    for (let trial = 0; trial < 30; trial++) {
      const users = rng.int(6);
      const items = 1 + rng.int(300);
      const k = rng.int(120);
      const args = {
        scores: randomScores(rng, users, items, 1 + rng.int(20)),
        users,
        items,
        exclude: randomCsr(rng, users, items, rng.next() * 0.6),
        k,
      };
      const want = topkOracle(args);
      const got = await impl.topk(args);
      t.deepEqual(got, want, `trial ${trial}`);
    }
  });
}
