import { describe, expect, it } from 'vitest';
import type { ServerConfig } from '../host/config/model.js';
import { compileServer, normalizeHostname } from '../host/router.js';

const TLS_KEYS = { SNI: 'hostname', ALPN: 'exact' } as const;

function server(rules: Record<string, string | null>, catchallProtocol?: string): ServerConfig {
  const tls = Object.entries(rules).map(([key, to]) => ({
    key,
    action: to ? ('FORWARD' as const) : ('REJECT' as const),
    ...(to ? { to: { host: '127.0.0.1', port: Number(to) }, toAddr: `127.0.0.1:${to}` } : {}),
    path: `servers["x"].TLS[${JSON.stringify(key)}]`,
  }));
  const protocols = [{ name: 'TLS', rules: tls, path: 'servers["x"].TLS' }];
  if (catchallProtocol) {
    protocols.push({
      name: 'CATCHALL',
      path: 'servers["x"].CATCHALL',
      rules: [{ key: 'CATCHALL', action: 'FORWARD', to: { host: '127.0.0.1', port: Number(catchallProtocol) }, toAddr: `127.0.0.1:${catchallProtocol}`, path: 'p' }],
    });
  }
  return { address: 'x', listen: { host: '127.0.0.1', port: 1 }, protocols, options: { acceptProxy: false }, path: 'servers["x"]' };
}

function routeOf(cfg: ServerConfig, keys: string[]): string {
  const r = compileServer(cfg, () => TLS_KEYS);
  const route = r.route(r.protocols[0]!, keys);
  return route.action === 'FORWARD' ? `${route.protocol}:${route.rule}` : `REJECT(${route.rule})`;
}

describe('router precedence', () => {
  const cfg = server(
    {
      'SNI a.test': '1',
      'SNI *.a.test': '2',
      'SNI *.b.a.test': '3',
      'SNI ': '4',
      'ALPN h2': '5',
      'ALPN ': '6',
      'SNI reject.test': null,
      CATCHALL: '9',
    },
    '10',
  );
  const table: [string[], string][] = [
    [['SNI a.test', 'ALPN h2'], 'TLS:SNI a.test'],
    [['SNI A.TEST', 'ALPN x'], 'TLS:SNI a.test'],
    [['SNI a.test.', 'ALPN x'], 'TLS:SNI a.test'],
    [['SNI x.a.test', 'ALPN x'], 'TLS:SNI *.a.test'],
    [['SNI x.y.a.test', 'ALPN x'], 'TLS:SNI *.a.test'],
    [['SNI x.b.a.test', 'ALPN x'], 'TLS:SNI *.b.a.test'],
    [['SNI b.a.test', 'ALPN x'], 'TLS:SNI *.a.test'],
    [['SNI X.B.A.TEST', 'ALPN h2'], 'TLS:SNI *.b.a.test'],
    // The SNI key comes first, so a wildcard SNI rule beats an exact ALPN rule.
    [['SNI q.a.test', 'ALPN h2'], 'TLS:SNI *.a.test'],
    [['SNI other.test', 'ALPN h2'], 'TLS:ALPN h2'],
    [['SNI other.test', 'ALPN H2'], 'TLS:CATCHALL'],
    [['SNI ', 'ALPN h2'], 'TLS:SNI '],
    [['SNI other.test', 'ALPN '], 'TLS:ALPN '],
    [['ALPN x'], 'TLS:CATCHALL'],
    [[], 'TLS:CATCHALL'],
    [['SNI reject.test', 'ALPN h2'], 'REJECT(SNI reject.test)'],
    [['SNI Reject.Test', 'ALPN h2'], 'REJECT(SNI reject.test)'],
    [['SNI .a.test', 'ALPN x'], 'TLS:CATCHALL'],
    [['SNI a.test.evil', 'ALPN x'], 'TLS:CATCHALL'],
    [['SNI xa.test', 'ALPN x'], 'TLS:CATCHALL'],
  ];
  it.each(table)('%j → %s', (keys, expected) => {
    expect(routeOf(cfg, keys)).toBe(expected);
  });

  it('a wildcard never matches its own base name', () => {
    const c = server({ 'SNI *.example.com': '1' });
    expect(routeOf(c, ['SNI example.com'])).toBe('REJECT((no rule))');
    expect(routeOf(c, ['SNI www.example.com'])).toBe('TLS:SNI *.example.com');
  });

  it('without a protocol CATCHALL rule, the CATCHALL protocol applies; without that, REJECT', () => {
    expect(routeOf(server({ 'SNI a.test': '1' }, '10'), ['SNI b.test'])).toBe('CATCHALL:CATCHALL');
    expect(routeOf(server({ 'SNI a.test': '1' }), ['SNI b.test'])).toBe('REJECT((no rule))');
  });

  it('exact-kind keys compare bytes', () => {
    expect(routeOf(server({ 'ALPN h2': '1' }), ['ALPN H2'])).toBe('REJECT((no rule))');
  });

  it('rules differing only in case: the first in the file wins (check-protocols warns)', () => {
    const r = compileServer(server({ 'SNI A.test': '1', 'SNI a.TEST': '2', 'SNI *.W.test': '3', 'SNI *.w.TEST': '4' }), () => TLS_KEYS);
    expect(r.route(r.protocols[0]!, ['SNI a.test']).to?.port).toBe(1);
    expect(r.route(r.protocols[0]!, ['SNI x.w.test']).to?.port).toBe(3);
  });

  it('normalizes host names', () => {
    expect(normalizeHostname('WWW.Example.COM.')).toBe('www.example.com');
  });
});

describe('prefix keys (URL paths)', () => {
  const HTTP_KEYS = { HOST: 'hostname', PATH: 'prefix' } as const;
  const cfg: ServerConfig = {
    address: 'x',
    listen: { host: '127.0.0.1', port: 1 },
    path: 'servers["x"]',
    options: { acceptProxy: false },
    protocols: [
      {
        name: 'HTTP',
        path: 'p',
        rules: [
          ['PATH /api', 1],
          ['PATH /api/v2/', 2],
          ['PATH /', 3],
          ['PATH /static/img', 4],
          ['HOST a.test', 5],
        ].map(([key, port]) => ({ key: key as string, action: 'FORWARD' as const, to: { host: 'h', port: port as number }, toAddr: `h:${port}`, path: 'p' })),
      },
    ],
  };
  const r = compileServer(cfg, () => HTTP_KEYS);
  const portOf = (keys: string[]) => r.route(r.protocols[0]!, keys).to?.port ?? 0;
  it.each([
    ['PATH /api', 1],
    ['PATH /api/', 1],
    ['PATH /api/users/7', 1],
    ['PATH /apix', 3],
    ['PATH /api/v2', 2],
    ['PATH /api/v2/x/y', 2],
    ['PATH /api/v20', 1],
    ['PATH /static/img/a.png', 4],
    ['PATH /static/imgs', 3],
    ['PATH /', 3],
    ['PATH *', 0],
  ] as [string, number][])('%s → rule %i (longest prefix ending at a slash)', (key, port) => {
    expect(portOf([key])).toBe(port);
  });
  it('key order still decides between names', () => {
    expect(portOf(['HOST a.test', 'PATH /api'])).toBe(5);
    expect(portOf(['HOST b.test', 'PATH /api'])).toBe(1);
  });
});
