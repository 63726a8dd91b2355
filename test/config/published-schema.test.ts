// The published schema (schema/passthru.schema.json, `passthru schema`) against the loader: every
// config the repository ships and a table of good and bad ones get the same answer from both.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../host/config/load.js';
import { EDITOR_KEYWORDS } from '../../host/config/published-schema.js';
import { ConfigError } from '../../host/errors.js';
import { checkTransports } from '../../host/udp/check.js';
import { CLI } from '../helpers/cli-process.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const published = JSON.parse(readFileSync(join(ROOT, 'schema/passthru.schema.json'), 'utf8')) as Record<string, unknown>;
const ajv = new Ajv({ allErrors: true, allowUnionTypes: true, strict: false });
ajv.addVocabulary([...EDITOR_KEYWORDS]);
const validate = ajv.compile(published);

/** The loader's verdict, detector-independent part: the file's own checks and UDP's option checks. */
function loaderAccepts(text: string): boolean {
  try {
    const c = parseConfig(text, 'x.json');
    return checkTransports(c, []).errors.length === 0;
  } catch (err) {
    if (err instanceof ConfigError) return false;
    throw err;
  }
}

function jsonFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (n === 'node_modules') return [];
    if (statSync(p).isDirectory()) return jsonFiles(p);
    return n.endsWith('.json') ? [p] : [];
  });
}

const shipped = [...jsonFiles(join(ROOT, 'config')), ...jsonFiles(join(ROOT, 'examples')), ...jsonFiles(join(ROOT, 'test/config/fixtures'))].filter((f) => {
  const data = JSON.parse(readFileSync(f, 'utf8')) as unknown;
  return typeof data === 'object' && data !== null && Object.keys(data).some((k) => k.toLowerCase() === 'servers');
});
const readmeConfigs = [...readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/```json\n([\s\S]*?)```/g)]
  .map((m) => m[1]!)
  .filter((t) => t.includes('"version"') && t.trimStart().startsWith('{'));

const cfg = (servers: unknown, extra: Record<string, unknown> = {}) => JSON.stringify({ version: 'v0.2.0', servers, ...extra });
const one = (rule: unknown, address = '127.0.0.1:443', protocol = 'TLS') => cfg({ [address]: { [protocol]: { 'SNI a.test': rule } } });
const opts = (o: unknown, address = '127.0.0.1:443') => cfg({ [address]: { options: o, CATCHALL: { CATCHALL: { action: 'REJECT' } } } });
const fwd = (to: unknown) => one({ action: 'FORWARD', to_addr: to });

const good: [string, string][] = [
  ['$schema key', cfg({ ':1': { CATCHALL: { CATCHALL: { action: 'REJECT' } } } }, { $schema: './node_modules/passthru-mux/schema/passthru.schema.json' })],
  ['field names in any case', JSON.stringify({ VERSION: 'v0.2.0', Servers: { ':8443': { TLS: { 'SNI ': { ACTION: 'FORWARD', To_Addr: 'a:1' } } } } })],
  ['missing action', one({ to_addr: 'x' })],
  ['null rule, null section, null server', cfg({ ':1': null, ':2': { TLS: null }, ':3': { TLS: { CATCHALL: null } } })],
  ['REJECT ignores a bad to_addr', one({ action: 'REJECT', to_addr: 'nonsense' })],
  ['unknown fields', one({ action: 'REJECT', comment: 'x' })],
  ['to_addr list', fwd(['a:1', '[::1]:2', ':3'])],
  ['IPv6 listener with zone', cfg({ '[fe80::1%eth0]:443': { CATCHALL: { CATCHALL: { action: 'REJECT' } } } })],
  ['udp listener', cfg({ 'UDP://:53': { DNS: { CATCHALL: { action: 'FORWARD', to_addr: '10.0.0.1:53' } } } })],
  ['port 0 listener, leading zeros', cfg({ '127.0.0.1:0': {}, 'a.test:00443': {} })],
  ['send_proxy', one({ action: 'FORWARD', to_addr: 'a:1', send_proxy: 'v2' })],
  ['send_proxy on a UDP REJECT rule (a warning)', one({ action: 'REJECT', send_proxy: 'v1' }, 'udp://:53', 'DNS')],
  ['options', opts({ Accept_Proxy: true, max_connections: 5, connect_timeout: '1m30s', idle_timeout: '0', detect_timeout: '.5s', window: 512, backend_cooldown: '-0s' })],
  ['options null', opts({ accept_proxy: null, idle_timeout: '0s' })],
  ['third-party protocol', cfg({ ':1': { MYPROTO: { 'X y': { action: 'REJECT' } } } })],
  ['last of two action spellings wins (REJECT)', one({ action: 'FORWARD', Action: 'REJECT' })],
];

const bad: [string, string][] = [
  ['wrong version', JSON.stringify({ version: 'v0.3.0', servers: { ':1': {} } })],
  ['missing version', JSON.stringify({ servers: { ':1': {} } })],
  ['missing servers', JSON.stringify({ version: 'v0.2.0' })],
  ['empty servers', cfg({})],
  ['null servers', cfg(null)],
  ['bad listen address', cfg({ bad: {} })],
  ['IPv6 listener without brackets', cfg({ '::1:443': {} })],
  ['port out of range', cfg({ ':65536': {} })],
  ['unknown action', one({ action: 'forward', to_addr: 'a:1' })],
  ['FORWARD without to_addr', one({ action: 'FORWARD' })],
  ['FORWARD with empty to_addr', fwd('')],
  ['FORWARD with null to_addr', fwd(null)],
  ['FORWARD to port 0', fwd('a:0')],
  ['FORWARD to no port', fwd('a.test')],
  ['FORWARD to a bad list element', fwd(['a:1', 'b'])],
  ['empty to_addr list', one({ action: 'REJECT', to_addr: [] })],
  ['to_addr of the wrong type', one({ action: 'REJECT', to_addr: 5 })],
  ['rule not an object', one('FORWARD')],
  ['bad send_proxy', one({ action: 'FORWARD', to_addr: 'a:1', send_proxy: 'v3' })],
  ['send_proxy on a UDP FORWARD rule', one({ action: 'FORWARD', to_addr: 'a:1', send_proxy: 'v1' }, 'udp://:53', 'DNS')],
  ['accept_proxy on UDP', opts({ accept_proxy: true }, 'udp://:53')],
  ['a non-CATCHALL rule under the CATCHALL protocol', cfg({ ':1': { CATCHALL: { 'SNI a': { action: 'REJECT' } } } })],
  ['unknown option', opts({ max_conections: 5 })],
  ['zero connect_timeout', opts({ connect_timeout: '0s' })],
  ['zero detect_timeout', opts({ detect_timeout: '0' })],
  ['negative idle_timeout', opts({ idle_timeout: '-1s' })],
  ['duration without unit', opts({ backend_cooldown: '5' })],
  ['duration with unknown unit', opts({ idle_timeout: '5d' })],
  ['window too small', opts({ window: 100 })],
  ['window not an integer', opts({ window: 1000.5 })],
  ['max_connections 0', opts({ max_connections: 0 })],
  ['accept_proxy a string', opts({ accept_proxy: 'yes' })],
];

describe('published schema', () => {
  it('is a valid draft-07 schema', () => {
    expect(published.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(ajv.validateSchema(published)).toBe(true);
  });

  it('equals `passthru schema` (regenerate: node dist/host/cli.js schema > schema/passthru.schema.json)', () => {
    expect(execFileSync(process.execPath, [CLI, 'schema'], { encoding: 'utf8' })).toBe(readFileSync(join(ROOT, 'schema/passthru.schema.json'), 'utf8'));
  });

  it('is shipped in the package', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('schema/');
  });

  it('names every fixed field and each bundled protocol under properties, with a description, for completion', () => {
    const defs = published.definitions as Record<string, Record<string, Record<string, { description?: string }>>>;
    expect(Object.keys(published.properties as object)).toEqual(['$schema', 'version', 'servers']);
    for (const k of ['action', 'to_addr', 'send_proxy']) expect(defs.rule!.properties![k]!.description).toBeTruthy();
    const options = defs.server!.properties!.options as unknown as { properties: Record<string, { description?: string }> };
    expect(Object.keys(options.properties)).toEqual(['accept_proxy', 'max_connections', 'connect_timeout', 'idle_timeout', 'detect_timeout', 'window', 'backend_cooldown']);
    for (const o of Object.values(options.properties)) expect(o.description).toBeTruthy();
    expect(Object.keys(defs.server!.properties!)).toEqual(expect.arrayContaining(['TLS', 'SSH', 'HTTP', 'CATCHALL']));
    expect(Object.keys(defs.server!.properties!)).not.toContain('QUIC');
    expect(Object.keys(defs.udpServer!.properties!)).toEqual(expect.arrayContaining(['QUIC', 'DNS', 'WIREGUARD']));
    expect(defs.server!.properties!.TLS!.description).toContain('SNI');
  });

  it('a "$schema" key loads without warning or error', () => {
    const c = parseConfig(cfg({ ':1': { CATCHALL: { CATCHALL: { action: 'REJECT' } } } }, { $schema: './schema/passthru.schema.json' }), 'x.json');
    expect(c.warnings).toEqual([]);
  });

  it.each(shipped.map((f) => [f.slice(ROOT.length), f]))('agrees with the loader on %s', (_name, file) => {
    const text = readFileSync(file, 'utf8');
    expect(validate(JSON.parse(text)), JSON.stringify(validate.errors)).toBe(loaderAccepts(text));
  });

  it('agrees with the loader on the README configs', () => {
    expect(readmeConfigs.length).toBeGreaterThan(0);
    for (const text of readmeConfigs) expect(validate(JSON.parse(text)), text).toBe(loaderAccepts(text));
  });

  it.each(good)('both accept: %s', (_name, text) => {
    expect(loaderAccepts(text)).toBe(true);
    expect(validate(JSON.parse(text)), JSON.stringify(validate.errors)).toBe(true);
  });

  it.each(bad)('both refuse: %s', (_name, text) => {
    expect(loaderAccepts(text)).toBe(false);
    expect(validate(JSON.parse(text))).toBe(false);
  });
});
