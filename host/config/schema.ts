// The shape of a v0.2.0 config as a JSON Schema, checked by ajv. Values that need parsing
// (host:port, rule keys) are checked in load.ts; this file only answers "is every node the right kind".
//
// Go's encoding/json matches struct field names case-insensitively, so the four fixed field names are
// patterns, not properties. Go also decodes `null` into any of these as "leave the zero value", so every
// node accepts null and load.ts treats it as absent/empty.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { ConfigIssue } from '../errors.js';
import { CONFIG_VERSION, SERVER_OPTIONS_KEY } from './model.js';
import { formatPath, pointerToSegments, type PathSegment } from './path.js';

/** The fixed field names, as Go's struct tags spell them. */
export const FIELD = { version: 'version', servers: 'servers', action: 'action', toAddr: 'to_addr' } as const;

/** Rule fields Passthru adds to the original's (the original ignores unknown fields, so old files never carry them). */
export const EXTRA_FIELD = { sendProxy: 'send_proxy' } as const;

/** Fields of a server's `options` object (matched in any case, like the original's field names). */
export const OPTION = {
  acceptProxy: 'accept_proxy',
  maxConnections: 'max_connections',
  connectTimeout: 'connect_timeout',
  idleTimeout: 'idle_timeout',
  detectTimeout: 'detect_timeout',
  window: 'window',
  backendCooldown: 'backend_cooldown',
} as const;

export const PROXY_VERSIONS = ['v1', 'v2'] as const;

/** A top-level `"$schema"` points editors at schema/passthru.schema.json; the loader takes it silently, whatever its value (Go would ignore it too). */
export const SCHEMA_KEY = '$schema';

/**
 * Bounds of a per-listener window: below 512 bytes a TLS ClientHello's SNI rarely fits (detection would
 * end on the cap), above 64 KiB the sniff buffer per connection stops being small (10k connections × 64 KiB = 640 MiB).
 */
export const MIN_WINDOW_OPTION = 512;
export const MAX_WINDOW_OPTION = 64 * 1024;

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
  properties: { [SCHEMA_KEY]: {} },
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
      description: 'protocol name (TLS, ..., CATCHALL) -> protocol section; "options" -> listener options',
      properties: { [SERVER_OPTIONS_KEY]: { $ref: '#/$defs/options' } },
      additionalProperties: { $ref: '#/$defs/protocol' },
    },
    options: {
      type: ['object', 'null'],
      description: 'listener options; each absent one takes the command line value',
      patternProperties: {
        [anyCase(OPTION.acceptProxy)]: { type: ['boolean', 'null'], description: 'expect a PROXY v1/v2 header from a load balancer first' },
        [anyCase(OPTION.maxConnections)]: { type: ['integer', 'null'], minimum: 1, description: 'concurrent connections; over it new ones are refused' },
        [anyCase(OPTION.connectTimeout)]: { type: ['string', 'null'], description: 'backend connect timeout (Go duration, e.g. 5s)' },
        [anyCase(OPTION.idleTimeout)]: { type: ['string', 'null'], description: 'close a forwarded connection idle this long (0 = never)' },
        [anyCase(OPTION.detectTimeout)]: { type: ['string', 'null'], description: 'detection timeout, as -t' },
        [anyCase(OPTION.window)]: { type: ['integer', 'null'], minimum: MIN_WINDOW_OPTION, maximum: MAX_WINDOW_OPTION, description: 'window cap in bytes' },
        [anyCase(OPTION.backendCooldown)]: { type: ['string', 'null'], description: 'how long a refusing backend is skipped' },
      },
      additionalProperties: false,
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
        [anyCase(FIELD.toAddr)]: {
          type: ['string', 'array', 'null'],
          description: 'host:port, or a list of them (round-robin, a refusing one skipped for a cool-down)',
          items: { type: 'string' },
          minItems: 1,
        },
        [anyCase(EXTRA_FIELD.sendProxy)]: { enum: [...PROXY_VERSIONS, null], description: 'send a PROXY header of this version to the backend' },
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
    const segments = arrayIndices(data, pointerToSegments(err.instancePath));
    if (err.keyword === 'additionalProperties') {
      const field = (err.params as { additionalProperty: string }).additionalProperty;
      // The options object is Passthru's own: a misspelt option is a mistake to stop on, not Go's leniency.
      if (segments.length === 3 && segments[2] === SERVER_OPTIONS_KEY) {
        report.errors.push({ path: formatPath([...segments, field]), message: `unknown option ${JSON.stringify(field)} (expected one of ${Object.values(OPTION).join(', ')})` });
        continue;
      }
      report.warnings.push({ path: formatPath([...segments, field]), message: `unknown field ${JSON.stringify(field)} ignored` });
    } else {
      report.errors.push({ path: formatPath(segments), message: describe(err, segments) });
    }
  }
  return report;
}

/** A JSON pointer cannot tell an array index from an object key; the data can (`to_addr[0]`, not `to_addr["0"]`). */
function arrayIndices(data: unknown, segments: string[]): PathSegment[] {
  let at: unknown = data;
  return segments.map((seg) => {
    const inArray = Array.isArray(at);
    at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[seg] : undefined;
    return inArray ? Number(seg) : seg;
  });
}

function describe(err: ErrorObject, segments: PathSegment[]): string {
  const last = segments[segments.length - 1];
  const field = typeof last === 'string' ? asciiLower(last) : 'value';
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
    case 'minimum':
    case 'maximum':
    case 'minItems':
      return `${field} ${JSON.stringify(err.data)}: ${err.message ?? 'out of range'}`;
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
