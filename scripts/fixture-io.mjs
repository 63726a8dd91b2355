// Reading and writing a detector's fixtures, for the plugins' derive-fixtures.mjs scripts.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `read(name)` and `write(name, bytes)` in the `fixtures/` folder beside the calling script. */
export function fixtureIO(scriptUrl) {
  const dir = join(dirname(fileURLToPath(scriptUrl)), 'fixtures');
  return {
    read: (f) => readFileSync(join(dir, f)),
    write: (f, b) => {
      writeFileSync(join(dir, f), b);
      console.log(`${f} ${b.length} B`);
    },
  };
}
