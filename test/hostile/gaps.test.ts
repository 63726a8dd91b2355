// Formerly known gaps of the fuel meter, now closed: "a call is cut off in time proportional to its
// budget, whatever the module does". When fuel charged one unit per function entry and loop pass,
// a module could make each unit expensive: a 1 MiB memory.fill per pass (~25-60 µs a unit) or a
// 20k-instruction loop body (~50 µs a unit), i.e. 20-60 s per call at the old 1e6 default. fuel.ts
// now charges bulk memory by length and checkpoints by the code they guard.
import { expect, it } from 'vitest';
import { DEFAULT_FUEL, loadDetectorBytes } from '../../host/plugin/loader.js';
import { Verdict } from '../../host/plugin/sandbox.js';
import { assemble } from './harness.js';
import { FILL_LOOP, SPIN, straightLineLoop } from './modules.js';

// Generous bounds, not benchmarks: at the default budget these take ~2-10 ms once V8 has optimized
// the module and up to a few tens of ms on its first call (baseline tier) on a busy 2-core machine.
// The gap they guard against was thousands of times longer.
const BOUND_MS = 250;
const SMALL_BUDGET = 1_000_000;
const SMALL_BOUND_MS = 50;

/**
 * ms for the first and the second call to be cut off. The first includes compiling the function: V8
 * compiles wasm lazily, on first call, and a 20k-instruction body takes tens of ms to compile,
 * whatever the budget (module size is not capped: docs/sandbox.md, Known gaps). The second shows
 * what the budget bounds (same compiled code: a strike replaces the instance, not the module).
 */
async function cutOffMs(text: string, budget: number): Promise<[number, number]> {
  const reasons: string[] = [];
  const d = await loadDetectorBytes(await assemble(text), 'gap.wasm', { fuel: budget, events: { strike: (_d, r) => reasons.push(r), quarantine() {} } });
  const ms: number[] = [];
  for (let k = 0; k < 2; k++) {
    const t0 = performance.now();
    expect(d.detect(new Uint8Array(16), false).verdict).toBe(Verdict.NO_MATCH);
    ms.push(performance.now() - t0);
  }
  expect(reasons).toEqual([`fuel exhausted (budget ${budget})`, `fuel exhausted (budget ${budget})`]);
  return [ms[0]!, ms[1]!];
}

const cases: Array<[string, () => string]> = [
  ['a plain infinite loop (baseline)', () => SPIN],
  ['a loop of 1 MiB memory.fill', () => FILL_LOOP],
  ['a loop with a 20k-instruction body', () => straightLineLoop(20_000)],
];

it.each(cases)(`%s is cut off within ${SMALL_BOUND_MS} ms at budget ${SMALL_BUDGET}`, async (_name, text) => {
  expect((await cutOffMs(text(), SMALL_BUDGET))[1]).toBeLessThan(SMALL_BOUND_MS);
});

it.each(cases)(`%s is cut off within ${BOUND_MS} ms at the default budget`, async (name, text) => {
  const [first, second] = await cutOffMs(text(), DEFAULT_FUEL);
  console.log(`[gap] ${name}, budget ${DEFAULT_FUEL}: cut off after ${first.toFixed(1)} ms (first call, compile included), ${second.toFixed(1)} ms (second)`);
  expect(second).toBeLessThan(BOUND_MS);
});
