// udp:// listen addresses and the transport checks: what loads, and each error with its path.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../host/config/load.js';
import { ConfigError, type ConfigIssue } from '../../host/errors.js';
import { loadAll } from '../../host/main.js';
import { createLogger } from '../../host/log.js';
import { checkTransports } from '../../host/udp/check.js';
import { splitListenScheme } from '../../host/udp/address.js';
import { writeConfig } from '../helpers/passthru.js';

const cfg = (servers: unknown) => JSON.stringify({ version: 'v0.2.0', servers });
const FWD = { action: 'FORWARD', to_addr: '127.0.0.1:1194' };

function issuesOf(fn: () => unknown): ConfigIssue[] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('udp:// listen addresses', () => {
  it('splits the scheme in any case; plain host:port stays TCP', () => {
    expect(splitListenScheme('udp://127.0.0.1:53')).toEqual({ udp: true, hostPort: '127.0.0.1:53' });
    expect(splitListenScheme('UDP://[::1]:53')).toEqual({ udp: true, hostPort: '[::1]:53' });
    expect(splitListenScheme('127.0.0.1:53')).toEqual({ udp: false, hostPort: '127.0.0.1:53' });
    expect(splitListenScheme('udp://')).toEqual({ udp: false, hostPort: 'udp://' });
  });

  it('IPv4, IPv6 and every interface; a TCP and a UDP server may share a port number', () => {
    const c = parseConfig(
      cfg({
        'udp://127.0.0.1:1194': { OPENVPN: { CATCHALL: FWD } },
        'udp://[::1]:1194': { OPENVPN: { CATCHALL: FWD } },
        'udp://:5353': { CATCHALL: { CATCHALL: FWD } },
        '127.0.0.1:1194': { OPENVPN: { CATCHALL: FWD } },
      }),
      'x.json',
    );
    expect(c.servers.map((s) => [s.address, s.listen, s.udp ?? false])).toEqual([
      ['udp://127.0.0.1:1194', { host: '127.0.0.1', port: 1194 }, true],
      ['udp://[::1]:1194', { host: '::1', port: 1194 }, true],
      ['udp://:5353', { host: '', port: 5353 }, true],
      ['127.0.0.1:1194', { host: '127.0.0.1', port: 1194 }, false],
    ]);
  });

  it('two UDP servers on one address, and a bad udp:// address, are errors naming the path', () => {
    expect(issuesOf(() => parseConfig(cfg({ 'udp://127.0.0.1:53': {}, 'udp://127.0.0.1:53 ': {} }), 'x.json'))[0]!.message).toMatch(/not udp:\/\/host:port/);
    const dup = issuesOf(() => parseConfig(cfg({ 'udp://127.0.0.1:53': {}, 'UDP://127.0.0.1:53': {} }), 'x.json'));
    expect(dup).toEqual([{ path: 'servers["UDP://127.0.0.1:53"]', message: 'listens on the same address as servers["udp://127.0.0.1:53"]' }]);
    expect(issuesOf(() => parseConfig(cfg({ 'udp://::1:53': {} }), 'x.json'))).toEqual([
      { path: 'servers["udp://::1:53"]', message: 'listen address "udp://::1:53" is not udp://host:port: an IPv6 address needs brackets: [::1]:443' },
    ]);
  });
});

describe('transports', () => {
  const detectors = [
    { protocol: 'TLS', name: 'tls' },
    { protocol: 'OPENVPN', name: 'openvpn', transports: ['stream', 'datagram'] as const },
    { protocol: 'WG', name: 'wg', transports: ['datagram'] as const },
  ];

  it('a udp:// server may name only datagram detectors, a TCP server only stream ones', () => {
    const c = parseConfig(
      cfg({
        'udp://127.0.0.1:443': { TLS: { CATCHALL: FWD }, OPENVPN: { CATCHALL: FWD }, WG: { CATCHALL: FWD } },
        '127.0.0.1:443': { TLS: { CATCHALL: FWD }, OPENVPN: { CATCHALL: FWD }, WG: { CATCHALL: FWD } },
      }),
      'x.json',
    );
    const r = checkTransports(c, detectors);
    expect(r.errors.map((e) => e.path)).toEqual(['servers["udp://127.0.0.1:443"].TLS', 'servers["127.0.0.1:443"].WG']);
    expect(r.errors[0]!.message).toMatch(/takes TCP streams only .* datagram detectors loaded: OPENVPN, WG/);
    expect(r.errors[1]!.message).toMatch(/takes UDP datagrams only: name it under a udp:\/\/host:port server/);
  });

  it('accept_proxy and send_proxy are errors on UDP; connect_timeout and idle_timeout 0 warnings', () => {
    const c = parseConfig(
      cfg({
        'udp://127.0.0.1:1194': {
          options: { accept_proxy: true, connect_timeout: '1s', idle_timeout: '0s' },
          OPENVPN: { CATCHALL: { ...FWD, send_proxy: 'v2' } },
        },
      }),
      'x.json',
    );
    const r = checkTransports(c, detectors);
    expect(r.errors.map((e) => e.path)).toEqual(['servers["udp://127.0.0.1:1194"].options.accept_proxy', 'servers["udp://127.0.0.1:1194"].OPENVPN.CATCHALL.send_proxy']);
    expect(r.warnings.map((e) => e.path)).toEqual(['servers["udp://127.0.0.1:1194"].options.connect_timeout', 'servers["udp://127.0.0.1:1194"].options.idle_timeout']);
  });

  it('with the bundled detectors: OPENVPN and DNS load under udp://, TLS is refused with its path', async () => {
    const log = createLogger('silent');
    const ok = await loadAll({ configFile: writeConfig(cfg({ 'udp://127.0.0.1:0': { OPENVPN: { CATCHALL: FWD }, DNS: { CATCHALL: FWD } } })), plugins: [] }, log);
    expect(ok.config.servers[0]!.udp).toBe(true);
    const bad = loadAll({ configFile: writeConfig(cfg({ 'udp://127.0.0.1:0': { TLS: { CATCHALL: FWD } } })), plugins: [] }, log);
    await expect(bad).rejects.toThrow(/servers\["udp:\/\/127\.0\.0\.1:0"\]\.TLS: the TLS detector \(tls\) takes TCP streams only/);
  });
});
