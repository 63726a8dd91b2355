// Makes `npx passthru` in a clone run this checkout's build at once. npm links the bins of
// dependencies into node_modules/.bin but never the project's own, so without this npx would
// install a second copy of the project into its cache (and build it again) on first use.
import { chmodSync, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, 'dist', 'host', 'cli.js');
const binDir = join(root, 'node_modules', '.bin');
if (existsSync(target) && existsSync(join(root, 'node_modules'))) {
  chmodSync(target, 0o755);
  mkdirSync(binDir, { recursive: true });
  const link = join(binDir, 'passthru');
  rmSync(link, { force: true });
  symlinkSync(relative(binDir, target), link);
}
