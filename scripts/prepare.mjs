// `prepare`: in a clone, builds everything. npm also runs
// `prepare` for a `file:` dependency, and a detector project made by `passthru plugin new` links
// the installed Passthru that way: there the package is already built and ships no sources or
// compiler for the host, so there is nothing to do.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (existsSync(join(root, 'host')) && existsSync(join(root, 'tsconfig.json'))) {
  execSync('npm run build', { cwd: root, stdio: 'inherit' });
}
