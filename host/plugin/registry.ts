// The set of detectors a process runs: the bundled ones, then each --plugin, which replaces a
// bundled detector of the same protocol. A value, not a global, so a reload can swap it whole.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PluginLoadError } from '../errors.js';
import { loadDetectorFile, type LoadOptions } from './loader.js';
import type { Detector } from './sandbox.js';

export interface DetectorSet {
  /** Protocol name → its detector. */
  byProtocol: Map<string, Detector>;
  /** Bundled detectors a --plugin replaced, for the start-up log. */
  replaced: { protocol: string; bundled: string; by: string }[];
}

export async function bundledPluginFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names.filter((n) => n.endsWith('.wasm')).sort().map((n) => join(dir, n));
}

export async function loadDetectorSet(bundled: string[], plugins: string[], options: LoadOptions = {}): Promise<DetectorSet> {
  const byProtocol = new Map<string, Detector>();
  const replaced: DetectorSet['replaced'] = [];
  // Loaded concurrently (a cold fuel cache instruments each in its own process), kept in order.
  const [bundledDetectors, pluginDetectors] = await Promise.all([
    Promise.all(bundled.map((f) => loadDetectorFile(f, options))),
    Promise.all(plugins.map((f) => loadDetectorFile(f, options))),
  ]);
  for (const d of bundledDetectors) byProtocol.set(d.protocol, d);
  const fromPlugins = new Map<string, string>();
  for (const d of pluginDetectors) {
    const file = d.source;
    const earlier = fromPlugins.get(d.protocol);
    if (earlier) throw new PluginLoadError(file, `protocol ${d.protocol} is already provided by --plugin ${earlier}`);
    const bundledOne = byProtocol.get(d.protocol);
    if (bundledOne) replaced.push({ protocol: d.protocol, bundled: bundledOne.source, by: file });
    fromPlugins.set(d.protocol, file);
    byProtocol.set(d.protocol, d);
  }
  return { byProtocol, replaced };
}
