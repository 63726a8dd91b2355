#!/usr/bin/env node
// Summarises a V8 .cpuprofile (from `node --cpu-prof`): where self time goes, by function, by
// source file and by kind of code, as markdown. Self time is taken from the sample timestamps, not
// hitCount × interval, since the sampler's interval stretches under load.
//
//   node bench/profile-summary.mjs FILE.cpuprofile [--top N] [--per N --unit conn|GiB] [--from US --to US]
//     --per N --unit conn   also prints time per unit (µs per conn; ms per GiB)
//     --from/--to           only samples in this window, in µs of CLOCK_MONOTONIC (process.hrtime),
//                           which is the clock of the profile's timestamps: leaves out start-up and warm-up

import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** Which bucket a frame belongs to: what a reader would act on differently. */
function kindOf(frame) {
  const { functionName: fn, url } = frame;
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)') return 'idle (waiting in epoll)';
  if (fn === '(program)') return 'V8/native, not attributed (program)';
  if (fn === '(root)') return 'root';
  if (url.startsWith('wasm://')) return 'wasm detectors';
  if (url.includes('/dist/host/')) return 'Passthru host JS';
  if (url.startsWith('node:')) return 'Node core JS (net, stream, events, timers)';
  if (url.includes('node_modules')) return 'dependencies JS';
  if (url === '') return 'native (C++ builtins, API callbacks)';
  return 'other JS';
}

export function summarise(profile, { top = 25, per = 0, unit = '', from = -Infinity, to = Infinity } = {}) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  const { samples, timeDeltas } = profile;
  // timeDeltas[i] is the gap before sample i; charge it to sample i-1's node, which was running.
  let t = profile.startTime + timeDeltas[0];
  let first = Infinity;
  let last = -Infinity;
  let counted = 0;
  for (let i = 1; i < samples.length; i++) {
    const prev = t;
    t += timeDeltas[i];
    if (prev < from || t > to) continue;
    first = Math.min(first, prev);
    last = Math.max(last, t);
    counted++;
    selfUs.set(samples[i - 1], (selfUs.get(samples[i - 1]) ?? 0) + timeDeltas[i]);
  }
  const total = last - first;
  let idle = 0;
  const fnTotals = new Map();
  const fileTotals = new Map();
  const kindTotals = new Map();
  for (const [id, us] of selfUs) {
    const f = byId.get(id).callFrame;
    const kind = kindOf(f);
    if (kind.startsWith('idle')) idle += us;
    kindTotals.set(kind, (kindTotals.get(kind) ?? 0) + us);
    const short = f.url.replace(/^.*\/(dist\/host\/|node_modules\/)/, '$1');
    const fnKey = `${f.functionName || '(anonymous)'} ${short ? `${short}:${f.lineNumber + 1}` : ''}`.trim();
    fnTotals.set(fnKey, (fnTotals.get(fnKey) ?? 0) + us);
    const fileKey = short || kind;
    fileTotals.set(fileKey, (fileTotals.get(fileKey) ?? 0) + us);
  }
  const busy = total - idle;
  const pct = (us) => `${((us / busy) * 100).toFixed(1)} %`;
  // Per GiB reads better in ms, per connection in µs.
  const scale = unit === 'GiB' ? 1000 : 1;
  const scaleName = unit === 'GiB' ? 'ms' : 'µs';
  const perUnit = (us) => (per ? ` | ${(us / per / scale).toFixed(1)}` : '');
  const perHead = per ? ` | ${scaleName} per ${unit}` : '';
  const perRule = per ? '|---:' : '';
  const table = (title, map, n) => {
    const rows = [...map].filter(([k]) => !k.startsWith('idle') && k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, n);
    return [
      `| ${title} | self ms | % of busy${perHead} |`,
      `|---|---:|---:${perRule}|`,
      ...rows.map(([k, us]) => `| \`${k}\` | ${(us / 1000).toFixed(1)} | ${pct(us)}${perUnit(us)} |`),
    ].join('\n');
  };
  const lines = [
    `profile${Number.isFinite(from) ? ' (measured window only)' : ''}: ${(total / 1e6).toFixed(2)} s wall, ${(busy / 1e6).toFixed(2)} s busy on the main thread (${((busy / total) * 100).toFixed(0)} %), ${counted} samples` +
      (per ? `; busy ÷ ${per.toFixed(per % 1 ? 2 : 0)} ${unit}: ${(busy / per / scale).toFixed(1)} ${scaleName} per ${unit}` : ''),
    '',
    table('kind of code', kindTotals, 20),
    '',
    table('function (self time)', fnTotals, top),
    '',
    table('file', fileTotals, 12),
  ];
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const opt = (name, d) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args.splice(i, 2)[1] : d;
  };
  const top = Number(opt('top', 25));
  const per = Number(opt('per', 0));
  const unit = opt('unit', 'unit');
  const from = Number(opt('from', -Infinity));
  const to = Number(opt('to', Infinity));
  if (args.length !== 1) {
    console.error('usage: node bench/profile-summary.mjs FILE.cpuprofile [--top N] [--per N --unit conn|GiB] [--from US --to US]');
    process.exit(2);
  }
  console.log(summarise(JSON.parse(readFileSync(args[0], 'utf8')), { top, per, unit, from, to }));
}
