// The config's JSON Schema for editors (`passthru schema`, schema/passthru.schema.json). schema.ts's
// ajv schema only sorts nodes by kind and lets load.ts word the errors; this one is for people typing
// a config: draft-07 (what VS Code's JSON support handles fully), `properties` with descriptions so
// editors complete the fixed names, and the loader's own checks where a pattern can say them, so an
// editor flags what `passthru check` would refuse. Built from schema.ts's names and the detectors'
// metadata, not kept by hand; test/config/published-schema.test.ts runs configs through both.
import { CATCHALL, CONFIG_VERSION, SERVER_OPTIONS_KEY } from './model.js';
import { ACTIONS, anyCase, EXTRA_FIELD, FIELD, MAX_WINDOW_OPTION, MIN_WINDOW_OPTION, OPTION, PROXY_VERSIONS, SCHEMA_KEY } from './schema.js';
import type { DetectorMeta } from '../plugin/metadata.js';

type Schema = Record<string, unknown>;

/** Labels of letters, digits, `-`, `_`, one trailing dot: address.ts's HOST_NAME. */
const HOST_NAME = '[A-Za-z0-9_-]+(?:\\.[A-Za-z0-9_-]+)*\\.?';
/** Looser than node's isIPv6 (hex digits, colons, dots, at least two colons): the loader has the last word on odd literals. */
const IPV6 = '[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*';
const BRACKETED = `\\[${IPV6}(?:%[^\\]]+)?\\]`;
/** 0-65535 and 1-65535, leading zeros allowed as address.ts allows them. */
const PORT_ANY = '0*(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])';
const PORT_USABLE = '0*(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])';
const LISTEN = `^(?:[uU][dD][pP]://)?(?:${BRACKETED}|${HOST_NAME})?:${PORT_ANY}$`;
const BACKEND = `^(?:${BRACKETED}|${HOST_NAME})?:${PORT_USABLE}$`;
const UDP_KEY = '^[uU][dD][pP]://';

/** Go's time.ParseDuration grammar (duration.ts); values past int64 nanoseconds are the loader's to refuse. */
const UNIT = '(?:ns|us|µs|μs|ms|s|m|h)';
const NUM = '(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)';
const ZERO_PART = `(?:0*(?:\\.0*)?${UNIT}|0*(?:\\.[0-9]*)?ns)`;
const ZERO = `[-+]?(?:0|${ZERO_PART}+)`;
const POSITIVE_DURATION = `^(?!${ZERO}$)\\+?(?:${NUM}${UNIT})+$`;
const NONNEGATIVE_DURATION = `^(?:\\+?(?:0|(?:${NUM}${UNIT})+)|-(?:0|${ZERO_PART}+))$`;

/** "at least one key spelt `name` in any case": `required` cannot fold case. */
function hasField(name: string, errorMessage: string): Schema {
  return { not: { propertyNames: { not: { pattern: anyCase(name) } } }, errorMessage };
}

/** The fixed field under its own name (for completion) and in any case (as Go decodes it). */
function fields(defs: Record<string, Schema>): { properties: Schema; patternProperties: Schema } {
  return {
    properties: Object.fromEntries(Object.entries(defs)),
    patternProperties: Object.fromEntries(Object.entries(defs).map(([k, v]) => [anyCase(k), v])),
  };
}

const IGNORED = { deprecationMessage: 'unknown field: Passthru ignores it (with a warning), as the original does' };

const duration = (positive: boolean, description: string): Schema => ({
  type: ['string', 'null'],
  pattern: positive ? POSITIVE_DURATION : NONNEGATIVE_DURATION,
  patternErrorMessage: positive ? 'a Go duration greater than zero (5s, 500ms, 1m30s)' : 'a Go duration, zero or more (0, 15m, 1h)',
  description,
});

function options(udp: boolean): Schema {
  return {
    type: ['object', 'null'],
    description: "Passthru's listener options (additive: the original ignores them); each absent one takes the command line's value. An unknown option is an error.",
    ...fields({
      [OPTION.acceptProxy]: udp
        ? { enum: [false, null], description: 'not supported on a udp:// server (PROXY headers come on streams only)' }
        : { type: ['boolean', 'null'], description: 'a load balancer in front sends a PROXY v1/v2 header first; a connection without one is closed' },
      [OPTION.maxConnections]: { type: ['integer', 'null'], minimum: 1, description: 'concurrent connections (UDP: flows); over it new ones are refused (default --max-connections, 10000)' },
      [OPTION.connectTimeout]: duration(true, 'backend dial timeout, per backend tried (default --connect-timeout, 10s; ignored on udp://)'),
      [OPTION.idleTimeout]: duration(false, 'close a forwarded connection with no byte either way for this long; 0: never (default --idle-timeout, 1h)'),
      [OPTION.detectTimeout]: duration(true, 'detection timeout, as -t (default 5s); also the PROXY header timeout'),
      [OPTION.window]: { type: ['integer', 'null'], minimum: MIN_WINDOW_OPTION, maximum: MAX_WINDOW_OPTION, description: `window cap in bytes (${MIN_WINDOW_OPTION} to ${MAX_WINDOW_OPTION}; default 16384)` },
      [OPTION.backendCooldown]: duration(false, 'how long a backend that refused or timed out is skipped (default 10s)'),
    }),
    additionalProperties: false,
  };
}

function rule(udp: boolean): Schema {
  const toAddr: Schema = {
    type: ['string', 'array', 'null'],
    items: { type: 'string' },
    minItems: 1,
    description: 'the backend, host:port ([::1]:443 for IPv6; a name is resolved per connection), or a list of them taken in turn',
  };
  const forwardTo: Schema = {
    anyOf: [
      { type: 'string', pattern: BACKEND },
      { type: 'array', minItems: 1, items: { type: 'string', pattern: BACKEND } },
    ],
    errorMessage: 'FORWARD needs to_addr: host:port (port 1-65535), or a list of them',
  };
  const then: Schema = { allOf: [hasField(FIELD.toAddr, 'FORWARD needs to_addr (host:port)')], patternProperties: { [anyCase(FIELD.toAddr)]: forwardTo } };
  if (udp) then.patternProperties = { ...(then.patternProperties as Schema), [anyCase(EXTRA_FIELD.sendProxy)]: { type: 'null', errorMessage: 'send_proxy is not supported on a udp:// server' } };
  return {
    type: ['object', 'null'],
    description: 'what to do with a connection this rule applies to',
    ...fields({
      [FIELD.action]: { enum: [...ACTIONS, null], description: 'FORWARD to to_addr, or REJECT (close); absent: REJECT, with a warning' },
      [FIELD.toAddr]: toAddr,
      [EXTRA_FIELD.sendProxy]: { enum: [...PROXY_VERSIONS, null], description: "send the backend a PROXY header (v1 text, v2 binary) with the client's address first" },
    }),
    additionalProperties: IGNORED,
    defaultSnippets: [
      { label: 'FORWARD', body: { [FIELD.action]: 'FORWARD', [FIELD.toAddr]: '${1:127.0.0.1:443}' } },
      { label: 'REJECT', body: { [FIELD.action]: 'REJECT' } },
    ],
    // Go assigns each spelling in turn, so the last one wins; a pattern cannot see order, so the
    // requirement applies when every spelling says FORWARD.
    if: { type: 'object', allOf: [hasField(FIELD.action, '')], patternProperties: { [anyCase(FIELD.action)]: { const: 'FORWARD' } } },
    then,
  };
}

function keyDoc(meta: DetectorMeta): string {
  const keys = meta.keys ? Object.entries(meta.keys).map(([k, kind]) => `\`${k} <value>\` (${kind})`).join(', ') : 'none declared';
  return `${meta.protocol} detector (${meta.name} ${meta.version}): rule keys ${keys}, or CATCHALL (${meta.protocol}, but no other rule applied)`;
}

function server(udp: boolean, detectors: DetectorMeta[]): Schema {
  const ruleRef = { $ref: `#/definitions/${udp ? 'udpRule' : 'rule'}` };
  const section = (description: string): Schema => ({
    type: ['object', 'null'],
    description,
    properties: { [CATCHALL]: { allOf: [ruleRef], description: 'the protocol was detected but no other rule of the section applied' } },
    additionalProperties: ruleRef,
  });
  const want = udp ? 'datagram' : 'stream';
  const protocols = detectors.filter((d) => (d.transports ?? ['stream']).includes(want));
  return {
    type: ['object', 'null'],
    description: udp
      ? 'a UDP listener: detectors that take datagrams, in detection order, then CATCHALL; "options" for listener options'
      : 'protocol sections in detection order (the first MATCH wins), the CATCHALL protocol as the fallback; "options" for listener options',
    properties: {
      [SERVER_OPTIONS_KEY]: options(udp),
      ...Object.fromEntries(protocols.map((d) => [d.protocol, section(keyDoc(d))])),
      [CATCHALL]: {
        type: ['object', 'null'],
        description: 'the fallback protocol: no detector matched, the window filled, the client closed or the detection timeout passed. Its only rule is CATCHALL',
        properties: { [CATCHALL]: ruleRef },
        additionalProperties: false,
      },
    },
    additionalProperties: section('a protocol section; its detector must be loaded (bundled or --plugin)'),
  };
}

/** The schema for configs run with these detectors (the bundled ones, plus any --plugin). */
export function publishedSchema(detectors: DetectorMeta[]): Schema {
  const sorted = [...detectors].sort((a, b) => a.protocol.localeCompare(b.protocol));
  const servers: Schema = {
    type: 'object',
    minProperties: 1,
    description: 'listen address (host:port, [::1]:443, :443 for every interface, udp://host:port) → server',
    propertyNames: { pattern: LISTEN, errorMessage: 'a listen address: host:port, [IPv6]:port, :port or udp://host:port' },
    patternProperties: { [UDP_KEY]: { $ref: '#/definitions/udpServer' } },
    additionalProperties: { $ref: '#/definitions/server' },
  };
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: `Passthru config ${CONFIG_VERSION}`,
    description: 'Passthru protocol multiplexer config (compatible with the original Go passthru v0.2.0)',
    type: 'object',
    properties: {
      [SCHEMA_KEY]: { type: 'string', description: 'the JSON Schema an editor checks this file against; Passthru ignores it' },
      ...fields({
        [FIELD.version]: { const: CONFIG_VERSION, description: `config format version; must be "${CONFIG_VERSION}"` },
        [FIELD.servers]: { $ref: '#/definitions/servers' },
      }).properties,
    },
    patternProperties: fields({ [FIELD.version]: { const: CONFIG_VERSION }, [FIELD.servers]: { $ref: '#/definitions/servers' } }).patternProperties,
    additionalProperties: IGNORED,
    allOf: [hasField(FIELD.version, `missing "version" (expected "${CONFIG_VERSION}")`), hasField(FIELD.servers, 'missing "servers": nothing to listen on')],
    definitions: { servers, server: server(false, sorted), udpServer: server(true, sorted), rule: rule(false), udpRule: rule(true) },
  };
}

/** The keywords VS Code reads beyond draft-07; a validator must be told they are annotations. */
export const EDITOR_KEYWORDS = ['errorMessage', 'patternErrorMessage', 'deprecationMessage', 'defaultSnippets', 'markdownDescription'] as const;
