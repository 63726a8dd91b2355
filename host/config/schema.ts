// The shape of a v0.2.0 config as a JSON Schema, checked by ajv. Values that need parsing
// (host:port, rule keys) are checked in load.ts; this file only answers "is every node the right kind".
//
// Go's encoding/json matches struct field names case-insensitively, so the four fixed field names are
// patterns, not properties. Go also decodes `null` into any of these as "leave the zero value", so every
// node accepts null and load.ts treats it as absent/empty.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { ConfigIssue } from '../errors.js';
import { CONFIG_VERSION } from './model.js';
import { formatPath, pointerToSegments } from './path.js';

/** The fixed field names, as Go's struct tags spell them. */
export const FIELD = { version: 'version', servers: 'servers', action: 'action', toAddr: 'to_addr' } as const;

/** A regex source matching `name` in any ASCII case (Go folds only what matters here: ASCII letters). */
export function anyCase(name: string): string {
  const body = [...name]
    .map((c) => (/[a-z]/i.test(c) ? `[${c.toLowerCase()}${c.toUpperCase()}]` : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return `^${body}$`;
}

/** ASCII-only lower case, matching anyCase (String#toLowerCase would also fold `İ` and friends). */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

export const ACTIONS = ['FORWARD', 'REJECT'] as const;

export const configSchema = {
  $id: 'https://passthru.invalid/schema/config-v0.2.0.json',
  title: 'Passthru config v0.2.0',
  type: 'object',
  patternProperties: {
    [anyCase(FIELD.version)]: { const: CONFIG_VERSION },
    [anyCase(FIELD.servers)]: {
      type: ['object', 'null'],
      description: 'listen host:port -> server',
      additionalProperties: { $ref: '#/$defs/server' },
    },
  },
  // Unknown fields are reported, but load.ts turns these reports into warnings: Go ignores them.
  additionalProperties: false,
  $defs: {
    server: {
      type: ['object', 'null'],
      description: 'protocol name (TLS, ..., CATCHALL) -> protocol section',
      additionalProperties: { $ref: '#/$defs/protocol' },
    },
    protocol: {
      type: ['object', 'null'],
      description: 'rule key (CATCHALL, "SNI example.com", ...) -> rule',
      additionalProperties: { $ref: '#/$defs/rule' },
    },
    rule: {
      type: ['object', 'null'],
      patternProperties: {
        // null and absence both mean REJECT in the original (load.ts warns).
        [anyCase(FIELD.action)]: { enum: [...ACTIONS, null] },
        [anyCase(FIELD.toAddr)]: { type: ['string', 'null'] },
      },
      additionalProperties: false,
    },
  },
} as const;

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  // allErrors: the contract is to report every problem at once, not the first; verbose: messages quote the bad value.
  compiled ??= new Ajv({ allErrors: true, allowUnionTypes: true, strict: true, verbose: true }).compile(configSchema);
  return compiled;
}

export interface ShapeReport {
  errors: ConfigIssue[];
  /** Unknown fields, which Go ignores. */
  warnings: ConfigIssue[];
}

/** Check `data` (parsed JSON) against configSchema; every issue names its path. */
export function checkShape(data: unknown): ShapeReport {
  const validate = validator();
  const report: ShapeReport = { errors: [], warnings: [] };
  if (validate(data)) return report;
  for (const err of validate.errors ?? []) {
    const segments = pointerToSegments(err.instancePath);
    if (err.keyword === 'additionalProperties') {
      const field = (err.params as { additionalProperty: string }).additionalProperty;
      report.warnings.push({ path: formatPath([...segments, field]), message: `unknown field ${JSON.stringify(field)} ignored` });
    } else {
      report.errors.push({ path: formatPath(segments), message: describe(err, segments) });
    }
  }
  return report;
}

function describe(err: ErrorObject, segments: string[]): string {
  const field = asciiLower(segments[segments.length - 1] ?? 'value');
  switch (err.keyword) {
    case 'type': {
      const wanted = String((err.params as { type: string | string[] }).type)
        .split(',')
        .filter((t) => t !== 'null');
      return `expected ${wanted.map(article).join(' or ')}, got ${article(kindOf(err.data))}`;
    }
    case 'enum': {
      const allowed = ((err.params as { allowedValues: unknown[] }).allowedValues ?? []).filter((v) => v !== null);
      return `unknown ${field} ${JSON.stringify(err.data)} (expected ${allowed.join(' or ')})`;
    }
    case 'const': {
      const wanted = (err.params as { allowedValue: unknown }).allowedValue;
      return `unsupported ${field} ${JSON.stringify(err.data)} (expected ${JSON.stringify(wanted)})`;
    }
    default:
      return err.message ?? `invalid (${err.keyword})`;
  }
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function article(kind: string): string {
  return kind === 'null' ? 'null' : /^[aeiou]/.test(kind) ? `an ${kind}` : `a ${kind}`;
}
