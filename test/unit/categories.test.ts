import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { categoriesFromGenres, readCategories } from '../../ts/analysis/categories.js';
import { NO_CATEGORY } from '../../ts/analysis/macro.js';
import { ParseError } from '../../ts/errors.js';

function withFile(name: string, text: string, body: (path: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'macrid-cats-'));
  try {
    const p = join(dir, name);
    writeFileSync(p, text);
    body(p);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('MovieLens movies.csv: first genre, quoted titles, unknown genres, ids the model lacks ignored', (t) => {
  const text = [
    'movieId,title,genres',
    '1,Toy Story (1995),Adventure|Animation|Children',
    '2,"American President, The (1995)",Comedy|Drama|Romance',
    '3,"Title with ""quotes"" (2000)",(no genres listed)',
    '99,Not in the model,Drama',
    '',
  ].join('\n');
  withFile('movies.csv', text, (p) => {
    const r = readCategories(p, ['2', '1', '3', '7']);
    t.deepEqual(r.names, ['Comedy', 'Adventure']); // in item-column order of first appearance
    t.deepEqual([...r.labels], [0, 1, NO_CATEGORY, NO_CATEGORY]);
    t.deepEqual(r.titles, [
      'American President, The (1995)',
      'Toy Story (1995)',
      'Title with "quotes" (2000)',
      undefined,
    ]);
    t.is(r.matched, 2);
  });
});

test('generic item/category files; errors name the file', (t) => {
  withFile('cats.tsv', 'item\tcategory\na\tx\nb\ty\nc\tx\n', (p) => {
    const r = readCategories(p, ['c', 'b', 'a']);
    t.deepEqual(r.names, ['x', 'y']);
    t.deepEqual([...r.labels], [0, 1, 0]);
    t.is(r.titles, undefined);
  });
  t.throws(() => readCategories('/nonexistent/cats.tsv', ['a']), { message: /cats\.tsv/ });
  withFile('bad.csv', 'movieId,title,genres\n1,"unterminated\n', (p) => {
    t.throws(() => readCategories(p, ['1']), { instanceOf: ParseError, message: /bad\.csv/ });
  });
});

test('categoriesFromGenres: first genre per item, unknown when none', (t) => {
  const c = categoriesFromGenres([['Drama', 'Comedy'], [], ['Comedy'], ['(no genres listed)'], ['Drama']]);
  t.deepEqual(c.names, ['Drama', 'Comedy']);
  t.deepEqual([...c.labels], [0, NO_CATEGORY, 1, NO_CATEGORY, 0]);
});
