// `passthru plugin new NAME [DIR]`: scaffolds a detector project that builds and passes
// `passthru plugin test` as it is, so that an author starts from green and changes one thing at a time.
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { PACKAGE_ROOT } from '../paths.js';
import { PACKAGE_NAME } from '../plugin/build.js';

export interface NewOptions {
  name: string;
  dir?: string;
  protocol?: string;
}

/** As the metadata's `name` (host/plugin/build.ts): it names build/NAME.wasm. */
const NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
/** As host/plugin/metadata.ts accepts a protocol: a config section name. */
const PROTOCOL = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;

export function scaffold(name: string, protocol: string): Record<string, string> {
  const magic = protocol.toUpperCase();
  const pkg = {
    name,
    version: '0.1.0',
    private: true,
    description: `Passthru detector for ${protocol}`,
    // What the build turns into the module's metadata section (docs/plugins.md, "package.json").
    passthru: { protocol, keys: { ID: 'exact' } },
    scripts: {
      build: 'passthru plugin build',
      test: `passthru plugin build && passthru plugin test build/${name}.wasm`,
    },
    // The Passthru that created this project: its CLI, SDK and AssemblyScript build the detector.
    // A file: link, so npm never looks up the name in a registry.
    devDependencies: { [PACKAGE_NAME]: `file:${PACKAGE_ROOT}` },
  };
  const fixture = `${magic} client-1\r\n`;
  return {
    'package.json': JSON.stringify(pkg, null, 2) + '\n',
    // Tuning only: `passthru plugin build` applies the sandbox's required options over these.
    'asconfig.json': JSON.stringify({ options: { optimizeLevel: 3, shrinkLevel: 0 } }, null, 2) + '\n',
    'assembly/index.ts': detectorTemplate(magic),
    'fixtures/hello.bin': fixture,
    'fixtures/manifest.json':
      JSON.stringify(
        [
          {
            file: 'hello.bin',
            verdict: 'MATCH',
            keys: ['ID client-1'],
            decidedAt: fixture.length,
            captured: 'written by passthru plugin new: replace with a real client capture',
            notes: 'The greeting the template detector recognises; every shorter prefix is NEED_MORE.',
          },
        ],
        null,
        2,
      ) + '\n',
    '.gitignore': 'build/\nnode_modules/\n',
    'README.md': readme(name, protocol),
  };
}

function detectorTemplate(magic: string): string {
  return `// A Passthru detector: one function from the bytes a client sent first to a verdict.
// The host calls it again with the whole window each time more bytes arrive, so it keeps no state.
// Readers never read outside the window: a missing byte reads as OUT (-1), and incomplete(w) says
// NEED_MORE (or NO_MATCH once no more can come). Nothing here may allocate (no new, no string
// concatenation): the module runs with a stub runtime that never frees.
//
// This template recognises a line "${magic} <id>\\r\\n" and reports the key "ID <id>". Replace it
// with your protocol (docs/plugins.md in the Passthru package walks through a real one).

import { Window, Verdict, OUT, Prefix, keys, match, noMatch, incomplete, isVisible } from "${PACKAGE_NAME}/sdk";

const MAGIC = "${magic} ";
/** Longest id taken as a key; a longer line is not this protocol. */
const MAX_ID: i32 = 64;

export function detect(w: Window): Verdict {
  // Decide as early as the bytes allow: a wrong first byte is NO_MATCH at once.
  const p = w.startsWith(0, MAGIC);
  if (p == Prefix.DIFFERENT) return noMatch();
  if (p == Prefix.PARTIAL) return incomplete(w);

  const start = MAGIC.length;
  let i = start;
  while (true) {
    const c = w.u8(i);
    if (c == OUT) return i - start > MAX_ID ? noMatch() : incomplete(w);
    if (c == 0x0d) break; // CR
    if (!isVisible(c) || i - start >= MAX_ID) return noMatch();
    i++;
  }
  const lf = w.u8(i + 1);
  if (lf == OUT) return incomplete(w);
  if (lf != 0x0a || i == start) return noMatch();

  // Keys are "NAME value", most specific first; rules in the config match them (ID client-1).
  keys.add("ID").bytes(w, start, i - start);
  return match();
}
`;
}

function readme(name: string, protocol: string): string {
  return `# ${name}: a Passthru detector for ${protocol}

- \`assembly/index.ts\`: the detector (\`export function detect(w: Window): Verdict\`).
- \`fixtures/\`: captured first flights and \`manifest.json\` (file → expected verdict and keys).
- \`package.json\` \`"passthru"\`: the protocol name the config uses and the keys it reports.

\`\`\`sh
passthru plugin build               # → build/${name}.wasm
passthru plugin test build/${name}.wasm
passthru -c config.json --plugin build/${name}.wasm
\`\`\`

\`npm install\` links the Passthru that created this project, so that \`npm test\` runs the same
build and conformance kit in CI. See docs/plugins.md in the Passthru package.
`;
}

export async function runPluginNew(o: NewOptions, out: NodeJS.WritableStream): Promise<number> {
  if (!NAME.test(o.name)) throw new UsageError(`plugin new: "${o.name}" is not a detector name (lower-case letters, digits, _ . -; it names build/NAME.wasm)`);
  const protocol = o.protocol ?? o.name.toUpperCase().replace(/[^A-Z0-9_.-]/g, '');
  if (!PROTOCOL.test(protocol) || protocol === 'CATCHALL') throw new UsageError(`plugin new: --protocol "${protocol}" is not a protocol name (letters, digits, _ . -)`);
  const dir = resolve(o.dir ?? o.name);
  if (existsSync(dir) && (await readdir(dir)).length > 0) throw new UsageError(`plugin new: ${dir} exists and is not empty`);
  for (const [file, text] of Object.entries(scaffold(o.name, protocol))) {
    await mkdir(join(dir, file, '..'), { recursive: true });
    await writeFile(join(dir, file), text);
  }
  const rel = relative(process.cwd(), dir) || '.';
  out.write(
    `created ${dir} (detector ${o.name}, protocol ${protocol})\n` +
      `next:\n  cd ${rel}\n  passthru plugin build\n  passthru plugin test build/${o.name}.wasm\n`,
  );
  return 0;
}
