import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, type ConfigIssue } from '../../host/errors.js';
import { loadConfigFile, parseConfig } from '../../host/config/load.js';
import { formatPath, pointerToSegments } from '../../host/config/path.js';
import { formatHostPort, parseHostPort } from '../../host/config/address.js';
import { splitRuleKey } from '../../host/config/model.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const fixtureText = (name: string) => readFileSync(fixture(name), 'utf8');

/** The issues of the ConfigError `fn` throws. */
function issuesOf(fn: () => unknown): ConfigIssue[] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).code).toBe('E_CONFIG');
    return (e as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

const cfg = (servers: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ version: 'v0.2.0', servers, ...extra }, null, 2);

const oneRule = (rule: unknown, key = 'SNI a.test') => cfg({ '127.0.0.1:443': { TLS: { [key]: rule } } });

describe('formatPath', () => {
  it('uses .name for identifiers and ["…"] for everything else', () => {
    expect(formatPath(['servers', '127.0.0.1:443', 'TLS', 'SNI a.test', 'to_addr'])).toBe(
      'servers["127.0.0.1:443"].TLS["SNI a.test"].to_addr',
    );
    expect(formatPath([])).toBe('');
    expect(formatPath(['a "quoted"\\key'])).toBe('["a \\"quoted\\"\\\\key"]');
    expect(formatPath(['x', 0, '_ok1'])).toBe('x[0]._ok1');
    // Keys of servers are listen addresses, bracketed even when they look like identifiers.
    expect(formatPath(['servers', 'bad', 'TLS'])).toBe('servers["bad"].TLS');
    expect(formatPath(['Servers', 'bad'])).toBe('Servers["bad"]');
  });

  it('reads ajv JSON pointers, unescaping ~1 and ~0', () => {
    expect(pointerToSegments('')).toEqual([]);
    expect(pointerToSegments('/servers/a~1b~0c/0')).toEqual(['servers', 'a/b~c', '0']);
    expect(pointerToSegments('/~01')).toEqual(['~1']);
  });
});

describe('parseHostPort', () => {
  const strict = { allowEmptyHost: false, allowPortZero: false };
  it.each([
    ['127.0.0.1:443', '127.0.0.1', 443],
    ['[::1]:443', '::1', 443],
    ['[fe80::1%eth0]:22', 'fe80::1%eth0', 22],
    ['backend.internal:8443', 'backend.internal', 8443],
    ['host_1.example.:65535', 'host_1.example.', 65535],
  ])('%s', (text, host, port) => {
    expect(parseHostPort(text, strict)).toEqual({ ok: true, value: { host, port } });
  });

  it.each(['bad', '::1:443', '[::1]', '[::1]443', '[nothost]:1', 'a:', 'a:https', 'a:65536', 'a:0', ':80', 'a b:1', 'a:-1'])(
    'rejects %s',
    (text) => {
      expect(parseHostPort(text, strict).ok).toBe(false);
    },
  );

  it('allows an empty host and port 0 only when asked', () => {
    expect(parseHostPort(':8443', { allowEmptyHost: true, allowPortZero: false })).toEqual({ ok: true, value: { host: '', port: 8443 } });
    expect(parseHostPort('127.0.0.1:0', { allowEmptyHost: false, allowPortZero: true }).ok).toBe(true);
  });

  it('formats back with brackets for IPv6', () => {
    expect(formatHostPort({ host: '::1', port: 443 })).toBe('[::1]:443');
    expect(formatHostPort({ host: 'a.test', port: 80 })).toBe('a.test:80');
  });
});

describe('splitRuleKey', () => {
  it('splits on the first space, keeping an empty value', () => {
    expect(splitRuleKey('SNI a.test')).toEqual({ name: 'SNI', value: 'a.test' });
    expect(splitRuleKey('SNI ')).toEqual({ name: 'SNI', value: '' });
    expect(splitRuleKey('X a b')).toEqual({ name: 'X', value: 'a b' });
    expect(splitRuleKey('CATCHALL')).toBeUndefined();
  });
});

describe('loading valid configs', () => {
  it('loads the DESIGN.md sample', async () => {
    const c = await loadConfigFile(fixture('design-sample.json'));
    expect(c.version).toBe('v0.2.0');
    expect(c.warnings).toEqual([]);
    expect(c.file).toBe(fixture('design-sample.json'));
    expect(c.servers).toEqual([
      {
        address: '127.0.0.1:443',
        listen: { host: '127.0.0.1', port: 443 },
        path: 'servers["127.0.0.1:443"]',
        options: { acceptProxy: false },
        protocols: [
          {
            name: 'TLS',
            path: 'servers["127.0.0.1:443"].TLS',
            rules: [
              {
                key: 'SNI example.com',
                action: 'FORWARD',
                to: { host: '10.0.0.5', port: 443 },
                toAddrs: [{ host: '10.0.0.5', port: 443 }],
                toAddr: '10.0.0.5:443',
                path: 'servers["127.0.0.1:443"].TLS["SNI example.com"]',
              },
              { key: 'CATCHALL', action: 'REJECT', path: 'servers["127.0.0.1:443"].TLS.CATCHALL' },
            ],
          },
          {
            name: 'CATCHALL',
            path: 'servers["127.0.0.1:443"].CATCHALL',
            rules: [
              {
                key: 'CATCHALL',
                action: 'FORWARD',
                to: { host: '127.0.0.1', port: 80 },
                toAddrs: [{ host: '127.0.0.1', port: 80 }],
                toAddr: '127.0.0.1:80',
                path: 'servers["127.0.0.1:443"].CATCHALL.CATCHALL',
              },
            ],
          },
        ],
      },
    ]);
  });

  it("loads the original's quirks: field names in any case, SNI/ALPN with empty values, missing action", async () => {
    const c = await loadConfigFile(fixture('original-quirks.json'));
    expect(c.version).toBe('v0.2.0');
    const [server] = c.servers;
    expect(server!.listen).toEqual({ host: '', port: 8443 });
    expect(server!.path).toBe('SERVERS[":8443"]');
    const rules = server!.protocols[0]!.rules;
    expect(rules.map((r) => [r.key, r.action, r.to])).toEqual([
      ['SNI ', 'FORWARD', { host: '127.0.0.1', port: 9001 }],
      ['ALPN ', 'FORWARD', { host: '::1', port: 9002 }],
      ['SNI legacy.test', 'REJECT', undefined],
      ['ALPN h2', 'FORWARD', { host: 'backend.internal', port: 8443 }],
    ]);
    // Missing action is REJECT, with a warning naming the rule; the ignored to_addr is warned about too.
    expect(c.warnings).toEqual([
      { path: 'SERVERS[":8443"].TLS["SNI legacy.test"]', message: expect.stringContaining('no action: REJECT') },
      { path: 'SERVERS[":8443"].TLS["SNI legacy.test"].to_addr', message: expect.stringContaining('ignored') },
    ]);
  });

  it('keeps JSON object order for servers, protocols and rules', () => {
    const c = parseConfig(
      cfg({
        '127.0.0.2:1': { SSH: { CATCHALL: { action: 'REJECT' } }, TLS: { 'SNI z': { action: 'REJECT' }, 'SNI a': { action: 'REJECT' } } },
        '127.0.0.1:1': { CATCHALL: { CATCHALL: { action: 'REJECT' } }, TLS: {} },
      }),
      'x.json',
    );
    expect(c.servers.map((s) => s.address)).toEqual(['127.0.0.2:1', '127.0.0.1:1']);
    expect(c.servers[0]!.protocols.map((p) => p.name)).toEqual(['SSH', 'TLS']);
    expect(c.servers[0]!.protocols[1]!.rules.map((r) => r.key)).toEqual(['SNI z', 'SNI a']);
    expect(c.servers[1]!.protocols.map((p) => p.name)).toEqual(['CATCHALL', 'TLS']);
  });

  it('accepts unknown fields with a warning naming them, as Go ignores them', () => {
    const c = parseConfig(cfg({ '127.0.0.1:443': { TLS: { CATCHALL: { action: 'REJECT', comment: 'x' } } } }, { note: 1 }), 'x.json');
    expect(c.warnings).toEqual([
      { path: 'servers["127.0.0.1:443"].TLS.CATCHALL.comment', message: 'unknown field "comment" ignored' },
      { path: 'note', message: 'unknown field "note" ignored' },
    ]);
  });

  it('reads null as Go does: absent', () => {
    const c = parseConfig(
      cfg({ '127.0.0.1:443': { TLS: { 'SNI a': null, 'SNI b': { action: null, to_addr: null } }, CATCHALL: null } }),
      'x.json',
    );
    const [tls, catchall] = c.servers[0]!.protocols;
    expect(tls!.rules.map((r) => r.action)).toEqual(['REJECT', 'REJECT']);
    expect(catchall).toEqual({ name: 'CATCHALL', rules: [], path: 'servers["127.0.0.1:443"].CATCHALL' });
  });

  it('warns about a server without protocols, a key that can never match, and listen port 0', () => {
    const c = parseConfig(cfg({ '127.0.0.1:0': {}, '127.0.0.1:1': { TLS: { sni: { action: 'REJECT' } } } }), 'x.json');
    expect(c.warnings.map((w) => w.path)).toEqual(['servers["127.0.0.1:0"]', 'servers["127.0.0.1:0"]', 'servers["127.0.0.1:1"].TLS.sni']);
    expect(c.warnings[1]!.message).toMatch(/no protocols/);
    expect(c.warnings[2]!.message).toMatch(/never matches/);
  });

  it('lets the last of two spellings of one field win, with a warning', () => {
    const c = parseConfig(oneRule({ action: 'REJECT', Action: 'FORWARD', to_addr: 'a:1' }), 'x.json');
    expect(c.servers[0]!.protocols[0]!.rules[0]!.action).toBe('FORWARD');
    expect(c.warnings).toEqual([
      { path: 'servers["127.0.0.1:443"].TLS["SNI a.test"].action', message: expect.stringContaining('last one wins') },
    ]);
  });

  it('accepts a BOM', () => {
    expect(parseConfig('\ufeff' + cfg({ ':1': { CATCHALL: { CATCHALL: { action: 'REJECT' } } } }), 'x').servers).toHaveLength(1);
  });

  it('resolves a to_addr without host to the local system, as Go dials it', () => {
    const c = parseConfig(oneRule({ action: 'FORWARD', to_addr: ':8080' }), 'x');
    expect(c.servers[0]!.protocols[0]!.rules[0]!.to).toEqual({ host: 'localhost', port: 8080 });
  });
});

describe('config errors name their path', () => {
  const only = (text: string): ConfigIssue => {
    const issues = issuesOf(() => parseConfig(text, 'c.json'));
    expect(issues).toHaveLength(1);
    return issues[0]!;
  };

  it('unknown action', () => {
    expect(only(oneRule({ action: 'forward', to_addr: 'a:1' }, 'SNI a'))).toEqual({
      path: 'servers["127.0.0.1:443"].TLS["SNI a"].action',
      message: 'unknown action "forward" (expected FORWARD or REJECT)',
    });
  });

  it('FORWARD without to_addr, or with an empty one', () => {
    const expected = { path: 'servers["127.0.0.1:443"].TLS["SNI a.test"].to_addr', message: 'FORWARD needs to_addr (host:port)' };
    expect(only(oneRule({ action: 'FORWARD' }))).toEqual(expected);
    expect(only(oneRule({ action: 'FORWARD', to_addr: '' }))).toEqual(expected);
  });

  it('to_addr that is not host:port, under the name as written', () => {
    for (const bad of ['10.0.0.1', '::1:443', 'a:0', 'a:99999', 'a:https']) {
      const issue = only(oneRule({ action: 'FORWARD', TO_ADDR: bad }));
      expect(issue.path).toBe('servers["127.0.0.1:443"].TLS["SNI a.test"].TO_ADDR');
      expect(issue.message).toContain(`to_addr ${JSON.stringify(bad)} is not host:port`);
    }
  });

  it('to_addr of the wrong type', () => {
    expect(only(oneRule({ action: 'FORWARD', to_addr: 443 }))).toEqual({
      path: 'servers["127.0.0.1:443"].TLS["SNI a.test"].to_addr',
      message: 'expected a string or an array, got a number',
    });
  });

  it('unsupported or missing version', () => {
    const text = (v: unknown) => JSON.stringify({ version: v, servers: { ':1': {} } });
    expect(only(text('v0.3.0'))).toEqual({ path: 'version', message: 'unsupported version "v0.3.0" (expected "v0.2.0")' });
    expect(only(text(null)).path).toBe('version');
    expect(only(JSON.stringify({ VERSION: 2, servers: { ':1': {} } })).path).toBe('VERSION');
    expect(only(JSON.stringify({ servers: { ':1': {} } }))).toEqual({ path: 'version', message: 'missing (expected "v0.2.0")' });
  });

  it('bad listen address', () => {
    const issue = only(cfg({ bad: { CATCHALL: { CATCHALL: { action: 'REJECT' } } } }));
    expect(issue.path).toBe('servers["bad"]');
    expect(issue.message).toBe('listen address "bad" is not host:port: missing port');
    expect(only(cfg({ 'bad host:1': {} })).path).toBe('servers["bad host:1"]');
  });

  it('two servers on the same address', () => {
    const issue = only(cfg({ '127.0.0.1:443': {}, '127.0.0.1:0443': {} }));
    expect(issue).toEqual({ path: 'servers["127.0.0.1:0443"]', message: 'listens on the same address as servers["127.0.0.1:443"]' });
  });

  it('a rule other than CATCHALL under the CATCHALL protocol', () => {
    expect(only(cfg({ '127.0.0.1:443': { CATCHALL: { 'SNI a': { action: 'REJECT' } } } }))).toEqual({
      path: 'servers["127.0.0.1:443"].CATCHALL["SNI a"]',
      message: 'only the rule "CATCHALL" is allowed under the CATCHALL protocol',
    });
  });

  it('no servers', () => {
    expect(only(cfg({})).path).toBe('servers');
    expect(only(JSON.stringify({ version: 'v0.2.0' })).path).toBe('servers');
  });

  it('wrong kinds of node', () => {
    expect(only('[]')).toEqual({ path: '', message: 'expected an object, got an array' });
    expect(only(cfg({ ':1': { TLS: 'x' } }))).toEqual({ path: 'servers[":1"].TLS', message: 'expected an object, got a string' });
    expect(only(cfg({ ':1': { TLS: { CATCHALL: [] } } }))).toEqual({
      path: 'servers[":1"].TLS.CATCHALL',
      message: 'expected an object, got an array',
    });
  });

  it('reports every problem at once', () => {
    const issues = issuesOf(() => parseConfig(fixtureText('many-errors.json'), 'many-errors.json'));
    // In file order, though the schema and the semantic pass find them separately.
    expect(issues.map((i) => i.path)).toEqual([
      'version',
      'servers["bad"]',
      'servers["127.0.0.1:443"].TLS["SNI a"].action',
      'servers["127.0.0.1:443"].TLS["SNI a.test"].to_addr',
      'servers["127.0.0.1:443"].TLS["SNI b.test"].to_addr',
      'servers["127.0.0.1:443"].CATCHALL["SNI c.test"]',
    ]);
  });

  it('the error message lists every issue with the file name', async () => {
    const err = await loadConfigFile(fixture('many-errors.json')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as ConfigError).message;
    expect(message).toContain('many-errors.json: 6 error(s) in config');
    expect(message).toContain('  servers["127.0.0.1:443"].TLS["SNI a.test"].to_addr: FORWARD needs to_addr (host:port)');
  });

  it('an unreadable file', async () => {
    const err = await loadConfigFile(fixture('does-not-exist.json')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues[0]!.message).toMatch(/cannot read config: ENOENT/);
  });
});

describe('JSON syntax errors name line and column', () => {
  const syntax = (text: string) => {
    const issues = issuesOf(() => parseConfig(text, 'c.json'));
    expect(issues).toHaveLength(1);
    return issues[0]!.message;
  };

  it.each([
    ['{\n  "version": "v0.2.0",\n  "servers": {,}\n}', 3, 15, 'expected a property name'],
    ['{\n  "version": "v0.2.0"\n  "servers": {}\n}', 3, 3, 'expected "," or "}"'],
    ['{"version": "v0.2.0",}', 1, 22, 'expected a property name'],
    ['{"a": tru}', 1, 10, 'expected "true"'],
    ['{"a": "x\ny"}', 1, 9, 'control character'],
    ['{"a": "\\q"}', 1, 9, 'invalid escape'],
    ['{"a": 01}', 1, 8, 'expected "," or "}"'],
    ['{"a": 1.}', 1, 9, 'expected a digit'],
    ['{"a": 1} x', 1, 10, 'expected end of input'],
    ['{"a": [1, 2', 1, 12, 'unexpected end of input'],
    ['{"a": "abc', 1, 11, 'unterminated string'],
    ['', 1, 1, 'expected a value'],
  ])('%j', (text, line, column, words) => {
    const message = syntax(text);
    expect(message).toContain(`invalid JSON at line ${line}, column ${column}: `);
    expect(message).toContain(words);
  });
});

describe('Passthru extensions: options, to_addr lists, send_proxy', () => {
  const server = (body: Record<string, unknown>) => parseConfig(cfg({ '127.0.0.1:443': body }), 'c.json').servers[0]!;
  const issues = (body: Record<string, unknown>) => issuesOf(() => parseConfig(cfg({ '127.0.0.1:443': body }), 'c.json'));
  const tls = { TLS: { 'SNI a.test': { action: 'FORWARD', to_addr: '127.0.0.1:1' } } };

  it('a server without options gets the defaults (every v0.2.0 config)', () => {
    expect(server(tls).options).toEqual({ acceptProxy: false });
  });

  it('options: each key, any case, durations parsed; "options" is not a protocol section', () => {
    const s = server({
      ...tls,
      options: { accept_proxy: true, MAX_CONNECTIONS: 5, connect_timeout: '2s', Idle_Timeout: '0', detect_timeout: '1m', window: 4096, backend_cooldown: '500ms' },
    });
    expect(s.options).toEqual({ acceptProxy: true, maxConnections: 5, connectTimeoutMs: 2000, idleTimeoutMs: 0, detectTimeoutMs: 60_000, window: 4096, backendCooldownMs: 500 });
    expect(s.protocols.map((p) => p.name)).toEqual(['TLS']);
  });

  it('bad options name their path', () => {
    expect(issues({ ...tls, options: { max_conections: 5 } })).toEqual([
      { path: 'servers["127.0.0.1:443"].options.max_conections', message: expect.stringContaining('unknown option "max_conections"') },
    ]);
    expect(issues({ ...tls, options: { connect_timeout: '0s' } })).toEqual([
      { path: 'servers["127.0.0.1:443"].options.connect_timeout', message: expect.stringContaining('greater than zero') },
    ]);
    expect(issues({ ...tls, options: { idle_timeout: '5 minutes' } })[0]!.path).toBe('servers["127.0.0.1:443"].options.idle_timeout');
    expect(issues({ ...tls, options: { window: 100 } })).toEqual([{ path: 'servers["127.0.0.1:443"].options.window', message: 'window 100: must be >= 512' }]);
    expect(issues({ ...tls, options: { max_connections: 0 } })[0]!.path).toBe('servers["127.0.0.1:443"].options.max_connections');
    expect(issues({ ...tls, options: { accept_proxy: 'yes' } })[0]!.path).toBe('servers["127.0.0.1:443"].options.accept_proxy');
  });

  it('to_addr as a list: every backend, in order; a string stays a list of one', () => {
    const r = server({ TLS: { 'SNI a.test': { action: 'FORWARD', to_addr: ['127.0.0.1:1', '[::1]:2', 'b.test:3'] } } }).protocols[0]!.rules[0]!;
    expect(r.toAddrs).toEqual([{ host: '127.0.0.1', port: 1 }, { host: '::1', port: 2 }, { host: 'b.test', port: 3 }]);
    expect(r.to).toEqual({ host: '127.0.0.1', port: 1 });
    expect(r.toAddr).toBe('127.0.0.1:1,[::1]:2,b.test:3');
  });

  it('a bad element of a to_addr list names its index; an empty list is refused', () => {
    expect(issues({ TLS: { 'SNI a.test': { action: 'FORWARD', to_addr: ['127.0.0.1:1', 'nope'] } } })).toEqual([
      { path: 'servers["127.0.0.1:443"].TLS["SNI a.test"].to_addr[1]', message: 'to_addr "nope" is not host:port: missing port' },
    ]);
    expect(issues({ TLS: { 'SNI a.test': { action: 'FORWARD', to_addr: [] } } })[0]!.path).toBe('servers["127.0.0.1:443"].TLS["SNI a.test"].to_addr');
    expect(issues({ TLS: { 'SNI a.test': { action: 'FORWARD', to_addr: [1] } } })[0]!.path).toBe('servers["127.0.0.1:443"].TLS["SNI a.test"].to_addr[0]');
  });

  it('send_proxy v1/v2 next to to_addr; anything else is refused; ignored (warned) on REJECT', () => {
    const r = server({ TLS: { 'SNI a.test': { action: 'FORWARD', to_addr: '127.0.0.1:1', send_proxy: 'v2' } } }).protocols[0]!.rules[0]!;
    expect(r.sendProxy).toBe('v2');
    expect(issues({ TLS: { 'SNI a.test': { action: 'FORWARD', to_addr: '127.0.0.1:1', send_proxy: 'v3' } } })).toEqual([
      { path: 'servers["127.0.0.1:443"].TLS["SNI a.test"].send_proxy', message: 'unknown send_proxy "v3" (expected v1 or v2)' },
    ]);
    const c = parseConfig(cfg({ '127.0.0.1:443': { TLS: { 'SNI a.test': { action: 'REJECT', send_proxy: 'v1' } } } }), 'c.json');
    expect(c.warnings).toEqual([{ path: 'servers["127.0.0.1:443"].TLS["SNI a.test"].send_proxy', message: 'send_proxy is ignored: the action is REJECT' }]);
  });
});
