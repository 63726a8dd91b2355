import { describe, expect, it } from 'vitest';
import { checkProtocols } from '../../host/config/check-protocols.js';
import { parseConfig } from '../../host/config/load.js';

const tls = { protocol: 'TLS', keys: { SNI: 'hostname', ALPN: 'exact' } };

const config = (server: unknown) => parseConfig(JSON.stringify({ version: 'v0.2.0', servers: { '127.0.0.1:443': server } }), 'x.json');

describe('checkProtocols', () => {
  it('accepts the protocols loaded detectors provide, and ignores the CATCHALL protocol', () => {
    const c = config({ TLS: { 'SNI a.test': { action: 'REJECT' }, 'ALPN h2': { action: 'REJECT' } }, CATCHALL: { CATCHALL: { action: 'REJECT' } } });
    expect(checkProtocols(c, [tls])).toEqual({ errors: [], warnings: [] });
  });

  it('is an error, naming the path, when no detector provides a protocol', () => {
    const c = config({ TLS: {}, SSH: { CATCHALL: { action: 'REJECT' } } });
    expect(checkProtocols(c, [tls, { protocol: 'HTTP' }]).errors).toEqual([
      { path: 'servers["127.0.0.1:443"].SSH', message: 'no detector provides protocol SSH; loaded: TLS, HTTP' },
    ]);
    expect(checkProtocols(config({ SSH: {} }), [tls]).errors[0]!.message).toBe('no detector provides protocol SSH; loaded: TLS');
    expect(checkProtocols(config({ SSH: {} }), []).errors[0]!.message).toBe('no detector provides protocol SSH; loaded: none');
  });

  it('warns, naming the path, about a rule key name the detector does not declare', () => {
    const c = config({ TLS: { 'FOO x': { action: 'REJECT' }, 'SNI ': { action: 'REJECT' }, 'ALPN ': { action: 'REJECT' } } });
    const { errors, warnings } = checkProtocols(c, [tls]);
    expect(errors).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.path).toBe('servers["127.0.0.1:443"].TLS["FOO x"]');
    expect(warnings[0]!.message).toMatch(/never reports key "FOO"/);
  });

  it('does not warn when the detector declares no keys', () => {
    const c = config({ TLS: { 'FOO x': { action: 'REJECT' } } });
    expect(checkProtocols(c, [{ protocol: 'TLS' }])).toEqual({ errors: [], warnings: [] });
  });

  it('warns about host-name rules that differ only in case or a trailing dot; the first wins', () => {
    const c = config({
      TLS: {
        'SNI A.test': { action: 'REJECT' },
        'SNI a.test.': { action: 'REJECT' },
        'ALPN H2': { action: 'REJECT' },
        'ALPN h2': { action: 'REJECT' },
      },
    });
    const { warnings } = checkProtocols(c, [tls]);
    expect(warnings).toEqual([
      {
        path: 'servers["127.0.0.1:443"].TLS["SNI a.test."]',
        message: 'same host name as servers["127.0.0.1:443"].TLS["SNI A.test"]; the first in the file wins, this rule is ignored',
      },
    ]);
  });
});
