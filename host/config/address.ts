// `host:port` as Go's net.SplitHostPort reads it, restricted to what can actually work here:
// Node cannot look up service names (`:https`), so ports are decimal only.
import { isIPv6 } from 'node:net';
import type { HostPort } from './model.js';

export interface HostPortOptions {
  /** `:8443` — for a listener it means every interface (Go's meaning). */
  allowEmptyHost: boolean;
  /** Port 0 lets the OS pick; useful for listeners in tests, never for a backend. */
  allowPortZero: boolean;
}

export type HostPortResult = { ok: true; value: HostPort } | { ok: false; reason: string };

// Labels of letters, digits, `-` and `_` (the latter appears in real internal names), one trailing dot allowed.
const HOST_NAME = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/;

export function parseHostPort(text: string, opts: HostPortOptions): HostPortResult {
  const fail = (reason: string): HostPortResult => ({ ok: false, reason });
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return fail('missing "]" after an IPv6 address');
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (!rest.startsWith(':')) return fail(rest === '' ? 'missing port' : `unexpected ${JSON.stringify(rest)} after "]"`);
    portText = rest.slice(1);
    // A zone (`fe80::1%eth0`) is legal in Go and Node alike.
    const zone = host.indexOf('%');
    const bare = zone < 0 ? host : host.slice(0, zone);
    if (!isIPv6(bare) || zone === host.length - 1) return fail(`${JSON.stringify(host)} is not an IPv6 address`);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return fail('missing port');
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) return fail('an IPv6 address needs brackets: [::1]:443');
    if (host.includes('[') || host.includes(']')) return fail('misplaced "[" or "]"');
    if (host === '') {
      if (!opts.allowEmptyHost) return fail('missing host');
    } else if (!HOST_NAME.test(host)) {
      return fail(`${JSON.stringify(host)} is not a valid host name or IP address`);
    }
  }
  if (portText === '') return fail('missing port');
  if (!/^[0-9]+$/.test(portText)) return fail(`port ${JSON.stringify(portText)} is not a decimal number`);
  const port = Number(portText);
  if (port > 65535) return fail(`port ${portText} is out of range (1-65535)`);
  if (port === 0 && !opts.allowPortZero) return fail('port 0 is not a usable port (1-65535)');
  return { ok: true, value: { host, port } };
}

/** The inverse of parseHostPort, bracketing IPv6 hosts. */
export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}
