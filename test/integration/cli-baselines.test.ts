/**
 * `macridvae train --model ease|pop|itemknn` through the real CLI, then `eval` and `recommend` (by ids,
 * one user and streamed; the library's answer) on the model directory; EASE's memory guard refuses with the figure (--max-memory).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { openRecommender } from '../../ts/serve/service.js';
import { cli, prepareTiny } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

test('train --model ease|pop|itemknn writes a model directory that eval and recommend read', async (t) => {
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
    // Served by ids without TensorFlow.js (items.json written beside the weights): `recommend` answers
    // what the library answers, streamed with --input/--output too; --explain is refused naming the kind.
    const catalog = JSON.parse(readFileSync(join(out, 'items.json'), 'utf8'));
    const history = catalog.ids.slice(0, 3);
    const lib = await openRecommender(out);
    const [want] = await lib.recommend([history], { k: 3 });
    const rec = cli(['recommend', '--model', out, '--items', history.join(','), '--k', '3', '--json']);
    t.is(rec.code, 0, rec.stderr);
    t.deepEqual(JSON.parse(rec.stdout).items, JSON.parse(JSON.stringify(want.items)));
    const input = join(dir, `${kind}-users.jsonl`);
    const output = join(dir, `${kind}-recs.jsonl`);
    writeFileSync(
      input,
      `${JSON.stringify({ user: 'a', items: history })}\n${JSON.stringify({ user: 'b', items: [] })}\n`,
    );
    const streamed = cli(['recommend', '--model', out, '--input', input, '--output', output, '--k', '3']);
    t.is(streamed.code, 0, streamed.stderr);
    const written = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    t.deepEqual(written[0].items, JSON.parse(JSON.stringify(want.items)));
    t.is(written[1].fallback, 'popularity');
    const explain = cli(['recommend', '--model', out, '--items', history.join(','), '--explain']);
    t.not(explain.code, 0);
    t.regex(explain.stderr, new RegExp(`--explain needs a MacridVAE model, not '${kind}'`));
    t.notRegex(explain.stderr, /\n\s+at /);
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
