// Modules the loader must turn away before any of their code serves a connection: each refusal
// carries the stable code E_PLUGIN_LOAD and a reason naming what is wrong.
import { describe, expect, it } from 'vitest';
import { PluginLoadError } from '../../host/errors.js';
import { loadDetectorFile, MAX_MODULE_BYTES } from '../../host/plugin/loader.js';
import { startProxy } from '../helpers/passthru.js';
import { moduleFile } from './harness.js';
import * as M from './modules.js';

async function refusal(name: string, text: string, options: Parameters<typeof loadDetectorFile>[1] = {}): Promise<PluginLoadError> {
  const file = await moduleFile(name, text);
  const err = await loadDetectorFile(file, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PluginLoadError);
  const e = err as PluginLoadError;
  expect(e.code).toBe('E_PLUGIN_LOAD');
  expect(e.file).toBe(file);
  expect(e.message).toBe(`${file}: plugin refused: ${e.reason}`);
  return e;
}

describe('refused at load', () => {
  it('a module with an import', async () => {
    const e = await refusal('imports', M.IMPORTS);
    expect(e.reason).toBe('imports are not allowed (detectors get nothing from the host): env.log (function)');
  });

  it('a module over the size cap, before it is compiled', async () => {
    const { writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    // A module header and then 1 MiB + 1 bytes: refused for its size before anything parses it.
    const big = `${tmpdir()}/passthru-too-big-${process.pid}.wasm`;
    await writeFile(big, Buffer.concat([Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]), Buffer.alloc(MAX_MODULE_BYTES + 1)]));
    const err = (await loadDetectorFile(big).catch((e: unknown) => e)) as PluginLoadError;
    expect(err).toBeInstanceOf(PluginLoadError);
    expect(err.reason).toBe(`module is ${MAX_MODULE_BYTES + 9} bytes; the host loads detectors of at most ${MAX_MODULE_BYTES} bytes`);
  });

  it('a memory with no maximum', async () => {
    expect((await refusal('no-max', M.NO_MAX_MEMORY)).reason).toBe('memory declares no maximum (the host requires one, at most 16 pages)');
  });

  it('a memory maximum above the cap (and the same module under a raised cap loads)', async () => {
    const e = await refusal('max-17', M.MAX_ABOVE_CAP);
    expect(e.reason).toBe('memory maximum is 17 pages (1088 KiB); the host allows at most 16');
    const d = await loadDetectorFile(e.file, { maxMemoryPages: 17 });
    expect(d.protocol).toBe('BIG');
  });

  it('a missing ABI export', async () => {
    expect((await refusal('missing-export', M.MISSING_EXPORT)).reason).toBe('missing ABI v1 export "key_ptr"');
  });

  it('a wrong abi in the metadata', async () => {
    expect((await refusal('abi-2', M.WRONG_ABI)).reason).toBe('metadata abi is 2; this host speaks abi 1');
  });

  it('no metadata section', async () => {
    expect((await refusal('no-meta', M.NO_METADATA)).reason).toBe('no "passthru.detector" custom section');
  });

  it('a start function that loops forever: cut off by fuel during the load, not a hang', async () => {
    const t0 = performance.now();
    const e = await refusal('start-spins', M.START_SPINS);
    const ms = performance.now() - t0;
    expect(e.reason).toBe('start function trapped (unreachable; it may have run out of fuel)');
    console.log(`[hostile] start-function spin refused in ${ms.toFixed(1)} ms (incl. instrumentation)`);
  });

  it('a negative key_ptr', async () => {
    expect((await refusal('neg-key', M.NEGATIVE_KEY_PTR)).reason).toBe('key buffer at -1 is not inside memory (65536 bytes)');
  });

  it('a negative input_ptr', async () => {
    expect((await refusal('neg-input', M.NEGATIVE_INPUT_PTR)).reason).toBe('input buffer [-1, +16384) is not inside memory (65536 bytes)');
  });

  it('an input buffer running past the end of memory', async () => {
    expect((await refusal('input-past-end', M.INPUT_PAST_END)).reason).toBe('input buffer [60000, +16384) is not inside memory (65536 bytes)');
  });

  it('the proxy refuses to start with such a plugin, binding nothing', async () => {
    const file = await moduleFile('start-spins-proxy', M.START_SPINS);
    await expect(
      startProxy({ version: 'v0.2.0', servers: { '127.0.0.1:0': { STARTSPIN: { CATCHALL: { action: 'REJECT' } } } } }, { plugins: [file] }),
    ).rejects.toMatchObject({ code: 'E_PLUGIN_LOAD', file, reason: expect.stringContaining('start function trapped') });
  });
});
