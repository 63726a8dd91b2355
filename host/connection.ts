// One accepted client from accept to close: read a PROXY header if the listener expects one, sniff,
// decide, then forward or reject, and one log line when it ends.
import type { Deadlined } from './deadline-queue.js';
import type { Endpoint, EndpointEvents } from './endpoint.js';
import { Forward, type CloseReason, type ForwardResult } from './forwarder.js';
import type { IdleTracked } from './idle-sweep.js';
import { decodeProxyHeader, encodeProxyHeader, formatProxyAddress, ProxyParse, type ProxyEndpoints } from './proxy-protocol.js';
import { copyRead } from './relay.js';
import type { ServerRuntime } from './server-runtime.js';
import { Sniffer, type Decision } from './sniffer.js';

/** How a connection ended: the forwarder's reasons, or one of the connection's own. */
export type EndReason = CloseReason | 'rejected' | 'proxy-header';

const CONNECT_FAILURES: ReadonlySet<EndReason> = new Set(['backend-refused', 'backend-unreachable', 'connect-timeout']);

export class Connection implements Deadlined, EndpointEvents, IdleTracked {
  deadlineAt = 0;
  deadlineNext: Deadlined | null = null;
  deadlineActive = false;
  idleSeen = -1;
  idleSince = 0;

  private client!: Endpoint;
  private readonly started = performance.now();
  private readonly sniffer: Sniffer;
  private decision: Decision | undefined;
  private forward: Forward | undefined;
  private peer = '';
  private clientEof = false;
  private rejecting = false;
  /** accept_proxy: the PROXY header is still to come; what arrived of it so far. */
  private awaitingProxy: boolean;
  private proxyBytes: Buffer | undefined;
  /** The addresses the PROXY header gave (the real client), when it gave them. */
  private proxied: ProxyEndpoints | undefined;
  private via: string | undefined;

  constructor(
    private readonly rt: ServerRuntime,
    private readonly onEnd: (c: Connection) => void,
  ) {
    this.sniffer = new Sniffer(rt.router, rt.candidates, rt.windowCap, rt.connectionFuel);
    this.awaitingProxy = rt.acceptProxy;
  }

  /** Starts sniffing the accepted `client`. */
  start(client: Endpoint): void {
    this.client = client;
    // The peer address is only known while the socket is open; read it now if a line will need it.
    if (this.rt.log.isLevelEnabled('info')) this.peer = client.peer;
    client.setEvents(this);
    if (this.sniffer.decidesAtOnce && !this.awaitingProxy) {
      this.decide(this.sniffer.immediate());
      return;
    }
    this.rt.deadlines.add(this);
    client.readStart();
  }

  /** Destroys the connection now (listener shutdown). */
  abort(): void {
    if (this.forward) this.forward.shutdown();
    else this.client.close(false, () => {});
  }

  /** Bytes forwarded so far, or -1 while not forwarding (the detection deadline covers that part). */
  get activity(): number {
    const f = this.forward;
    return f && f.isConnected ? f.activity : -1;
  }

  idleTimeout(ms: number): void {
    this.forward?.idleTimeout(ms);
  }

  onDeadline(): void {
    if (this.awaitingProxy) this.proxyFailed('timeout', `no PROXY header within ${this.rt.deadlines.delayMs} ms`);
    else this.decide(this.sniffer.timeout());
  }

  // EndpointEvents of the client while it is sniffed (and rejected); the forwarder takes over after.

  read(n: number, owned: Buffer | null): boolean {
    if (this.decision) return false;
    // The window outlives this read: copy it out of the shared buffer.
    const chunk = owned ?? copyRead(n);
    const d = this.awaitingProxy ? this.readProxyHeader(chunk) : this.sniffer.push(chunk);
    if (d) this.decide(d);
    // Once forwarding, the client goes on being read (the forwarder holds bytes while it dials):
    // stopping and restarting reads costs two epoll_ctl calls per connection.
    return (this.decision === undefined && !this.rejecting) || this.forward !== undefined;
  }

  end(): void {
    this.clientEof = true;
    if (this.awaitingProxy) this.proxyFailed('eof', 'the client closed before a complete PROXY header');
    else if (!this.decision) this.decide(this.sniffer.end());
  }

  error(code: string, message: string): void {
    this.rt.deadlines.cancel(this);
    if (!this.peer) this.peer = this.client.peer;
    this.client.close(code === 'ECONNRESET', () => this.finish(code === 'ECONNRESET' ? 'client-reset' : 'client-error', 0, 0, undefined, message));
  }

  finished(): void {
    // Our FIN of a REJECT went out: nothing more to say to this client.
    if (this.rejecting) this.client.close(false, this.onRejected);
  }

  drain(): void {}
  connected(): void {}

  /** The PROXY header stage: what follows a complete header is the client's own first bytes. */
  private readProxyHeader(chunk: Buffer): Decision | undefined {
    const buf = this.proxyBytes ? Buffer.concat([this.proxyBytes, chunk]) : chunk;
    const r = decodeProxyHeader(buf);
    if (r.state === ProxyParse.NEED_MORE) {
      this.proxyBytes = buf;
      return undefined;
    }
    this.proxyBytes = undefined;
    if (r.state === ProxyParse.ERROR) {
      this.proxyFailed(r.code, r.reason);
      return undefined;
    }
    this.awaitingProxy = false;
    const h = r.header;
    if (h.source && h.destination) {
      this.proxied = { source: h.source, destination: h.destination };
      this.via = this.peer || this.client.peer;
      this.peer = formatProxyAddress(h.source);
    }
    const rest = buf.subarray(h.length);
    if (this.sniffer.decidesAtOnce) {
      if (rest.length > 0) this.sniffer.chunks.push(rest);
      return this.sniffer.immediate();
    }
    return rest.length > 0 ? this.sniffer.push(rest) : undefined;
  }

  /** A listener that requires a PROXY header got none, or a broken one: nothing the client says can be trusted. */
  private proxyFailed(code: string, reason: string): void {
    this.awaitingProxy = false;
    this.rejecting = true;
    this.rt.deadlines.cancel(this);
    this.rt.metrics?.proxyHeaderError(this.rt.address, code);
    this.rt.metrics?.connectionRefused(this.rt.address, 'proxy-header');
    if (!this.peer) this.peer = this.client.peer;
    this.client.readStop();
    this.client.close(false, () => this.finish('proxy-header', 0, 0, undefined, `PROXY header ${code}: ${reason}`));
  }

  private decide(d: Decision): void {
    this.decision = d;
    this.rt.deadlines.cancel(this);
    this.sniffer.release();
    this.rt.metrics?.decided(this.rt.address, d.reason, (performance.now() - this.started) / 1000);
    const route = d.route;
    if (route.action === 'FORWARD' && route.to) {
      const head = this.sniffer.chunks;
      // The backend learns the real client from the header: the one a load balancer sent us, else our own peer's.
      if (route.sendProxy) head.unshift(encodeProxyHeader(route.sendProxy, this.proxied ?? this.client.addresses()));
      this.forward = new Forward(this.client, this.clientEof, head, route.to, route.pool, this.rt, this.rt.dial, this.onForwarded);
      return;
    }
    // REJECT: FIN after discarding what was read; the socket is released once the FIN is out.
    this.client.readStop();
    this.rejecting = true;
    this.client.end();
  }

  private readonly onRejected = (): void => {
    this.finish('rejected', 0, 0, undefined, undefined);
  };

  private readonly onForwarded = (r: ForwardResult): void => {
    this.forward = undefined;
    if (r.failures && this.rt.metrics) for (const f of r.failures) this.rt.metrics.backendConnectFailed(this.rt.address, f.backend);
    this.finish(r.reason, r.bytesUp, r.bytesDown, r.backend, r.error, r);
  };

  private finish(reason: EndReason, up: number, down: number, backend: string | undefined, error: string | undefined, r?: ForwardResult): void {
    const d = this.decision;
    const log = this.rt.log;
    const protocol = d ? (d.matched ?? d.route.protocol) : '';
    this.rt.metrics?.connectionClosed(this.rt.address, protocol, d?.route.rule ?? '', d?.route.action ?? '', reason, up, down);
    const level = CONNECT_FAILURES.has(reason) || reason === 'proxy-header' ? 'warn' : 'info';
    if (log.isLevelEnabled(level)) {
      log[level]({
        event: 'connection',
        client: this.peer || r?.client || undefined,
        via: this.via,
        listener: this.rt.address,
        protocol: protocol || undefined,
        keys: d && d.keys.length ? d.keys : undefined,
        detection: d?.reason,
        rule: d?.route.rule,
        action: d?.route.action,
        to_addr: d?.route.toAddr,
        backend,
        backends_failed: r?.failures,
        bytes_in: this.sniffer.bytesRead,
        bytes_up: up,
        bytes_down: down,
        ms: Math.round((performance.now() - this.started) * 10) / 10,
        close: reason,
        error,
      }, reason === 'rejected' ? 'rejected' : 'closed');
    }
    this.onEnd(this);
  }
}
