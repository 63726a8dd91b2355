// The Prometheus text exposition format (version 0.0.4), as much as `passthru status` reads: samples
// with labels; comments, types and timestamps are skipped. prom-client writes it but cannot read it.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const v = Number(text);
  if (text === '' || Number.isNaN(v)) throw new Error(`bad sample value ${JSON.stringify(text)}`);
  return v;
}

/** Throws on a line that is not a comment, blank or sample: the caller reports the endpoint as not Prometheus text. */
export function parsePrometheusText(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = NAME.exec(line);
    if (!m) throw new Error(`not a sample line: ${JSON.stringify(line.slice(0, 80))}`);
    const name = m[0];
    let i = name.length;
    const labels: Record<string, string> = {};
    if (line[i] === '{') {
      i++;
      for (;;) {
        while (line[i] === ' ' || line[i] === ',') i++;
        if (line[i] === '}') {
          i++;
          break;
        }
        const eq = line.indexOf('=', i);
        if (eq < 0 || line[eq + 1] !== '"') throw new Error(`bad labels in ${JSON.stringify(line.slice(0, 80))}`);
        const key = line.slice(i, eq).trim();
        let value = '';
        let j = eq + 2;
        for (; j < line.length && line[j] !== '"'; j++) {
          if (line[j] === '\\') {
            const next = line[++j];
            value += next === 'n' ? '\n' : (next ?? '');
          } else value += line[j];
        }
        if (j >= line.length) throw new Error(`unterminated label value in ${JSON.stringify(line.slice(0, 80))}`);
        labels[key] = value;
        i = j + 1;
      }
    }
    const rest = line.slice(i).trim().split(/\s+/);
    out.push({ name, labels, value: parseValue(rest[0] ?? '') });
  }
  return out;
}
