// Config file → validated Config. The shape is ajv's job (schema.ts); this file adds what a schema
// cannot say well (host:port, rule keys, FORWARD needs to_addr) and builds the model. Both passes run to
// the end so that one ConfigError lists every problem in the file.
import { readFile } from 'node:fs/promises';
import { parseDuration } from '../duration.js';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { splitListenScheme } from '../udp/address.js';
import { parseHostPort } from './address.js';
import { findJsonSyntaxError } from './json-syntax.js';
import {
  CATCHALL,
  CONFIG_VERSION,
  type Action,
  type Config,
  type HostPort,
  type ProtocolConfig,
  type ProxyVersion,
  type RuleConfig,
  type ServerConfig,
  type ServerOptions,
  SERVER_OPTIONS_KEY,
} from './model.js';
import { formatPath, type PathSegment } from './path.js';
import { asciiLower, checkShape, EXTRA_FIELD, FIELD, OPTION } from './schema.js';

export async function loadConfigFile(file: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `cannot read config: ${(err as Error).message}` }]);
  }
  return parseConfig(text, file);
}

/** Throws ConfigError listing every problem; warnings of an accepted config are in `Config.warnings`. */
export function parseConfig(text: string, file: string): Config {
  // Editors on Windows like to add a BOM; it carries no meaning, so accepting it costs nothing.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    const where = findJsonSyntaxError(text);
    const message = where
      ? `invalid JSON at line ${where.line}, column ${where.column}: ${where.message}`
      : `invalid JSON: ${(err as Error).message}`;
    throw new ConfigError(file, [{ path: '', message }]);
  }

  const shape = checkShape(data);
  const b = new Builder(shape.errors, shape.warnings);
  const config = b.build(data, file);
  const byPosition = inDocumentOrder(data);
  if (b.errors.length > 0 || !config) throw new ConfigError(file, byPosition(b.errors));
  config.warnings = byPosition(config.warnings);
  return config;
}

/**
 * Two passes find the issues, so they come out grouped by pass; a reader wants them in file order.
 * An issue about something absent (a missing to_addr) sorts with its closest present ancestor.
 */
function inDocumentOrder(data: unknown): (issues: ConfigIssue[]) => ConfigIssue[] {
  const order = new Map<string, number>();
  const walk = (v: unknown, at: PathSegment[]): void => {
    order.set(formatPath(at), order.size);
    for (const [k, child] of entries(v)) walk(child, [...at, k]);
  };
  walk(data, []);
  const rank = (path: string): number => {
    let best = 0;
    let bestLength = -1;
    for (const [p, n] of order) {
      const next = path[p.length];
      const isAncestor = path.startsWith(p) && (next === undefined || next === '.' || next === '[' || p === '');
      if (isAncestor && p.length > bestLength) [best, bestLength] = [n, p.length];
    }
    return best;
  };
  return (issues) =>
    issues
      .map((issue, i) => ({ issue, i, r: rank(issue.path) }))
      .sort((a, b) => a.r - b.r || a.i - b.i)
      .map((x) => x.issue);
}

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Own entries of a JSON object in file order; null (Go's "leave it empty") reads as none. */
function entries(v: unknown): [string, unknown][] {
  return isObject(v) ? Object.entries(v) : [];
}

class Builder {
  constructor(
    readonly errors: ConfigIssue[],
    readonly warnings: ConfigIssue[],
  ) {}

  private error(path: PathSegment[], message: string): void {
    this.errors.push({ path: formatPath(path), message });
  }

  private warn(path: PathSegment[], message: string): void {
    this.warnings.push({ path: formatPath(path), message });
  }

  /**
   * The value of fixed field `name` in `obj`, matched in any ASCII case as Go does. Go assigns each
   * matching key in turn, so with `action` and `Action` both present the last one in the file wins.
   */
  private field(obj: Obj, at: PathSegment[], name: string): { key: string; value: unknown } | undefined {
    let found: { key: string; value: unknown } | undefined;
    for (const [key, value] of Object.entries(obj)) {
      if (asciiLower(key) !== name) continue;
      if (found) this.warn([...at, found.key], `${JSON.stringify(found.key)} and ${JSON.stringify(key)} are the same field; the last one wins`);
      found = { key, value };
    }
    return found;
  }

  build(data: unknown, file: string): Config | undefined {
    if (!isObject(data)) return undefined; // checkShape has said why

    const version = this.field(data, [], FIELD.version);
    if (!version) this.error([FIELD.version], `missing (expected ${JSON.stringify(CONFIG_VERSION)})`);

    const servers = this.field(data, [], FIELD.servers);
    const serversKey = servers?.key ?? FIELD.servers;
    if (!servers || servers.value === null || (isObject(servers.value) && Object.keys(servers.value).length === 0)) {
      this.error([serversKey], 'no servers: nothing to listen on');
    }

    const out: ServerConfig[] = [];
    const listening = new Map<string, string>();
    for (const [address, section] of entries(servers?.value)) {
      const path: PathSegment[] = [serversKey, address];
      const listen = this.listenAddress(address, path);
      // TCP and UDP ports are separate: `:443` and `udp://:443` (HTTPS and QUIC) may share a number.
      const udp = splitListenScheme(address).udp;
      if (listen) {
        const id = `${udp ? 'udp ' : ''}${asciiLower(listen.host)} ${listen.port}`;
        const earlier = listening.get(id);
        // port 0 is a fresh port each time, so only fixed ports can collide.
        if (earlier !== undefined && listen.port !== 0) this.error(path, `listens on the same address as ${earlier}`);
        listening.set(id, formatPath(path));
      }
      if (section === null || (isObject(section) && Object.keys(section).length === 0)) {
        this.warn(path, 'no protocols: every connection is rejected');
      }
      const protocols: ProtocolConfig[] = [];
      let options: ServerOptions = { acceptProxy: false };
      for (const [name, rules] of entries(section)) {
        if (name === SERVER_OPTIONS_KEY) options = this.options(rules, [...path, name]);
        else protocols.push(this.protocol(name, rules, [...path, name]));
      }
      if (listen) out.push({ address, listen, protocols, options, path: formatPath(path), ...(udp ? { udp } : {}) });
    }

    if (this.errors.length > 0 || !version) return undefined;
    return { file, version: version.value as string, servers: out, warnings: this.warnings };
  }

  private listenAddress(address: string, path: PathSegment[]): HostPort | undefined {
    const { udp, hostPort } = splitListenScheme(address);
    const r = parseHostPort(hostPort, { allowEmptyHost: true, allowPortZero: true });
    if (!r.ok) {
      this.error(path, `listen address ${JSON.stringify(address)} is not ${udp ? 'udp://host:port' : 'host:port'}: ${r.reason}`);
      return undefined;
    }
    if (r.value.port === 0) this.warn(path, 'port 0: the system picks a different free port at each start');
    return r.value;
  }

  /** A server's `options` object; the schema has checked each field's kind and range. */
  private options(body: unknown, path: PathSegment[]): ServerOptions {
    const out: ServerOptions = { acceptProxy: false };
    if (!isObject(body)) return out;
    const value = (name: string) => this.field(body, path, name);
    const duration = (name: string, positive: boolean): number | undefined => {
      const f = value(name);
      if (typeof f?.value !== 'string') return undefined;
      try {
        const ms = parseDuration(f.value, name);
        if (ms < 0 || (positive && ms === 0)) throw new Error(`${name} ${JSON.stringify(f.value)} must be ${positive ? 'greater than zero' : 'zero or more'}`);
        return ms;
      } catch (err) {
        this.error([...path, f.key], (err as Error).message);
        return undefined;
      }
    };
    const int = (name: string): number | undefined => {
      const v = value(name)?.value;
      return typeof v === 'number' ? v : undefined;
    };
    out.acceptProxy = value(OPTION.acceptProxy)?.value === true;
    const set = <K extends keyof ServerOptions>(k: K, v: ServerOptions[K] | undefined) => {
      if (v !== undefined) out[k] = v;
    };
    set('maxConnections', int(OPTION.maxConnections));
    set('window', int(OPTION.window));
    set('connectTimeoutMs', duration(OPTION.connectTimeout, true));
    set('detectTimeoutMs', duration(OPTION.detectTimeout, true));
    set('idleTimeoutMs', duration(OPTION.idleTimeout, false));
    set('backendCooldownMs', duration(OPTION.backendCooldown, false));
    return out;
  }

  private protocol(name: string, rules: unknown, path: PathSegment[]): ProtocolConfig {
    const out: RuleConfig[] = [];
    for (const [key, body] of entries(rules)) {
      const rulePath = [...path, key];
      if (name === CATCHALL && key !== CATCHALL) {
        this.error(rulePath, `only the rule "CATCHALL" is allowed under the CATCHALL protocol`);
      } else if (key !== CATCHALL && !key.includes(' ')) {
        this.warn(rulePath, `rule key ${JSON.stringify(key)} is neither CATCHALL nor "NAME value": no detector reports it, so it never matches`);
      }
      const rule = this.rule(key, body, rulePath);
      if (rule) out.push(rule);
    }
    return { name, rules: out, path: formatPath(path) };
  }

  private rule(key: string, body: unknown, path: PathSegment[]): RuleConfig | undefined {
    if (body !== null && !isObject(body)) return undefined; // checkShape has said why
    const obj = body ?? {};
    const actionField = this.field(obj, path, FIELD.action);
    const toField = this.field(obj, path, FIELD.toAddr);
    const proxyField = this.field(obj, path, EXTRA_FIELD.sendProxy);
    const rawTo = toField?.value ?? null;
    const listed = Array.isArray(rawTo);
    if (rawTo !== null && typeof rawTo !== 'string' && !(listed && rawTo.every((t) => typeof t === 'string'))) return undefined; // checkShape has said why
    // A list is Passthru's own; a string (the original's form) is a list of one.
    const texts: string[] = listed ? (rawTo as string[]) : rawTo === null || rawTo === '' ? [] : [rawTo as string];

    let action: Action;
    const raw = actionField?.value ?? null;
    if (raw === null) {
      this.warn(path, 'no action: REJECT assumed (as the original does)');
      action = 'REJECT';
    } else if (raw === 'FORWARD' || raw === 'REJECT') {
      action = raw;
    } else {
      return undefined; // checkShape has reported the unknown action
    }

    const rulePath = formatPath(path);
    if (action === 'REJECT') {
      if (texts.length > 0) this.warn([...path, toField!.key], 'to_addr is ignored: the action is REJECT');
      if (typeof proxyField?.value === 'string') this.warn([...path, proxyField.key], 'send_proxy is ignored: the action is REJECT');
      return { key, action, path: rulePath };
    }
    if (texts.length === 0) {
      // Go leaves an absent, null or "" to_addr as "" alike; none can be dialled.
      this.error([...path, toField?.key ?? FIELD.toAddr], 'FORWARD needs to_addr (host:port)');
      return undefined;
    }
    const toAddrs: HostPort[] = [];
    texts.forEach((text, i) => {
      const at = listed ? [...path, toField!.key, i] : [...path, toField!.key];
      const to = parseHostPort(text, { allowEmptyHost: true, allowPortZero: false });
      if (!to.ok) this.error(at, `to_addr ${JSON.stringify(text)} is not host:port: ${to.reason}`);
      // Go dials `:80` on the local system.
      else toAddrs.push({ host: to.value.host === '' ? 'localhost' : to.value.host, port: to.value.port });
    });
    if (toAddrs.length < texts.length) return undefined;
    const rule: RuleConfig = { key, action, to: toAddrs[0], toAddrs, toAddr: texts.join(','), path: rulePath };
    if (typeof proxyField?.value === 'string') rule.sendProxy = proxyField.value as ProxyVersion;
    return rule;
  }
}
