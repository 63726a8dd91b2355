// `passthru schema`: print the config's JSON Schema (for editors) for the bundled detectors plus any --plugin.
import { readFile } from 'node:fs/promises';
import { publishedSchema } from '../config/published-schema.js';
import { PluginLoadError } from '../errors.js';
import { readMetadata, type DetectorMeta } from '../plugin/metadata.js';
import { bundledPluginFiles } from '../plugin/registry.js';
import { BUNDLED_PLUGINS_DIR } from '../paths.js';

export interface SchemaOptions {
  plugins: string[];
  bundledDir?: string;
}

/** Only the metadata is needed: compiling without the fuel meter keeps this instant. */
async function metadataOf(file: string): Promise<DetectorMeta> {
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(await readFile(file));
  } catch (err) {
    throw new PluginLoadError(file, (err as Error).message, { cause: err });
  }
  const meta = readMetadata(module);
  if (typeof meta === 'string') throw new PluginLoadError(file, meta);
  return meta;
}

export async function schemaText(options: SchemaOptions): Promise<string> {
  const byProtocol = new Map<string, DetectorMeta>();
  for (const f of await bundledPluginFiles(options.bundledDir ?? BUNDLED_PLUGINS_DIR)) {
    const m = await metadataOf(f);
    byProtocol.set(m.protocol, m);
  }
  // As at start: a --plugin replaces the bundled detector of its protocol.
  for (const f of options.plugins) {
    const m = await metadataOf(f);
    byProtocol.set(m.protocol, m);
  }
  return JSON.stringify(publishedSchema([...byProtocol.values()]), null, 2) + '\n';
}

export async function runSchema(options: SchemaOptions, out: NodeJS.WritableStream): Promise<number> {
  out.write(await schemaText(options));
  return 0;
}
