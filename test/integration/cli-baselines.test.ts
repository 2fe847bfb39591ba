/**
 * `macridvae train --model ease|pop|itemknn` through the real CLI, then `eval` and `recommend` on the
 * model directory; EASE's memory guard refuses with the figure (--max-memory).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { cli, prepareTiny } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

test('train --model ease|pop|itemknn writes a model directory that eval and recommend read', (t) => {
  const dir = tempDir(t, 'cli-baselines');
  const data = prepareTiny(dir);
  const extra: Record<string, string[]> = {
    ease: ['--lambda', '5,50'],
    pop: [],
    itemknn: ['--neighbours', '5,10', '--shrink', '0'],
  };
  for (const kind of ['ease', 'pop', 'itemknn']) {
    const out = join(dir, kind);
    const r = cli(['train', '--model', kind, '--data', data, '--out', out, '--threads', '1', '--json', ...extra[kind]]);
    t.is(r.code, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const summary = lines[lines.length - 1];
    t.is(summary.model.kind, kind);
    t.is(lines.length - 1, ({ ease: 2, pop: 1, itemknn: 2 } as Record<string, number>)[kind]);
    // The weights file is content-addressed (weights-<sha8>.mvt, docs/model-format.md).
    t.true(readdirSync(out).some((f) => /^weights-[0-9a-f]{8}\.mvt$/.test(f)));
    const e = cli(['eval', '--model', out, '--data', data, '--json', '--threads', '1']);
    t.is(e.code, 0, e.stderr);
    const ev = JSON.parse(e.stdout);
    t.is(ev.metrics['ndcg@100'].mean, summary.test['ndcg@100'].mean);
    t.true(ev.datasetMatches);
    // The TF.js-free serving engine (macridvae/serve) scores the VAEs only; it refuses a reference model
    // with a clear error instead of a wrong answer (serving EASE/pop/ItemKNN by ids is open work, issue 18).
    const rec = cli(['recommend', '--model', out, '--column-ids', '--items', '0,1,2', '--k', '3', '--json']);
    t.not(rec.code, 0);
    t.regex(rec.stderr, new RegExp(kind));
    t.notRegex(rec.stderr, /\n\s+at /);
    // Refused without --force.
    const again = cli(['train', '--model', kind, '--data', data, '--out', out]);
    t.is(again.code, 2);
    t.regex(again.stderr, /already holds a model/);
  }
  const refused = cli(['train', '--model', 'ease', '--data', data, '--out', join(dir, 'big'), '--max-memory', '1000']);
  t.not(refused.code, 0);
  t.regex(refused.stderr, /EASE on [\d,]+ items needs [\d.]+ GB \(\d+ bytes.* but may use 0\.00 GB \(1000 bytes/);
  t.false(existsSync(join(dir, 'big')) && readdirSync(join(dir, 'big')).some((f) => f.startsWith('weights')));
  const wrong = cli(['train', '--model', 'pop', '--data', data, '--out', join(dir, 'x'), '--epochs', '3']);
  t.is(wrong.code, 2);
  t.regex(wrong.stderr, /--epochs does not apply to --model pop/);
});
