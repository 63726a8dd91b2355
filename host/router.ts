// Picks the rule for a connection. Rules are compiled once per config so that a lookup is a few
// map hits: the detector's keys in order, for each the exact rule then the most specific wildcard,
// then the protocol's CATCHALL rule, then the CATCHALL protocol, else REJECT.
import { BackendPool } from './backend-pool.js';
import { CATCHALL, type Action, type HostPort, type ProxyVersion, type ServerConfig } from './config/model.js';
import type { KeyKind } from './plugin/metadata.js';

export { CATCHALL };

export interface Route {
  action: Action;
  /** Backend for FORWARD. */
  to?: HostPort;
  /** `to_addr` as written, for logs. */
  toAddr?: string;
  /** Present when to_addr lists several backends: which to dial first, and which to try after a refusal. */
  pool?: BackendPool;
  /** PROXY header version to send to the backend. */
  sendProxy?: ProxyVersion;
  /** Protocol section that supplied the rule (`CATCHALL` for the fallback protocol, '' when none). */
  protocol: string;
  /** Rule key as written in the config. */
  rule: string;
}

/** How a rule was chosen (filled in only when a caller asks, e.g. `passthru explain`). */
export interface RouteReason {
  /** `exact`/`wildcard`/`prefix`: by `key`; `catchall`: the protocol's CATCHALL rule; `fallback`: the server's. */
  kind: 'exact' | 'wildcard' | 'prefix' | 'catchall' | 'fallback';
  /** The detector's key that matched, as reported. */
  key?: string;
}

/** Applies when nothing in the config does: the original closes such connections. */
export const IMPLICIT_REJECT: Route = Object.freeze({ action: 'REJECT', protocol: '', rule: '(no rule)' });

/** Lower-case ASCII and one trailing dot removed: DNS names compare case-insensitively. */
export function normalizeHostname(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * A path rule's prefix without its trailing slash (`/api/` and `/api` are the same rule), so that a
 * lookup can cut the value at each `/` and find it; the root stays `/`.
 */
export function normalizePathPrefix(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/** The rules of one protocol section of one server. */
export class ProtocolRoutes {
  private readonly exact = new Map<string, Route>();
  /** `NAME .suffix` → rule of `NAME *.suffix`. */
  private readonly wildcard = new Map<string, Route>();
  /** `NAME /prefix` → rule of a `prefix`-kind key. */
  private readonly prefix = new Map<string, Route>();
  catchall: Route | undefined;

  constructor(
    readonly protocol: string,
    private readonly keyKinds: Readonly<Record<string, KeyKind>> | undefined,
  ) {}

  /** Adds a rule; of two rules for the same host name in different case, the first stays (check-protocols.ts warns). */
  add(key: string, route: Route): void {
    if (key === CATCHALL) {
      this.catchall = route;
      return;
    }
    const space = key.indexOf(' ');
    if (space < 0) {
      this.exact.set(key, route);
      return;
    }
    const name = key.slice(0, space);
    let value = key.slice(space + 1);
    let table = this.exact;
    const kind = this.keyKinds?.[name];
    if (kind === 'prefix') {
      table = this.prefix;
      value = normalizePathPrefix(value);
    } else if (kind === 'hostname') {
      value = normalizeHostname(value);
      if (value.startsWith('*.') && value.length > 2) {
        table = this.wildcard;
        value = value.slice(1);
      }
    }
    const compiled = `${name} ${value}`;
    if (!table.has(compiled)) table.set(compiled, route);
  }

  /**
   * The rule for the first key that has one, or undefined (then CATCHALL rules apply). `why`, when
   * given, is told which key matched and how; the proxy passes none and allocates nothing for it.
   */
  lookup(keys: readonly string[], why?: RouteReason): Route | undefined {
    for (const key of keys) {
      const space = key.indexOf(' ');
      let r: Route | undefined;
      let how: RouteReason['kind'] = 'exact';
      if (space < 0) {
        r = this.exact.get(key);
      } else {
        const name = key.slice(0, space);
        const kind = this.keyKinds?.[name];
        if (kind === 'prefix') {
          r = this.lookupPrefix(key, space);
          how = 'prefix';
        } else if (kind !== 'hostname') {
          r = this.exact.get(key);
        } else {
          const raw = key.slice(space + 1);
          const value = normalizeHostname(raw);
          const prefix = key.slice(0, space + 1);
          // Detectors usually report names already normalized: then the key itself is the map key.
          r = this.exact.get(value === raw ? key : prefix + value);
          // Longest suffix first: the most specific wildcard wins. A dot at index 0 is not a label boundary.
          if (!r && this.wildcard.size > 0) {
            for (let dot = value.indexOf('.', 1); dot > 0 && !r; dot = value.indexOf('.', dot + 1)) {
              r = this.wildcard.get(prefix + value.slice(dot));
              how = 'wildcard';
            }
          }
        }
      }
      if (r) {
        if (why) {
          why.kind = how;
          why.key = key;
        }
        return r;
      }
    }
    return undefined;
  }

  /** The longest rule that is the whole value or a part of it ending before a `/`; `/` last. */
  private lookupPrefix(key: string, space: number): Route | undefined {
    if (this.prefix.size === 0) return undefined;
    const whole = this.prefix.get(key);
    if (whole) return whole;
    for (let slash = key.lastIndexOf('/'); slash > space + 1; slash = key.lastIndexOf('/', slash - 1)) {
      const r = this.prefix.get(key.slice(0, slash));
      if (r) return r;
    }
    return key.charCodeAt(space + 1) === 0x2f ? this.prefix.get(key.slice(0, space + 2)) : undefined;
  }
}

/** Routing for one listening server. */
export class ServerRouter {
  /** Detection order: the config's protocol sections except CATCHALL, in file order. */
  readonly protocols: ProtocolRoutes[] = [];
  /** The CATCHALL protocol's rule, or REJECT when the config has none. */
  fallback: Route = IMPLICIT_REJECT;

  /** The rule for a connection the detector of `p` matched with `keys`; `why` as for lookup(). */
  route(p: ProtocolRoutes, keys: readonly string[], why?: RouteReason): Route {
    const r = p.lookup(keys, why);
    if (r) return r;
    if (why) {
      why.kind = p.catchall ? 'catchall' : 'fallback';
      delete why.key;
    }
    return p.catchall ?? this.fallback;
  }
}

export function compileServer(
  server: ServerConfig,
  keyKindsOf: (protocol: string) => Readonly<Record<string, KeyKind>> | undefined,
): ServerRouter {
  const router = new ServerRouter();
  const cooldownMs = server.options?.backendCooldownMs;
  for (const section of server.protocols) {
    if (section.name === CATCHALL) {
      const rule = section.rules.find((r) => r.key === CATCHALL);
      if (rule) router.fallback = toRoute(CATCHALL, rule, cooldownMs);
      continue;
    }
    const routes = new ProtocolRoutes(section.name, keyKindsOf(section.name));
    for (const rule of section.rules) routes.add(rule.key, toRoute(section.name, rule, cooldownMs));
    router.protocols.push(routes);
  }
  return router;
}

function toRoute(protocol: string, rule: ServerConfig['protocols'][number]['rules'][number], cooldownMs: number | undefined): Route {
  const route: Route = { action: rule.action, protocol, rule: rule.key };
  if (rule.action === 'FORWARD' && rule.to) {
    route.to = rule.to;
    if (rule.toAddr !== undefined) route.toAddr = rule.toAddr;
    if (rule.toAddrs && rule.toAddrs.length > 1) route.pool = new BackendPool(rule.toAddrs, cooldownMs);
    if (rule.sendProxy) route.sendProxy = rule.sendProxy;
  }
  return route;
}
