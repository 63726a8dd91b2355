#!/usr/bin/env node
// Builds every plugins/NAME/index.ts into dist/plugins/NAME.wasm with the metadata of
// plugins/NAME/detector.json, through the same code as `passthru plugin build` (host/plugin/build.ts,
// compiled by build:host first), so the bundled detectors are built exactly as an author's are.
// Only plugins/ is scanned: examples/ are built by the author e2e test from the packed package.

import { readdir, readFile, writeFile, mkdir, stat } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PLUGINS = join(ROOT, 'plugins');
const OUT_DIR = join(ROOT, 'dist', 'plugins');

const { buildDetector } = await import('../dist/host/plugin/build.js').catch((err) => {
  console.error(`build-plugins: run build:host first (${err.message})`);
  process.exit(1);
});

async function main() {
  const entries = await readdir(PLUGINS, { withFileTypes: true });
  const plugins = [];
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const has = await stat(join(PLUGINS, e.name, 'index.ts')).then(() => true, () => false);
    if (has) plugins.push(e.name);
  }
  plugins.sort();
  if (!plugins.length) throw new Error(`no plugins/*/index.ts found under ${PLUGINS}`);
  await mkdir(OUT_DIR, { recursive: true });
  // One after the other: a compile is synchronous CPU work inside asc, so running them together gains nothing.
  for (const p of plugins) {
    {
      const t0 = performance.now();
      const file = join(PLUGINS, p, 'detector.json');
      const meta = JSON.parse(await readFile(file, 'utf8'));
      if (meta.name !== p) throw new Error(`${file}: "name" must be the folder name "${p}"`);
      const { wasm, warnings } = await buildDetector({ baseDir: ROOT, source: `plugins/${p}/index.ts`, meta });
      if (warnings) console.warn(warnings);
      const out = join(OUT_DIR, `${p}.wasm`);
      await writeFile(out, wasm);
      console.log(`built dist/plugins/${p}.wasm (${wasm.length} B, ${Math.round(performance.now() - t0)} ms)`);
    }
  }
}

main().catch((err) => {
  console.error(`build-plugins: ${err.message}`);
  process.exit(1);
});
