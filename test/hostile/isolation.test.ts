// What a detector can and cannot do with state kept between calls, and with its buffers. The host
// writes the whole window on every call, clears what it wrote for earlier connections, reads keys
// only from [key_ptr, key_ptr + len) as key_ptr was at instantiation, within memory and within
// MAX_KEY_BYTES. What is left to a hostile detector is its own answer for the current call: it may
// remember earlier connections and report their bytes as keys now, which at worst routes this
// connection by its own protocol's rules (the ABI allows any keys; a detector cannot reach other
// protocols' rules, other detectors, or the host).
import { describe, expect, it } from 'vitest';
import { loadDetectorBytes } from '../../host/plugin/loader.js';
import { MAX_KEY_BYTES, Verdict, type Detector } from '../../host/plugin/sandbox.js';
import { assemble } from './harness.js';
import * as M from './modules.js';

async function load(text: string, strikes: string[] = []): Promise<Detector> {
  return loadDetectorBytes(await assemble(text), 'test.wasm', {
    strikeLimit: 1000,
    events: { strike: (_d, reason) => strikes.push(reason), quarantine() {} },
  });
}

const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const le32 = (n: number, rest = 0) => {
  const b = new Uint8Array(4 + rest);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
};
const memoryOf = (d: Detector) => (d as unknown as { exports: { memory: WebAssembly.Memory } }).exports.memory;

describe('state between calls', () => {
  it('the host writes the whole window on every call (an in-place scribble does not carry over)', async () => {
    const d = await load(M.ECHO_IN_PLACE);
    // key_ptr = input_ptr: the detector flips the case of the window in place and reports it.
    expect(d.detect(bytes('Hello'), false)).toEqual({ verdict: Verdict.MATCH, keys: ['hELLO'] });
    expect(d.detect(bytes('Hello'), false)).toEqual({ verdict: Verdict.MATCH, keys: ['hELLO'] });
    expect(d.detect(bytes('Hello, world'), false)).toEqual({ verdict: Verdict.MATCH, keys: ['hELLO\x0c\x00WORLD'] });
  });

  it('bytes the host wrote for an earlier, longer window are cleared (sandbox fix)', async () => {
    const d = await load(M.READ_PAST_LEN);
    const secret = 'Authorization: Bearer s3cr3t-token-of-conn-A';
    expect(d.detect(bytes(secret), false).keys).toEqual([secret.slice(0, 32)]);
    // Connection B sends one byte; the detector reads 32 regardless.
    const r = d.detect(bytes('B'), false);
    expect(r.keys).toEqual(['B' + '\0'.repeat(31)]);
    expect(r.keys.join()).not.toContain('s3cr3t');
    // Within a connection the window only grows: nothing to clear, nothing lost.
    expect(d.detect(bytes('BC'), false).keys).toEqual(['BC' + '\0'.repeat(30)]);
  });

  it('a detector that copies a window into its own memory can replay it later: allowed, and only as its own keys', async () => {
    const d = await load(M.REMEMBER);
    expect(d.detect(bytes('SNI from-connection-a'), false).verdict).toBe(Verdict.NO_MATCH);
    // Connection B is unrelated, yet gets A's bytes as its key. The ABI cannot prevent this (a
    // detector's memory is its own and lives as long as the instance); what it buys the detector is
    // a MATCH for its own protocol with keys of its choosing, i.e. a route among its own rules.
    expect(d.detect(bytes('SSH-2.0-client-b'), false)).toEqual({ verdict: Verdict.MATCH, keys: ['SNI from-connection-a'] });
    // A strike re-instantiates it, and the fresh instance has forgotten.
    (d as unknown as { strike(r: string): unknown }).strike('test');
    expect(d.detect(bytes('SNI c'), false).verdict).toBe(Verdict.NO_MATCH);
  });
});

describe('buffers and bounds', () => {
  it('key_ptr is read once per instance: moving it later has no effect', async () => {
    const d = await load(M.MOVING_KEY_PTR);
    expect(d.detect(bytes('x'), false).keys).toEqual(['GOOD']);
    expect(d.detect(bytes('x'), false).keys).toEqual(['GOOD']);
  });

  it('memory growth during detect: keys and the next window go through a fresh view', async () => {
    const d = await load(M.GROW_THEN_MATCH);
    const mem = memoryOf(d);
    for (let i = 0; i < 20; i++) {
      const c = String.fromCharCode(0x61 + i);
      expect(d.detect(bytes(c + '...'), false)).toEqual({ verdict: Verdict.MATCH, keys: [`K ${c}`] });
    }
    // Grew once per call until its declared maximum (16 pages), then memory.grow returned -1.
    expect(memoryOf(d).buffer.byteLength).toBe(16 * 65536);
    expect(memoryOf(d)).toBe(mem);
    expect(d.stats.strikes).toBe(0);
  });

  it('memory.grow in a loop never takes memory past the declared maximum', async () => {
    const strikes: string[] = [];
    const d = await load(M.GROW, strikes);
    const mem = memoryOf(d);
    expect(d.detect(bytes('x'), false).verdict).toBe(Verdict.NO_MATCH);
    expect(strikes).toEqual(['fuel exhausted (budget 20000000)']);
    expect(mem.buffer.byteLength).toBe(4 * 65536); // the trapped instance's memory, at its maximum
    expect(memoryOf(d).buffer.byteLength).toBe(65536); // the fresh instance starts over
  });

  it('the host writes at most input_cap bytes, never past the input buffer', async () => {
    const d = await load(M.SMALL_INPUT);
    expect(d.inputCap).toBe(8);
    expect(d.detect(bytes('X'.repeat(100)), false).keys).toEqual(['KEYS']);
  });

  it('keys are read only within memory and within MAX_KEY_BYTES', async () => {
    const strikes: string[] = [];
    const d = await load(M.PROGRAMMABLE, strikes);
    const match = (len: number) => d.detect(le32((len << 8) | Verdict.MATCH), false);
    // key_ptr is 2048 bytes before the end of memory.
    expect(match(2048)).toEqual({ verdict: Verdict.MATCH, keys: ['k'.repeat(2048)] });
    expect(match(2049).verdict).toBe(Verdict.NO_MATCH);
    expect(strikes.at(-1)).toBe('key length 2049 at 63488 runs past the end of memory (65536)');
    expect(match(MAX_KEY_BYTES + 1).verdict).toBe(Verdict.NO_MATCH);
    expect(strikes.at(-1)).toBe(`key length ${MAX_KEY_BYTES + 1} exceeds the host's limit of ${MAX_KEY_BYTES} bytes`);
    expect(match(0xffff).verdict).toBe(Verdict.NO_MATCH);
    expect(strikes.at(-1)).toBe(`key length 65535 exceeds the host's limit of ${MAX_KEY_BYTES} bytes`);
    // Keys in any other verdict are ignored; an undefined verdict or high bits are strikes.
    expect(d.detect(le32((100 << 8) | Verdict.NO_MATCH), false)).toEqual({ verdict: Verdict.NO_MATCH, keys: [] });
    expect(d.detect(le32((100 << 8) | Verdict.NEED_MORE), false)).toEqual({ verdict: Verdict.NEED_MORE, keys: [] });
    expect(d.detect(le32(3), false).verdict).toBe(Verdict.NO_MATCH);
    expect(strikes.at(-1)).toBe('bad verdict 3');
    expect(d.detect(le32(0x80000001), false).verdict).toBe(Verdict.NO_MATCH);
    expect(strikes.at(-1)).toBe('bad result 0x80000001 (bits 24-31 must be 0)');
  });

  it('keys must be UTF-8', async () => {
    const strikes: string[] = [];
    const d = await load(M.ECHO_IN_PLACE, strikes);
    // 0xdf ^ 0x20 = 0xff: never valid in UTF-8.
    expect(d.detect(new Uint8Array([0xdf]), false).verdict).toBe(Verdict.NO_MATCH);
    expect(strikes).toEqual(['keys are not valid UTF-8']);
  });
});
