// The validated config the rest of the host consumes. Plain data, no behaviour or module state, so a
// reload can build a new one and swap it in.
import type { ConfigIssue } from '../errors.js';

export type Action = 'FORWARD' | 'REJECT';

/** The protocol section, and the rule, that apply when nothing else does. */
export const CATCHALL = 'CATCHALL';

/** The only config version the original defines. */
export const CONFIG_VERSION = 'v0.2.0';

export interface HostPort {
  /** Unbracketed (`::1`); may be a name, resolved when used. For a listener `''` means every interface. */
  host: string;
  /** 1–65535; a listener may have 0 (the OS picks a free port). */
  port: number;
}

/** PROXY protocol versions a rule can send to its backend (the HAProxy spec's text v1 and binary v2). */
export type ProxyVersion = 'v1' | 'v2';

/** The one key of a server that is not a protocol section: `"options": {...}` (additive, optional). */
export const SERVER_OPTIONS_KEY = 'options';

/** Per-listener settings from a server's `options` object; absent fields take the command line's value. */
export interface ServerOptions {
  /** The listener sits behind a load balancer that sends a PROXY header first; a connection without one is closed. */
  acceptProxy: boolean;
  maxConnections?: number;
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
  detectTimeoutMs?: number;
  /** Window cap in bytes. */
  window?: number;
  backendCooldownMs?: number;
}

export interface RuleConfig {
  /** As written: `CATCHALL` or `NAME value` (see splitRuleKey). */
  key: string;
  action: Action;
  /** The first backend; present exactly when action is FORWARD. */
  to?: HostPort;
  /** Every backend in file order (to_addr may be a list); present exactly when action is FORWARD. */
  toAddrs?: HostPort[];
  /** to_addr as written (a list joined with ","), for logs; present exactly when action is FORWARD. */
  toAddr?: string;
  /** A PROXY header to prepend toward the backend. */
  sendProxy?: ProxyVersion;
  /** Where the rule is in the file, e.g. `servers["127.0.0.1:443"].TLS["SNI a.test"]`. */
  path: string;
}

export interface ProtocolConfig {
  /** `TLS`, … or CATCHALL. */
  name: string;
  /** In file order. */
  rules: RuleConfig[];
  path: string;
}

export interface ServerConfig {
  /** The key in `servers`, as written. */
  address: string;
  listen: HostPort;
  /** In file order, which is detection order; the CATCHALL protocol is included under its name. */
  protocols: ProtocolConfig[];
  options: ServerOptions;
  path: string;
  /** A `udp://host:port` address: a UDP listener (host/udp/); absent or false: TCP. */
  udp?: boolean;
}

export interface Config {
  /** The file it was read from, for messages. */
  file: string;
  version: string;
  /** In file order. */
  servers: ServerConfig[];
  /** Accepted but suspicious (the original would accept it too); each names its path. */
  warnings: ConfigIssue[];
}

/**
 * `NAME value`, split on the first space as the original does. `SNI ` gives value `''` ("no SNI sent").
 * Returns undefined for CATCHALL and for a key without a space (which no detector can report).
 */
export function splitRuleKey(key: string): { name: string; value: string } | undefined {
  const space = key.indexOf(' ');
  if (space < 0) return undefined;
  return { name: key.slice(0, space), value: key.slice(space + 1) };
}
