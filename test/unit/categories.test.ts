import test from 'ava';
import { categoriesFromGenres, parseCategories, splitCsvLine } from '../../ts/analysis/categories.js';
import { NO_CATEGORY } from '../../ts/analysis/macro.js';
import { ParseError } from '../../ts/errors.js';

test('MovieLens movies.csv: first genre, quoted titles, unknown genres, ids the model lacks ignored', (t) => {
  const text = [
    'movieId,title,genres',
    '1,Toy Story (1995),Adventure|Animation|Children',
    '2,"American President, The (1995)",Comedy|Drama|Romance',
    '3,"Title with ""quotes"" (2000)",(no genres listed)',
    '99,Not in the model,Drama',
    '',
  ].join('\n');
  const r = parseCategories(text, 'movies.csv', ['2', '1', '3', '7']);
  t.deepEqual(r.names, ['Adventure', 'Comedy']); // in order of first appearance
  t.deepEqual([...r.labels], [1, 0, NO_CATEGORY, NO_CATEGORY]);
  t.deepEqual(r.titles, [
    'American President, The (1995)',
    'Toy Story (1995)',
    'Title with "quotes" (2000)',
    undefined,
  ]);
  t.is(r.matched, 2);
});

test('generic item/category files (tab or comma, optional header); errors name file and line', (t) => {
  const r = parseCategories('item\tcategory\na\tx\nb\ty\nc\tx\n', 'cats.tsv', ['c', 'b', 'a']);
  t.deepEqual(r.names, ['x', 'y']);
  t.deepEqual([...r.labels], [0, 1, 0]);
  t.is(r.titles, undefined);
  const s = parseCategories('a,x\nb,"y, z"\n', 'cats.csv', ['a', 'b']);
  t.deepEqual(s.names, ['x', 'y, z']);
  t.throws(() => parseCategories('a,x\na,y\n', 'cats.csv', ['a']), {
    instanceOf: ParseError,
    message: "cats.csv:2: item 'a' is listed twice",
  });
  t.throws(() => parseCategories('a\n', 'cats.csv', ['a']), {
    instanceOf: ParseError,
    message: /cats\.csv:1: expected/,
  });
  t.throws(() => splitCsvLine('"open', 'f:3'), { message: 'f:3: unterminated quoted field' });
});

test('categoriesFromGenres: first genre per item, unknown when none', (t) => {
  const c = categoriesFromGenres([['Drama', 'Comedy'], [], ['Comedy'], ['(no genres listed)'], ['Drama']]);
  t.deepEqual(c.names, ['Drama', 'Comedy']);
  t.deepEqual([...c.labels], [0, NO_CATEGORY, 1, NO_CATEGORY, 0]);
});
