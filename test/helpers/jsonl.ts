/** The complete JSON lines of a file that may be appended to right now (a cut-short last line is left out); [] when absent. */
import { existsSync, readFileSync } from 'node:fs';

// biome-ignore lint/suspicious/noExplicitAny: test records of several shapes
export function jsonLines(path: string): any[] {
  return existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l.endsWith('}'))
        .map((l) => JSON.parse(l))
    : [];
}
