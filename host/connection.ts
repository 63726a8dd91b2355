// One accepted client from accept to close: sniff, decide, then forward or reject, and one log line
// when it ends.
import type { Deadlined } from './deadline-queue.js';
import type { Endpoint, EndpointEvents } from './endpoint.js';
import { Forward, type CloseReason, type ForwardResult } from './forwarder.js';
import { copyRead } from './relay.js';
import type { ServerRuntime } from './server-runtime.js';
import { Sniffer, type Decision } from './sniffer.js';

export class Connection implements Deadlined, EndpointEvents {
  deadlineAt = 0;
  deadlineNext: Deadlined | null = null;
  deadlineActive = false;

  private client!: Endpoint;
  private readonly started = performance.now();
  private readonly sniffer: Sniffer;
  private decision: Decision | undefined;
  private forward: Forward | undefined;
  private peer = '';
  private clientEof = false;
  private rejecting = false;

  constructor(
    private readonly rt: ServerRuntime,
    private readonly onEnd: (c: Connection) => void,
  ) {
    this.sniffer = new Sniffer(rt.router, rt.candidates, rt.windowCap, rt.connectionFuel);
  }

  /** Starts sniffing the accepted `client`. */
  start(client: Endpoint): void {
    this.client = client;
    // The peer address is only known while the socket is open; read it now if a line will need it.
    if (this.rt.log.isLevelEnabled('info')) this.peer = client.peer;
    client.setEvents(this);
    if (this.sniffer.decidesAtOnce) {
      this.decide(this.sniffer.immediate());
      return;
    }
    this.rt.deadlines.add(this);
    client.readStart();
  }

  /** Destroys the connection now (listener shutdown). */
  abort(): void {
    if (this.forward) this.forward.abort();
    else this.client.close(false, () => {});
  }

  onDeadline(): void {
    this.decide(this.sniffer.timeout());
  }

  // EndpointEvents of the client while it is sniffed (and rejected); the forwarder takes over after.

  read(n: number, owned: Buffer | null): boolean {
    if (this.decision) return false;
    // The window outlives this read: copy it out of the shared buffer.
    const d = this.sniffer.push(owned ?? copyRead(n));
    if (d) this.decide(d);
    // Once forwarding, the client goes on being read (the forwarder holds bytes while it dials):
    // stopping and restarting reads costs two epoll_ctl calls per connection.
    return this.decision === undefined || this.forward !== undefined;
  }

  end(): void {
    this.clientEof = true;
    if (!this.decision) this.decide(this.sniffer.end());
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

  private decide(d: Decision): void {
    this.decision = d;
    this.rt.deadlines.cancel(this);
    this.sniffer.release();
    const route = d.route;
    if (route.action === 'FORWARD' && route.to) {
      this.forward = new Forward(this.client, this.clientEof, this.sniffer.chunks, route.to, this.rt, this.rt.dial, this.onForwarded);
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
    this.finish(r.reason, r.bytesUp, r.bytesDown, r.backend, r.error, r);
  };

  private finish(reason: CloseReason | 'rejected', up: number, down: number, backend: string | undefined, error: string | undefined, r?: ForwardResult): void {
    const d = this.decision;
    const log = this.rt.log;
    const level = reason === 'backend-refused' || reason === 'backend-unreachable' || reason === 'connect-timeout' ? 'warn' : 'info';
    if (log.isLevelEnabled(level)) {
      log[level]({
        event: 'connection',
        client: this.peer || r?.client || undefined,
        listener: this.rt.address,
        protocol: d ? (d.matched ?? d.route.protocol) || undefined : undefined,
        keys: d && d.keys.length ? d.keys : undefined,
        detection: d?.reason,
        rule: d?.route.rule,
        action: d?.route.action,
        to_addr: d?.route.toAddr,
        backend,
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
