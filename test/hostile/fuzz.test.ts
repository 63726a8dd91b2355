// The bundled TLS detector under the sandbox, fuel on, against 100k+ windows it was not written for:
// random bytes, mutated and truncated captures, and hand-made worst cases for its loops. It must
// never trap or strike, and must answer exactly as the unmetered module does. The highest fuel seen
// is the measured margin under DEFAULT_FUEL.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FUEL, loadDetectorFile } from '../../host/plugin/loader.js';
import { Verdict, type Detector } from '../../host/plugin/sandbox.js';
import './harness.js';

const TLS_WASM = new URL('../../dist/plugins/tls.wasm', import.meta.url);
const FIXTURES = new URL('../../plugins/tls/fixtures/', import.meta.url);
const WINDOW = 16 * 1024;
const CALLS = 100_000;
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed1234);

/** xorshift32: reproducible from the seed printed with any failure. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
  return { next, int: (n: number) => Math.floor(next() * n) };
}

// ---- Hand-made worst cases for the parser's loops ----

const u16 = (n: number) => [n >> 8, n & 0xff];
const u24 = (n: number) => [n >> 16, (n >> 8) & 0xff, n & 0xff];

function clientHello(extensions: number[]): number[] {
  const body = [3, 3, ...new Array(32).fill(7), 0, ...u16(2), 0x13, 0x01, 1, 0, ...u16(extensions.length), ...extensions];
  return [1, ...u24(body.length), ...body];
}
const records = (hs: number[], size: number): number[] => {
  const out: number[] = [];
  for (let i = 0; i < hs.length; i += size) {
    const frag = hs.slice(i, i + size);
    out.push(0x16, 3, 1, ...u16(frag.length), ...frag);
  }
  return out;
};
const emptyExtensions = (n: number) => Array.from({ length: n }, () => [0xfa, 0xfa, 0, 0]).flat();
const sni = (name: string) => {
  const n = [...Buffer.from(name)];
  return [0, 0, ...u16(n.length + 5), ...u16(n.length + 3), 0, ...u16(n.length), ...n];
};
const alpn = (protos: string[]) => {
  const list = protos.flatMap((p) => [p.length, ...Buffer.from(p)]);
  return [0, 16, ...u16(list.length + 2), ...u16(list.length), ...list];
};

const WORST: Array<[string, Uint8Array]> = [
  // One full record of 4079 empty extensions: the extension loop at its longest.
  ['4079 empty extensions in one 16 KiB record', new Uint8Array(records(clientHello([...sni('a.test'), ...emptyExtensions(4079)]), 16379))],
  // The same message cut into 1-byte records: reassembly at its longest (6 window bytes per byte).
  ['ClientHello in 1-byte records', new Uint8Array(records(clientHello([...sni('a.test'), ...emptyExtensions(660)]), 1))],
  // ALPN list of 3000 one-byte protocols after a maximal DNS name.
  ['max SNI + 3000 ALPN ids', new Uint8Array(records(clientHello([...sni(`${'a'.repeat(63)}.`.repeat(3) + 'a'.repeat(61)), ...alpn(Array.from({ length: 3000 }, () => 'x'))]), 16000))],
];

describe.skipIf(!existsSync(TLS_WASM))('fuzzing the bundled TLS detector through the sandbox', () => {
  it(`${CALLS} random and mutated windows: no trap, no strike, same answers as unmetered`, async () => {
    const strikes: string[] = [];
    const metered = await loadDetectorFile(TLS_WASM.pathname, {
      events: { strike: (_d, r) => strikes.push(r), quarantine: (_d, r) => strikes.push(`quarantine: ${r}`) },
    });
    const plain = await loadDetectorFile(TLS_WASM.pathname, { fuel: 0 });
    expect(metered.inputCap).toBe(WINDOW);

    const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith('.bin')).map((f) => new Uint8Array(readFileSync(new URL(f, FIXTURES))));
    const tlsFixtures = fixtures.filter((f) => f[0] === 0x16);
    const r = rng(SEED);
    const pool = new Uint8Array(1 << 20);
    for (let i = 0; i < pool.length; i++) pool[i] = r.int(256);
    const scratch = new Uint8Array(WINDOW + 64);

    const randomWindow = (): Uint8Array => {
      const len = r.int(WINDOW + 1);
      const off = r.int(pool.length - len);
      const w = scratch.subarray(0, len);
      w.set(pool.subarray(off, off + len));
      // Half of them get a plausible record header, or the parser stops at byte 0.
      if (len >= 3 && r.next() < 0.5) w.set([0x16, 3, r.int(5)]);
      if (len >= 6 && r.next() < 0.5) w[5] = 1;
      return w;
    };
    const mutated = (): Uint8Array => {
      const src = tlsFixtures[r.int(tlsFixtures.length)]!;
      let len = Math.min(src.length, WINDOW);
      scratch.set(src.subarray(0, len));
      for (let k = 1 + r.int(8); k > 0; k--) {
        const at = r.int(len);
        switch (r.int(6)) {
          case 0: scratch[at] = scratch[at]! ^ (1 << r.int(8)); break;
          case 1: scratch[at] = r.int(256); break;
          case 2: scratch[at] = r.next() < 0.5 ? 0 : 0xff; break;
          case 3: // a length field (big-endian u16) set to something interesting
            if (at + 1 < len) scratch.set(u16([0, 1, 0xff, 0x3fff, 0x4000, 0xffff, r.int(0x10000)][r.int(7)]!), at);
            break;
          case 4: // insert a byte
            if (len < WINDOW) {
              scratch.copyWithin(at + 1, at, len);
              scratch[at] = r.int(256);
              len++;
            }
            break;
          default: // delete a byte
            scratch.copyWithin(at, at + 1, len);
            len = Math.max(0, len - 1);
        }
      }
      // Sometimes a prefix only, as the sniffer hands it while bytes arrive.
      if (r.next() < 0.3) len = r.int(len + 1);
      return scratch.subarray(0, len);
    };

    const byKind = { random: 0, mutated: 0, prefix: 0 };
    const maxByKind = { random: 0, mutated: 0, prefix: 0, worst: 0 };
    const verdicts = [0, 0, 0];
    const check = (kind: keyof typeof maxByKind, w: Uint8Array, eof: boolean) => {
      const got = metered.detect(w, eof);
      const want = plain.detect(w, eof);
      if (got.verdict !== want.verdict || got.keys.join('\n') !== want.keys.join('\n')) {
        throw new Error(`seed ${SEED}: metered and plain disagree on a ${kind} window of ${w.length} bytes: ${Buffer.from(w).toString('hex')}`);
      }
      if (strikes.length) throw new Error(`seed ${SEED}: strike on a ${kind} window of ${w.length} bytes (${strikes[0]}): ${Buffer.from(w).toString('hex')}`);
      verdicts[got.verdict]!++;
      if (metered.stats.lastFuel > maxByKind[kind]) maxByKind[kind] = metered.stats.lastFuel;
    };

    const t0 = performance.now();
    for (let i = 0; i < CALLS; i++) {
      const eof = r.next() < 0.2;
      const pick = r.next();
      if (pick < 0.4) {
        byKind.random++;
        check('random', randomWindow(), eof);
      } else if (pick < 0.9) {
        byKind.mutated++;
        check('mutated', mutated(), eof);
      } else {
        // Every prefix length of an unmodified capture is a state the sniffer can hand over.
        byKind.prefix++;
        const src = fixtures[r.int(fixtures.length)]!;
        check('prefix', src.subarray(0, r.int(Math.min(src.length, WINDOW) + 1)), eof);
      }
    }
    const ms = performance.now() - t0;
    const worst: string[] = [];
    for (const [name, w] of WORST) {
      expect(w.length, name).toBeLessThanOrEqual(WINDOW);
      check('worst', w, false);
      worst.push(`${name} (${w.length} B): ${['NEED_MORE', 'MATCH', 'NO_MATCH'][metered.detect(w, false).verdict]}, fuel ${metered.stats.lastFuel}`);
    }

    expect(strikes).toEqual([]);
    expect(metered.stats.strikes).toBe(0);
    expect(metered.quarantined).toBe(false);
    expect(metered.stats.calls).toBe(CALLS + 2 * WORST.length);
    expect(verdicts[Verdict.MATCH]).toBeGreaterThan(0);
    const max = metered.stats.maxFuel;
    expect(max).toBeLessThan(DEFAULT_FUEL / 10);
    console.log(
      `[fuzz] seed 0x${SEED.toString(16)}: ${CALLS} calls in ${(ms / 1000).toFixed(1)} s (random ${byKind.random}, mutated ${byKind.mutated}, prefixes ${byKind.prefix}); ` +
        `verdicts NEED_MORE ${verdicts[0]} MATCH ${verdicts[1]} NO_MATCH ${verdicts[2]}; no trap, no strike\n` +
        `[fuzz] max fuel by kind: ${JSON.stringify(maxByKind)}; overall max ${max} = 1/${Math.floor(DEFAULT_FUEL / max)} of the ${DEFAULT_FUEL} default\n` +
        `[fuzz] worst cases: ${worst.join('; ')}`,
    );
  }, 120_000);
});

export type { Detector };
