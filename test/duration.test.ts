import { describe, expect, it } from 'vitest';
import { parseDuration, parsePositiveDuration } from '../host/duration.js';
import { UsageError } from '../host/errors.js';

describe('parseDuration (Go time.ParseDuration)', () => {
  it.each([
    ['5s', 5000],
    ['500ms', 500],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    ['300us', 0.3],
    ['300µs', 0.3], // U+00B5
    ['300μs', 0.3], // U+03BC
    ['1500000ns', 1.5],
    ['1h2m3.5s', 3_723_500],
    ['.5s', 500],
    ['5.s', 5000],
    ['+5s', 5000],
    ['-1.5s', -1500],
    ['0', 0],
    ['-0', 0],
    ['0s', 0],
    ['1s500ms', 1500],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each([
    ['', /empty/],
    ['5', /missing unit/],
    ['1s5', /missing unit/],
    ['5x', /unknown unit "x"/],
    ['5 s', /unknown unit " s"/],
    ['5S', /unknown unit "S"/],
    ['s', /expected a number/],
    ['.s', /expected a number/],
    ['-', /empty/],
    ['1e3s', /unknown unit "e"/],
    ['3000000h', /too large/],
  ])('rejects %j', (text, why) => {
    expect(() => parseDuration(text)).toThrow(UsageError);
    expect(() => parseDuration(text)).toThrow(why);
  });

  it('names the value and the label in its message, with a stable code', () => {
    try {
      parseDuration('5x', '-t');
      expect.unreachable();
    } catch (e) {
      expect((e as UsageError).code).toBe('E_USAGE');
      expect((e as Error).message).toBe('invalid -t "5x": unknown unit "x" (use ns, us, ms, s, m or h)');
    }
  });
});

describe('parsePositiveDuration', () => {
  it('accepts positive durations', () => {
    expect(parsePositiveDuration('5s')).toBe(5000);
    expect(parsePositiveDuration('1ns')).toBeCloseTo(0.000001, 12);
  });

  it.each(['0', '0s', '-1s', 'abc'])('rejects %j', (text) => {
    expect(() => parsePositiveDuration(text, '-t')).toThrow(UsageError);
  });
});
