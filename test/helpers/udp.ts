// UDP for end-to-end tests: echo and scripted dgram backends, clients that await replies, and
// Passthru started on a udp:// config, in-process (startUdpProxy) or as a real process
// (spawnUdpPassthru, e.g. for a QUIC client test). Everything waits on events, never on sleeps.
import dgram from 'node:dgram';
import { once } from 'node:events';
import type { PassthruOptions } from '../../host/main.js';
import type { UdpListener } from '../../host/udp/udp-listener.js';
import { spawnPassthru, type LogLine, type PassthruProcess } from './cli-process.js';
import { startProxy, writeConfig, type TestProxy } from './passthru.js';

export type Family = 'udp4' | 'udp6';

export interface UdpBackend {
  port: number;
  socket: dgram.Socket;
  /** Every datagram received, in order, with its sender. */
  received: { msg: Buffer; from: string }[];
  close(): Promise<void>;
}

/**
 * A dgram server on loopback; `reply` turns each datagram into the answer (undefined: none).
 * The default echoes, prefixed with `name` when one is given, so a test can tell backends apart.
 */
export async function udpBackend(
  options: { name?: string; family?: Family; reply?: (msg: Buffer) => Buffer | undefined } = {},
): Promise<UdpBackend> {
  const family = options.family ?? 'udp4';
  const socket = dgram.createSocket(family);
  const received: UdpBackend['received'] = [];
  const prefix = options.name ? Buffer.from(`${options.name}:`) : undefined;
  const reply = options.reply ?? ((m: Buffer) => (prefix ? Buffer.concat([prefix, m]) : m));
  socket.on('message', (msg, r) => {
    received.push({ msg, from: `${r.address}:${r.port}` });
    const out = reply(msg);
    if (out) socket.send(out, r.port, r.address);
  });
  socket.bind(0, family === 'udp6' ? '::1' : '127.0.0.1');
  await once(socket, 'listening');
  return { port: socket.address().port, socket, received, close: () => new Promise((resolve) => socket.close(() => resolve())) };
}

export interface UdpClient {
  socket: dgram.Socket;
  /** The local port (the flow's identity at Passthru, with the address). */
  port: number;
  send(msg: Buffer | string, port: number): void;
  /** The next datagram received (already queued or to come). */
  next(): Promise<Buffer>;
  /** Sends `msg` and resolves with the next datagram. */
  ask(msg: Buffer | string, port: number): Promise<Buffer>;
  close(): void;
}

/** A client socket bound to `address` (default loopback of its family), port chosen by the system. */
export async function udpClient(family: Family = 'udp4', address?: string): Promise<UdpClient> {
  const socket = dgram.createSocket(family);
  const host = family === 'udp6' ? '::1' : '127.0.0.1';
  const queue: Buffer[] = [];
  const waiters: ((b: Buffer) => void)[] = [];
  socket.on('message', (m) => {
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  socket.bind(0, address ?? host);
  await once(socket, 'listening');
  const next = (): Promise<Buffer> => {
    const q = queue.shift();
    return q ? Promise.resolve(q) : new Promise((resolve) => waiters.push(resolve));
  };
  const send = (msg: Buffer | string, port: number): void => socket.send(typeof msg === 'string' ? Buffer.from(msg) : msg, port, host);
  return {
    socket,
    port: socket.address().port,
    send,
    next,
    ask(msg, port) {
      const p = next();
      send(msg, port);
      return p;
    },
    close: () => socket.close(),
  };
}

/** A one-server config: `udp://ADDRESS` with `sections` (protocol → rules). */
export function udpConfig(sections: Record<string, unknown>, address = '127.0.0.1:0'): unknown {
  return { version: 'v0.2.0', servers: { [`udp://${address}`]: sections } };
}

export interface UdpTestProxy extends TestProxy {
  /** The first UDP listener (or the one whose address as written is `address`). */
  udpListener(address?: string): UdpListener;
  /** Its bound port. */
  udpPort(address?: string): number;
  /** The next flow-end log line for which `pred` holds. */
  waitFlow(pred: (r: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
}

/** Passthru in this process on `config` (which may hold udp:// and TCP servers), logging into the returned object. */
export async function startUdpProxy(config: unknown, options: Partial<PassthruOptions> = {}): Promise<UdpTestProxy> {
  const p = await startProxy(config, options);
  const listener = (address?: string): UdpListener => {
    const l = p.running.udp.listener(address);
    if (!l) throw new Error(`no UDP listener ${address ?? ''}`);
    return l;
  };
  return Object.assign(p, {
    udpListener: listener,
    udpPort: (address?: string) => listener(address).port,
    waitFlow: (pred: (r: Record<string, unknown>) => boolean) => p.waitLog((r) => r.event === 'flow' && pred(r)),
  });
}

export interface UdpPassthruProcess extends PassthruProcess {
  /** Bound port of each UDP listener, by its address as written. */
  udpPorts: Map<string, number>;
  /** The port of the first UDP listener. */
  udpPort: number;
  waitFlow(pred: (l: LogLine) => boolean): Promise<LogLine>;
}

/**
 * `passthru -c CONFIG ARGS...` as a real process (dist/ must be built), resolved once every udp://
 * server of `config` is listening. For tests of real UDP clients (QUIC, WireGuard, DNS): start the
 * backends, pass a config naming them, point the client at `udpPort`, and `kill()` when done.
 */
export async function spawnUdpPassthru(config: unknown, args: string[] = []): Promise<UdpPassthruProcess> {
  const file = writeConfig(config);
  const proc = spawnPassthru(['-c', file, '--log-level', 'info', ...args]);
  const servers = Object.keys((config as { servers: Record<string, unknown> }).servers).filter((a) => a.toLowerCase().startsWith('udp://'));
  const lines = await proc.waitLines((l) => l.event === 'listening' && l.transport === 'udp', servers.length);
  const udpPorts = new Map(lines.map((l) => [l.listener as string, l.port as number]));
  return Object.assign(proc, {
    udpPorts,
    udpPort: lines[0]!.port as number,
    waitFlow: (pred: (l: LogLine) => boolean) => proc.waitLine((l) => l.event === 'flow' && pred(l)),
  });
}
