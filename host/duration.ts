// Go's time.ParseDuration, so that `-t` takes exactly what the original's flag took.
import { UsageError } from './errors.js';

const NS_PER_UNIT: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

// Go's Duration is an int64 of nanoseconds; larger values are an error there, so here too.
const INT64_MIN_MAGNITUDE = 1n << 63n;

/** Milliseconds (possibly fractional: `300us` → 0.3) from a Go duration string such as `1m30s`. */
export function parseDuration(text: string, label = 'duration'): number {
  const fail = (why: string): never => {
    throw new UsageError(`invalid ${label} ${JSON.stringify(text)}: ${why}`);
  };
  let s = text;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  // Go's one exception to "a unit is required".
  if (s === '0') return 0;
  if (s === '') fail('empty (use e.g. 5s, 500ms, 1m30s)');

  let total = 0n;
  while (s !== '') {
    const m = /^([0-9]*)(?:\.([0-9]*))?/.exec(s)!;
    const whole = m[1] ?? '';
    const frac = m[2];
    if (whole === '' && (frac === undefined || frac === '')) fail('expected a number (use e.g. 5s, 500ms, 1m30s)');
    s = s.slice(m[0].length);
    const unitMatch = /^[^0-9.]*/.exec(s)!;
    const unit = unitMatch[0];
    s = s.slice(unit.length);
    if (unit === '') fail('missing unit (ns, us, ms, s, m or h)');
    const scale = NS_PER_UNIT[unit];
    if (scale === undefined) fail(`unknown unit ${JSON.stringify(unit)} (use ns, us, ms, s, m or h)`);
    let ns = BigInt(whole || '0') * scale!;
    if (frac) ns += (BigInt(frac) * scale!) / 10n ** BigInt(frac.length);
    total += ns;
    if (total > (negative ? INT64_MIN_MAGNITUDE : INT64_MIN_MAGNITUDE - 1n)) fail('too large');
  }
  const ms = Number(total) / 1e6;
  return negative && ms !== 0 ? -ms : ms;
}

/** parseDuration, refusing 0 and negative values (a detection timeout of 0 could never see a byte). */
export function parsePositiveDuration(text: string, label = 'duration'): number {
  const ms = parseDuration(text, label);
  if (!(ms > 0)) throw new UsageError(`invalid ${label} ${JSON.stringify(text)}: must be greater than zero`);
  return ms;
}
