// Where the installed package keeps its bundled files. Found from this module's location so it works
// from the compiled `dist/host/` and from the sources under `host/` (tests run those directly).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'host'))) return dir;
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'dist', 'host'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('passthru: cannot find its package root');
    dir = parent;
  }
}

export const PACKAGE_ROOT = findPackageRoot();
/** Bundled detectors, compiled by `npm run build:plugins` (part of `prepare`). */
export const BUNDLED_PLUGINS_DIR = join(PACKAGE_ROOT, 'dist', 'plugins');
export const DEFAULT_CONFIG = join(PACKAGE_ROOT, 'config', 'default.json');
