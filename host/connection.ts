// One accepted client from accept to close: sniff, decide, then forward or reject, and one log line
// when it ends.
import type net from 'node:net';
import type { Deadlined } from './deadline-queue.js';
import { Forward, type CloseReason, type ForwardResult } from './forwarder.js';
import { copyRead } from './relay.js';
import type { ServerRuntime } from './server-runtime.js';
import { Sniffer, type Decision } from './sniffer.js';

export class Connection implements Deadlined {
  deadlineAt = 0;
  deadlineNext: Deadlined | null = null;
  deadlineActive = false;

  private socket!: net.Socket;
  private fast = false;
  /** Read at accept: once the socket is closed Node no longer knows its peer. */
  private client = '';
  private readonly started = performance.now();
  private readonly sniffer: Sniffer;
  private decision: Decision | undefined;
  private forward: Forward | undefined;

  constructor(
    private readonly rt: ServerRuntime,
    private readonly onEnd: (c: Connection) => void,
  ) {
    this.sniffer = new Sniffer(rt.router, rt.candidates, rt.windowCap);
  }

  /**
   * Fast path: the client socket was created with `onread` (relay.ts) and calls this for each read.
   * Returning false stops reading until the socket is resumed.
   */
  readonly onClientRead = (n: number): boolean => {
    if (this.forward) return this.forward.clientRead(n);
    if (this.decision) return false;
    // The window outlives this read: copy it out of the shared buffer.
    this.onData(copyRead(n));
    return this.decision === undefined;
  };

  /** Starts sniffing `socket`; `fast` when its reads arrive at onClientRead, else as 'data' events. */
  start(socket: net.Socket, fast: boolean): void {
    this.socket = socket;
    this.fast = fast;
    this.client = `${socket.remoteAddress}:${socket.remotePort}`;
    if (this.sniffer.decidesAtOnce) {
      socket.pause();
      this.decide(this.sniffer.immediate());
      return;
    }
    if (!fast) socket.on('data', this.onData);
    socket.on('end', this.onClientEnd);
    socket.on('error', this.onSniffError);
    this.rt.deadlines.add(this);
  }

  /** Destroys the connection now (listener shutdown). */
  abort(): void {
    this.socket.destroy();
  }

  onDeadline(): void {
    this.decide(this.sniffer.timeout());
  }

  private readonly onData = (chunk: Buffer): void => {
    const d = this.sniffer.push(chunk);
    if (d) this.decide(d);
  };

  private readonly onClientEnd = (): void => {
    this.decide(this.sniffer.end());
  };

  private readonly onSniffError = (err: NodeJS.ErrnoException): void => {
    this.rt.deadlines.cancel(this);
    this.socket.destroy();
    this.finish(err.code === 'ECONNRESET' ? 'client-reset' : 'client-error', 0, 0, undefined, err.message);
  };

  private decide(d: Decision): void {
    if (this.decision) return;
    this.decision = d;
    this.rt.deadlines.cancel(this);
    const s = this.socket;
    s.pause();
    if (!this.fast) s.off('data', this.onData);
    s.off('end', this.onClientEnd);
    s.off('error', this.onSniffError);
    const route = d.route;
    if (route.action === 'FORWARD' && route.to) {
      this.forward = new Forward(s, this.sniffer.chunks, route.to, this.rt, this.fast, this.onForwarded);
      return;
    }
    this.reject();
  }

  /** REJECT: FIN after discarding what was read; the socket is gone once the FIN is written. */
  private reject(): void {
    const s = this.socket;
    s.on('error', () => {});
    s.end(() => s.destroy());
    s.once('close', () => this.finish('rejected', 0, 0, undefined, undefined));
  }

  private readonly onForwarded = (r: ForwardResult): void => {
    this.finish(r.reason, r.bytesUp, r.bytesDown, r.backend, r.error);
  };

  private finish(reason: CloseReason | 'rejected', up: number, down: number, backend: string | undefined, error: string | undefined): void {
    const d = this.decision;
    const log = this.rt.log;
    const level = reason === 'backend-refused' || reason === 'backend-unreachable' || reason === 'connect-timeout' ? 'warn' : 'info';
    if (log.isLevelEnabled(level)) {
      log[level]({
        event: 'connection',
        client: this.client,
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
    this.forward = undefined;
    this.onEnd(this);
  }
}
