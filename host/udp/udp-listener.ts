// One UDP listening socket per `udp://host:port` server. Each client address:port is a flow: its
// first datagram(s) go through the server's detectors (datagram-window.ts), then the flow is bound to
// its rule's backend through a connected socket of its own, so the backend's replies arrive on that
// socket and go back to the client from the listening socket. A rejected or undetected flow is
// remembered for its life, so its later datagrams cost a map lookup, not a detection.
import cluster from 'node:cluster';
import dgram from 'node:dgram';
import dns from 'node:dns';
import { isIP } from 'node:net';
import { formatHostPort } from '../config/address.js';
import type { HostPort } from '../config/model.js';
import type { Deadlined } from '../deadline-queue.js';
import { ListenError } from '../errors.js';
import type { Route } from '../router.js';
import type { Decision } from '../sniffer.js';
import { DatagramSniffer } from './datagram-window.js';
import { FlowTable, SWEEPS_PER_IDLE_TIMEOUT, type FlowEntry } from './flow-table.js';
import type { UdpRuntime } from './udp-runtime.js';

/**
 * Datagrams held for a flow between its first datagram and its backend socket being connected (the
 * sniffed ones, plus what arrives while the socket binds or the backend name resolves). A QUIC or
 * WireGuard client sends a handful before any answer; past this, UDP's own answer to congestion
 * applies: they are dropped (and counted in the flow's `dropped`).
 */
export const MAX_PENDING_DATAGRAMS = 32;
export const MAX_PENDING_BYTES = 64 * 1024;

/**
 * A refusing backend (ICMP port unreachable) is reported by the kernel on the flow socket's next
 * send or receive, whichever comes first; a send only reports it to a callback, and a callback costs
 * a nextTick per datagram. So sends carry one until the backend first answers (a dead or wrong
 * backend is found at once), and after that on every CHECK_SEND_EVERY-th datagram up (a backend
 * that died mid-flow is found within that many datagrams, or by a receive).
 */
const CHECK_SEND_EVERY = 256;

/**
 * While draining, a flow quiet for this long ends (`idle`) instead of after the full idle timeout: a
 * DNS flow that has had its answer is done, and should not hold a shutdown for 30 s; a flow still
 * moving datagrams goes on until the drain deadline.
 */
export const DRAIN_IDLE_MS = 1_000;

/** At most one "flow table full" warning per listener per second: a flood must not become a log flood. */
const REFUSED_LOG_INTERVAL_MS = 1_000;

/** How a flow ended. */
export type FlowEndReason = 'idle' | 'evicted' | 'shutdown' | 'backend-refused' | 'backend-unreachable' | 'backend-error';

const WARN_REASONS: ReadonlySet<FlowEndReason> = new Set(['backend-refused', 'backend-unreachable', 'backend-error']);

const enum FlowState {
  SNIFFING,
  /** Bound to a backend whose socket is not connected yet. */
  CONNECTING,
  FORWARDING,
  /** REJECT, or no rule: the flow's datagrams are dropped until it goes idle. */
  REJECTED,
  CLOSED,
}

/**
 * Every address a UDP socket of ours is given is already an IP literal (the listener resolves its
 * host once at start, backends are resolved per flow, clients come from the kernel): skipping
 * dgram's default lookup saves a dns.lookup and a nextTick per datagram sent.
 */
function ipLookup(address: string, family: unknown, cb: (err: Error | null, address: string, family: number) => void): void {
  // Node 20 passes the family as a number (4 or 6); its typings say an options object.
  cb(null, address, typeof family === 'number' ? family : isIP(address));
}

export class Flow implements FlowEntry, Deadlined {
  seen = 0;
  evictPrev: FlowEntry | null = null;
  evictNext: FlowEntry | null = null;
  evictable = false;
  deadlineAt = 0;
  deadlineNext: Deadlined | null = null;
  deadlineActive = false;

  state = FlowState.SNIFFING;
  decision: Decision | undefined;
  /** `host:port` of the backend chosen, once bound. */
  backend: string | undefined;
  datagramsUp = 0;
  bytesUp = 0;
  datagramsDown = 0;
  bytesDown = 0;
  /** Client datagrams not forwarded: over the pending bound, or sent to a rejected flow. */
  dropped = 0;
  readonly started = performance.now();
  private sniffer: DatagramSniffer | undefined;
  private pending: Buffer[] | undefined = [];
  private pendingBytes = 0;
  private socket: dgram.Socket | undefined;
  private backendIndex = -1;
  private route: Route | undefined;

  constructor(
    private readonly listener: UdpListener,
    readonly rt: UdpRuntime,
    readonly address: string,
    readonly port: number,
  ) {
    this.sniffer = new DatagramSniffer(rt.router, rt.candidates, rt.windowCap, rt.maxDatagrams, rt.connectionFuel);
  }

  get sniffing(): boolean {
    return this.state === FlowState.SNIFFING;
  }

  get decidesAtOnce(): boolean {
    return this.sniffer!.decidesAtOnce;
  }

  /** A datagram from the client. */
  fromClient(msg: Buffer): void {
    switch (this.state) {
      case FlowState.FORWARDING:
        this.sendUp(msg);
        return;
      case FlowState.SNIFFING: {
        this.hold(msg);
        const s = this.sniffer!;
        const d = s.decidesAtOnce ? s.immediate() : s.push(msg);
        if (d) this.decide(d);
        return;
      }
      case FlowState.CONNECTING:
        this.hold(msg);
        return;
      default:
        this.dropped++;
    }
  }

  onDeadline(): void {
    if (this.state === FlowState.SNIFFING) this.decide(this.sniffer!.timeout());
  }

  /** Ends the flow (idempotent): its backend socket is closed and the listener logs it. */
  end(reason: FlowEndReason, error?: string): void {
    if (this.state === FlowState.CLOSED) return;
    this.state = FlowState.CLOSED;
    this.rt.deadlines.cancel(this);
    this.sniffer = undefined;
    this.pending = undefined;
    const s = this.socket;
    this.socket = undefined;
    if (s) {
      try {
        s.close();
      } catch {
        // already closed by an error
      }
    }
    this.listener.flowEnded(this, reason, error);
  }

  private hold(msg: Buffer): void {
    if (!this.pending || this.pending.length >= MAX_PENDING_DATAGRAMS || this.pendingBytes + msg.length > MAX_PENDING_BYTES) {
      this.dropped++;
      return;
    }
    this.pending.push(msg);
    this.pendingBytes += msg.length;
  }

  private decide(d: Decision): void {
    this.decision = d;
    this.rt.deadlines.cancel(this);
    this.sniffer!.release();
    this.sniffer = undefined;
    this.rt.metrics?.decided(this.rt.address, d.reason, (performance.now() - this.started) / 1000);
    const route = d.route;
    if (route.action === 'FORWARD' && route.to) {
      this.state = FlowState.CONNECTING;
      this.listener.flows.unlinkEvictable(this);
      this.bind(route);
      return;
    }
    this.state = FlowState.REJECTED;
    this.dropped += this.pending?.length ?? 0;
    this.pending = undefined;
    this.listener.flows.markEvictable(this);
  }

  /** Opens the flow's socket toward its backend: the next of the rule's list, resolved if it is a name. */
  private bind(route: Route): void {
    this.route = route;
    let to: HostPort = route.to!;
    if (route.pool) {
      this.backendIndex = route.pool.first();
      to = route.pool.backends[this.backendIndex]!;
    }
    this.backend = formatHostPort(to);
    const family = isIP(to.host);
    if (family !== 0) {
      this.open(to.host, family, to.port);
      return;
    }
    dns.lookup(to.host, (err, ip, fam) => {
      if (this.state !== FlowState.CONNECTING) return;
      if (err) this.end('backend-unreachable', `cannot resolve ${to.host}: ${err.code ?? err.message}`);
      else this.open(ip, fam, to.port);
    });
  }

  private open(ip: string, family: number, port: number): void {
    let s: dgram.Socket;
    try {
      s = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', lookup: ipLookup });
    } catch (err) {
      this.end('backend-error', (err as Error).message);
      return;
    }
    this.socket = s;
    s.on('message', this.onBackendMessage);
    s.on('error', this.onBackendError);
    s.connect(port, ip, this.onConnected);
  }

  private readonly onConnected = (err?: Error): void => {
    if (err) {
      this.onBackendError(err as NodeJS.ErrnoException);
      return;
    }
    if (this.state !== FlowState.CONNECTING) return;
    this.state = FlowState.FORWARDING;
    // In arrival order: the sniffed datagrams first, then those that came while the socket connected.
    for (const msg of this.pending!) this.sendUp(msg);
    this.pending = undefined;
    this.pendingBytes = 0;
  };

  private sendUp(msg: Buffer): void {
    const n = ++this.datagramsUp;
    this.bytesUp += msg.length;
    if (this.datagramsDown === 0 || n % CHECK_SEND_EVERY === 0) this.socket!.send(msg, this.onSent);
    else this.socket!.send(msg);
  }

  private readonly onSent = (err: Error | null): void => {
    if (err && this.state === FlowState.FORWARDING) this.onBackendError(err as NodeJS.ErrnoException);
  };

  private readonly onBackendMessage = (msg: Buffer): void => {
    if (this.state !== FlowState.FORWARDING) return;
    this.seen = this.listener.flows.epoch;
    this.datagramsDown++;
    this.bytesDown += msg.length;
    this.listener.sendToClient(msg, this.port, this.address);
  };

  private readonly onBackendError = (err: NodeJS.ErrnoException): void => {
    // On a connected UDP socket, ECONNREFUSED is the backend host's ICMP port unreachable.
    if (err.code === 'ECONNREFUSED') {
      if (this.backendIndex >= 0) this.route?.pool?.failed(this.backendIndex);
      this.end('backend-refused', err.message);
    } else {
      this.end('backend-error', err.message);
    }
  };
}

export class UdpListener {
  readonly flows = new FlowTable<Flow>();
  /** Datagrams of new clients dropped because the table was full of flows that cannot be evicted. */
  refused = 0;
  /** Flows ended early to make room for a new one (oldest sniffing or rejected first). */
  evicted = 0;
  private socket: dgram.Socket | undefined;
  private bound = 0;
  private closed = false;
  /** Set while draining: new clients are refused, bound flows go on until idle or the deadline. */
  private draining = false;
  private sweepTimer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];
  private refusedLogged = -Infinity;
  private refusedSinceLog = 0;
  /** In a cluster worker that found the port held by another worker: this listener serves nothing. */
  standby = false;

  constructor(
    readonly listen: HostPort,
    private rt: UdpRuntime,
  ) {}

  get address(): string {
    return this.rt.address;
  }

  /** The port actually bound (differs from the config when it says port 0). */
  get port(): number {
    return this.bound || this.listen.port;
  }

  get openFlows(): number {
    return this.flows.size;
  }

  /** New flows use `rt`; flows already open keep the runtime they started with. */
  swap(rt: UdpRuntime): void {
    const sweepChanged = rt.idleTimeoutMs !== this.rt.idleTimeoutMs;
    this.rt = rt;
    if (sweepChanged && this.sweepTimer) {
      this.stopSweep();
      this.startSweep();
    }
  }

  async start(): Promise<void> {
    const { host, port } = this.listen;
    let targets: { ip: string; family: 4 | 6 }[];
    if (host === '') {
      // Every interface, as a TCP `:port` listener: IPv6 with IPv4 mapped, else IPv4 alone.
      targets = [{ ip: '::', family: 6 }, { ip: '0.0.0.0', family: 4 }];
    } else if (isIP(host)) {
      targets = [{ ip: host, family: isIP(host) as 4 | 6 }];
    } else {
      try {
        const r = await dns.promises.lookup(host);
        targets = [{ ip: r.address, family: r.family as 4 | 6 }];
      } catch (err) {
        throw new ListenError(this.address, `cannot resolve ${host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    let last: NodeJS.ErrnoException | undefined;
    for (const t of targets) {
      try {
        this.socket = await this.bind(t.ip, t.family, port);
        last = undefined;
        break;
      } catch (err) {
        last = err as NodeJS.ErrnoException;
        // Only a missing IPv6 stack is worth the IPv4 fallback; a port in use is in use on both.
        if (last.code !== 'EAFNOSUPPORT' && last.code !== 'EADDRNOTAVAIL') break;
      }
    }
    if (last) {
      // Node 20's dgram has no reusePort, and a socket shared by cluster workers would hand one flow's
      // datagrams to several workers: one worker binds the port alone, the others stand by.
      if (cluster.isWorker && last.code === 'EADDRINUSE' && port !== 0) {
        this.standby = true;
        this.rt.log.info({ event: 'udp-standby', transport: 'udp', listener: this.address, pid: process.pid }, `${this.address} is served by another worker`);
        return;
      }
      throw new ListenError(this.address, last.code ? `${last.code} (${last.message})` : last.message, { cause: last });
    }
    this.bound = this.socket!.address().port;
    this.socket!.on('message', this.onMessage);
    this.socket!.on('error', (err) => this.rt.log.error({ err, listener: this.address }, 'UDP listener error'));
    this.startSweep();
  }

  private bind(ip: string, family: 4 | 6, port: number): Promise<dgram.Socket> {
    return new Promise((resolve, reject) => {
      let s: dgram.Socket;
      try {
        s = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', ipv6Only: false, lookup: ipLookup });
      } catch (err) {
        reject(err);
        return;
      }
      const onError = (err: Error): void => {
        s.close();
        reject(err);
      };
      s.once('error', onError);
      s.bind({ address: ip, port, exclusive: true }, () => {
        s.off('error', onError);
        resolve(s);
      });
    });
  }

  /** Resolves once every flow open now has ended. */
  whenIdle(): Promise<void> {
    if (this.flows.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Refuses new clients while the flows already bound go on; after `timeoutMs` (or once every flow has
   * gone idle) closes the socket and ends the rest. Returns how many flows were ended at the deadline.
   */
  async drain(timeoutMs: number): Promise<number> {
    this.draining = true;
    // Epochs are passes of the sweep: a faster sweep ages every flow on the drain's shorter clock.
    if (this.sweepTimer && this.rt.idleTimeoutMs > DRAIN_IDLE_MS) {
      this.stopSweep();
      this.startSweep(DRAIN_IDLE_MS);
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([this.whenIdle(), deadline]);
    clearTimeout(timer);
    const left = this.flows.size;
    await this.stop();
    return left;
  }

  /** Closes the socket and ends every flow (`shutdown`): without the listening socket no flow can hear its client. */
  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopSweep();
    const s = this.socket;
    this.socket = undefined;
    for (const f of [...this.flows]) f.end('shutdown');
    this.rt.deadlines.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** A reply from a flow's backend, to its client. */
  sendToClient(msg: Buffer, port: number, address: string): void {
    this.socket?.send(msg, port, address);
  }

  private readonly onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    let f = this.flows.get(rinfo.address, rinfo.port);
    if (f === undefined) {
      f = this.newFlow(rinfo.address, rinfo.port);
      if (f === undefined) return;
    } else {
      f.seen = this.flows.epoch;
    }
    f.fromClient(msg);
  };

  private newFlow(address: string, port: number): Flow | undefined {
    const rt = this.rt;
    if (this.draining) {
      rt.metrics?.connectionRefused(rt.address, 'draining');
      return undefined;
    }
    if (this.flows.size >= rt.maxFlows) {
      const victim = this.flows.oldestEvictable();
      if (victim) {
        this.evicted++;
        (victim as Flow).end('evicted');
      } else {
        this.refused++;
        rt.metrics?.connectionRefused(rt.address, 'max-connections');
        this.logRefused(rt);
        return undefined;
      }
    }
    const f = new Flow(this, rt, address, port);
    this.flows.add(f);
    rt.metrics?.connectionAccepted(rt.address);
    if (!f.decidesAtOnce) {
      this.flows.markEvictable(f);
      rt.deadlines.add(f);
    }
    return f;
  }

  /** Called by a flow once, when it ends. */
  flowEnded(f: Flow, reason: FlowEndReason, error: string | undefined): void {
    this.flows.delete(f);
    const rt = f.rt;
    const d = f.decision;
    const protocol = d ? (d.matched ?? d.route.protocol) : '';
    rt.metrics?.connectionClosed(rt.address, protocol, d?.route.rule ?? '', d?.route.action ?? '', reason, f.bytesUp, f.bytesDown);
    const level = WARN_REASONS.has(reason) ? 'warn' : 'info';
    const log = rt.log;
    if (log.isLevelEnabled(level)) {
      log[level](
        {
          event: 'flow',
          transport: 'udp',
          client: formatHostPort({ host: f.address, port: f.port }),
          listener: rt.address,
          protocol: protocol || undefined,
          keys: d && d.keys.length ? d.keys : undefined,
          detection: d?.reason,
          rule: d?.route.rule,
          action: d?.route.action,
          to_addr: d?.route.toAddr,
          backend: f.backend,
          datagrams_up: f.datagramsUp,
          bytes_up: f.bytesUp,
          datagrams_down: f.datagramsDown,
          bytes_down: f.bytesDown,
          dropped: f.dropped || undefined,
          ms: Math.round((performance.now() - f.started) * 10) / 10,
          close: reason,
          error,
        },
        'flow ended',
      );
    }
    if (this.flows.size === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private startSweep(ms = this.rt.idleTimeoutMs): void {
    this.sweepTimer = setInterval(this.sweep, Math.max(1, ms / SWEEPS_PER_IDLE_TIMEOUT));
    this.sweepTimer.unref();
  }

  private stopSweep(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  private readonly sweep = (): void => {
    // A sniffing flow has the detection deadline; once decided it ages like the others.
    for (const f of this.flows.sweep(SWEEPS_PER_IDLE_TIMEOUT)) if (!f.sniffing) f.end('idle');
  };

  private logRefused(rt: UdpRuntime): void {
    this.refusedSinceLog++;
    const now = performance.now();
    if (now - this.refusedLogged < REFUSED_LOG_INTERVAL_MS) return;
    rt.log.warn(
      { event: 'refused', transport: 'udp', listener: rt.address, reason: 'max-flows', max_flows: rt.maxFlows, refused: this.refusedSinceLog },
      `dropped ${this.refusedSinceLog} datagram(s) of new clients: ${rt.maxFlows} flows open`,
    );
    this.refusedLogged = now;
    this.refusedSinceLog = 0;
  }
}
