#!/usr/bin/env node
// Builds every plugins/NAME/index.ts into dist/plugins/NAME.wasm with the root asconfig.json,
// then appends the `passthru.detector` custom section made from plugins/NAME/detector.json.
// The compile options that make a module loadable by the host (no imports, a memory maximum,
// no runtime exports) are in asconfig.json; see sdk/assembly/abi.ts for the exports it checks.
//
// asconfig.json, since JSON has no comments:
//   runtime stub      detectors allocate nothing per call, so no GC is linked in
//   use abort=        aborts become `unreachable`, leaving the module without any import
//   maximumMemory 16  1 MiB: the window, reassembly and key buffers need under 64 KiB; the host caps it too
//   noAssert          bounds are checked by the SDK readers, not by assertions
//   exportRuntime     false: the host calls only the ABI exports

import asc from 'assemblyscript/asc';
import { readdir, readFile, writeFile, mkdir, stat } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PLUGINS = join(ROOT, 'plugins');
const OUT_DIR = join(ROOT, 'dist', 'plugins');
const SECTION_NAME = 'passthru.detector';
const ABI_VERSION = 1;

class BuildError extends Error {}

function leb128(n) {
  const out = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** A wasm custom section: id 0, size, name (length-prefixed), payload. Valid anywhere after the header. */
function customSection(name, payload) {
  const nameBytes = Buffer.from(name, 'utf8');
  const body = Buffer.concat([Buffer.from(leb128(nameBytes.length)), nameBytes, payload]);
  return Buffer.concat([Buffer.from([0]), Buffer.from(leb128(body.length)), body]);
}

async function readMeta(plugin, dir) {
  const file = join(dir, 'detector.json');
  let meta;
  try {
    meta = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new BuildError(`plugin "${plugin}": cannot read ${file}: ${err.message}`);
  }
  const problems = [];
  if (meta.abi !== ABI_VERSION) problems.push(`"abi" must be ${ABI_VERSION}`);
  for (const k of ['name', 'protocol', 'version']) {
    if (typeof meta[k] !== 'string' || meta[k] === '') problems.push(`"${k}" must be a non-empty string`);
  }
  if (meta.name !== plugin) problems.push(`"name" must be the folder name "${plugin}"`);
  if (problems.length) throw new BuildError(`plugin "${plugin}": ${file}: ${problems.join('; ')}`);
  return meta;
}

async function buildPlugin(plugin) {
  const dir = join(PLUGINS, plugin);
  const meta = await readMeta(plugin, dir);
  let binary = null;
  const stderr = asc.createMemoryStream();
  const { error } = await asc.main(
    [join('plugins', plugin, 'index.ts'), '--config', 'asconfig.json', '--outFile', `${plugin}.wasm`],
    {
      baseDir: ROOT,
      stdout: asc.createMemoryStream(),
      stderr,
      writeFile(name, contents) {
        if (name.endsWith('.wasm')) binary = Buffer.from(contents);
      },
    },
  );
  if (error || !binary) {
    throw new BuildError(`plugin "${plugin}": compile failed: ${error?.message ?? 'no output'}\n${stderr.toString()}`);
  }
  const section = customSection(SECTION_NAME, Buffer.from(JSON.stringify(meta), 'utf8'));
  const wasm = Buffer.concat([binary, section]);
  let mod;
  try {
    mod = new WebAssembly.Module(wasm);
  } catch (err) {
    throw new BuildError(`plugin "${plugin}": output is not a valid module: ${err.message}`);
  }
  // The host refuses modules with imports; catch it here, where the fix (asconfig, or a stray
  // console/Math import in the plugin) is obvious.
  const imports = WebAssembly.Module.imports(mod);
  if (imports.length) {
    const names = imports.map((i) => `${i.module}.${i.name}`).join(', ');
    throw new BuildError(`plugin "${plugin}": the module imports ${names}; detectors must have no imports`);
  }
  const out = join(OUT_DIR, `${plugin}.wasm`);
  await writeFile(out, wasm);
  return { plugin, out, size: wasm.length };
}

async function main() {
  const entries = await readdir(PLUGINS, { withFileTypes: true });
  const plugins = [];
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const has = await stat(join(PLUGINS, e.name, 'index.ts')).then(() => true, () => false);
    if (has) plugins.push(e.name);
  }
  plugins.sort();
  if (!plugins.length) throw new BuildError(`no plugins/*/index.ts found under ${PLUGINS}`);
  await mkdir(OUT_DIR, { recursive: true });
  for (const p of plugins) {
    const t0 = performance.now();
    const r = await buildPlugin(p);
    console.log(`built ${r.out.slice(ROOT.length + 1)} (${r.size} B, ${Math.round(performance.now() - t0)} ms)`);
  }
}

main().catch((err) => {
  console.error(err instanceof BuildError ? `build-plugins: ${err.message}` : err);
  process.exit(1);
});
