// Endpoints on Node's own TCP handles, below net.Socket: accept, read into the shared buffer,
// write, shutdown, close, with no stream machinery. Measured on this machine (FACTS.md): ~40 % less
// CPU per connection and ~40 % less memory per idle connection than the best net.Socket path.
//
// The handles come from `process.binding('tcp_wrap')` and `process.binding('stream_wrap')`:
// undocumented and outside semver (DEP0111 is documentation-only; nothing is printed). Verified on
// Node 20.20. `rawTcpAvailable()` checks the shape at start and a loopback self-test
// (`rawSelfTest`) proves a byte-exact round trip before the listener uses it; otherwise the host
// falls back to net.Socket (endpoint.ts).
import { lookup } from 'node:dns';
import net from 'node:net';
import { getSystemErrorName } from 'node:util';
import type { HostPort } from './config/model.js';
import type { Endpoint, EndpointEvents } from './endpoint.js';
import type { ProxyEndpoints } from './proxy-protocol.js';
import { copyRead, READ_BUFFER, writeDirect } from './relay.js';

interface StreamReq {
  handle: TcpHandle;
  oncomplete: (status: number) => void;
  async?: boolean;
  buffer?: Buffer;
  address?: string;
  port?: number;
}

export interface TcpHandle {
  fd: number;
  onread: (this: TcpHandle, buf?: ArrayBuffer) => void;
  useUserBuffer(buf: Uint8Array): void;
  readStart(): number;
  readStop(): number;
  writeBuffer(req: StreamReq, buf: Buffer): number;
  shutdown(req: StreamReq): number;
  close(cb?: () => void): void;
  reset(cb?: () => void): number;
  setNoDelay(on: boolean): number;
  getpeername(out: { address?: string; port?: number }): number;
  getsockname(out: { address?: string; port?: number }): number;
  connect(req: StreamReq, address: string, port: number): number;
  connect6(req: StreamReq, address: string, port: number): number;
}

interface Bindings {
  TCP: new (type: number) => TcpHandle;
  TCPConnectWrap: new () => StreamReq;
  SOCKET: number;
  WriteWrap: new () => StreamReq;
  ShutdownWrap: new () => StreamReq;
  state: Int32Array;
  kReadBytesOrError: number;
  kLastWriteWasAsync: number;
  UV_EOF: number;
}

let bindings: Bindings | null | undefined;

/** The internal bindings, or null when this Node lacks any part the raw path uses. */
function getBindings(): Bindings | null {
  if (bindings !== undefined) return bindings;
  bindings = null;
  try {
    const binding = (process as unknown as { binding(name: string): Record<string, unknown> }).binding;
    const tcp = binding('tcp_wrap');
    const stream = binding('stream_wrap');
    const uv = binding('uv');
    const TCP = tcp.TCP as Bindings['TCP'];
    const constants = tcp.constants as { SOCKET: number };
    const proto = TCP?.prototype as unknown as Record<string, unknown> | undefined;
    const needed = ['readStart', 'readStop', 'writeBuffer', 'shutdown', 'close', 'reset', 'useUserBuffer', 'setNoDelay', 'getpeername', 'getsockname', 'connect', 'connect6'];
    // Looked up through the prototype chain: the stream methods come from LibuvStreamWrap.
    if (!proto || !needed.every((m) => typeof proto[m] === 'function')) return null;
    if (typeof stream.WriteWrap !== 'function' || typeof stream.ShutdownWrap !== 'function' || !(stream.streamBaseState instanceof Int32Array)) return null;
    bindings = {
      TCP,
      TCPConnectWrap: tcp.TCPConnectWrap as Bindings['TCPConnectWrap'],
      SOCKET: constants.SOCKET,
      WriteWrap: stream.WriteWrap as Bindings['WriteWrap'],
      ShutdownWrap: stream.ShutdownWrap as Bindings['ShutdownWrap'],
      state: stream.streamBaseState as Int32Array,
      kReadBytesOrError: stream.kReadBytesOrError as number,
      kLastWriteWasAsync: stream.kLastWriteWasAsync as number,
      UV_EOF: uv.UV_EOF as number,
    };
  } catch {
    bindings = null;
  }
  return bindings;
}

export function rawTcpAvailable(): boolean {
  return getBindings() !== null;
}

const IGNORE: EndpointEvents = { read: () => false, end() {}, drain() {}, finished() {}, error() {}, connected() {} };

function errName(status: number): string {
  try {
    return getSystemErrorName(status);
  } catch {
    return `E${-status}`;
  }
}

export class RawEndpoint implements Endpoint {
  private ev: EndpointEvents = IGNORE;
  /** Write requests libuv still holds; reading waits while any is pending. */
  private pending = 0;
  private closed = false;
  private failed = false;
  private ending = false;
  private reading = false;
  private fd = -1;
  /** Known without a syscall for a dialled endpoint (the address it dialled); else read on demand. */
  private peerText = '';

  constructor(
    private readonly handle: TcpHandle,
    connected: boolean,
  ) {
    const b = getBindings()!;
    const self = this;
    handle.onread = function onread() {
      const n = b.state[b.kReadBytesOrError]!;
      if (n > 0) {
        if (!self.ev.read(n, null)) self.readStop();
        return;
      }
      if (n === 0) return;
      self.readStop();
      if (n === b.UV_EOF) self.ev.end();
      else self.fail(n);
    };
    handle.useUserBuffer(READ_BUFFER);
    if (connected) this.onConnected();
  }

  /** Wraps a handle the listener accepted (see Listener: `_handle.onconnection`). */
  static accepted(handle: TcpHandle): RawEndpoint {
    handle.setNoDelay(true);
    return new RawEndpoint(handle, true);
  }

  /** Dials `to` (resolving a host name first); `connected` or `error` follows. */
  static dial(to: HostPort, events: EndpointEvents): RawEndpoint {
    const b = getBindings()!;
    const ep = new RawEndpoint(new b.TCP(b.SOCKET), false);
    ep.setEvents(events);
    const family = net.isIP(to.host);
    if (family) ep.connectTo(to.host, family, to.port);
    else {
      lookup(to.host, (err, address, fam) => {
        if (ep.closed) return;
        if (err) ep.ev.error(err.code ?? 'ENOTFOUND', `${to.host}: ${err.code ?? err.message}`);
        else ep.connectTo(address, fam, to.port);
      });
    }
    return ep;
  }

  setEvents(events: EndpointEvents): void {
    this.ev = events;
  }

  readStart(): void {
    if (this.reading || this.closed || this.failed) return;
    this.reading = true;
    const err = this.handle.readStart();
    if (err) this.fail(err);
  }

  readStop(): void {
    if (!this.reading || this.closed) return;
    this.reading = false;
    this.handle.readStop();
  }

  relay(n: number, owned: Buffer | null): boolean {
    if (owned) return this.write(owned);
    // Only with nothing queued: a direct write must not overtake bytes waiting in libuv.
    const written = this.pending === 0 && !this.ending && this.fd >= 0 ? writeDirect(this.fd, n) : 0;
    // libuv keeps a pointer to what it could not write: give it a copy, never the shared buffer.
    return written === n || this.write(copyRead(n, written));
  }

  write(buf: Buffer): boolean {
    if (this.closed || this.failed) return true;
    const b = getBindings()!;
    const req = new b.WriteWrap();
    req.handle = this.handle;
    req.oncomplete = this.onWriteDone;
    req.async = false;
    // Held so the memory outlives an asynchronous write.
    req.buffer = buf;
    const err = this.handle.writeBuffer(req, buf);
    if (err) {
      this.fail(err);
      return true;
    }
    if (b.state[b.kLastWriteWasAsync]) {
      this.pending++;
      return false;
    }
    return true;
  }

  end(): void {
    if (this.closed || this.failed || this.ending) return;
    this.ending = true;
    const b = getBindings()!;
    const req = new b.ShutdownWrap();
    req.handle = this.handle;
    // libuv sends the FIN after the queued writes.
    req.oncomplete = (status: number) => {
      if (this.closed) return;
      if (status < 0) this.fail(status);
      else this.ev.finished();
    };
    const err = this.handle.shutdown(req);
    if (err) this.fail(err);
  }

  close(reset: boolean, cb: () => void): void {
    if (this.closed) {
      cb();
      return;
    }
    this.closed = true;
    this.ev = IGNORE;
    if (reset && this.handle.reset(cb) === 0) return;
    this.handle.close(cb);
  }

  get queued(): number {
    return this.pending;
  }

  private readonly onWriteDone = (status: number): void => {
    this.pending--;
    if (this.closed) return;
    if (status < 0) this.fail(status);
    else if (this.pending === 0) this.ev.drain();
  };

  private connectTo(address: string, family: number, port: number): void {
    const b = getBindings()!;
    const req = new b.TCPConnectWrap();
    req.oncomplete = (status: number) => {
      if (this.closed) return;
      if (status < 0) {
        this.fail(status);
        return;
      }
      this.handle.setNoDelay(true);
      this.onConnected();
      this.ev.connected();
    };
    req.address = address;
    req.port = port;
    this.peerText = family === 6 ? `[${address}]:${port}` : `${address}:${port}`;
    const err = family === 6 ? this.handle.connect6(req, address, port) : this.handle.connect(req, address, port);
    // Reported on the next tick: the caller has not finished setting up the endpoint yet.
    if (err) process.nextTick(() => this.fail(err));
  }

  private onConnected(): void {
    this.fd = this.handle.fd;
  }

  /** `address:port` of the peer: a getpeername(2) on first use, so only when a log line needs it. */
  get peer(): string {
    if (!this.peerText && !this.closed) {
      const out: { address?: string; port?: number } = {};
      if (this.handle.getpeername(out) === 0) this.peerText = `${out.address}:${out.port}`;
    }
    return this.peerText;
  }

  addresses(): ProxyEndpoints | undefined {
    if (this.closed) return undefined;
    const peer: { address?: string; port?: number } = {};
    const local: { address?: string; port?: number } = {};
    if (this.handle.getpeername(peer) !== 0 || this.handle.getsockname(local) !== 0) return undefined;
    return { source: { address: peer.address ?? '', port: peer.port ?? 0 }, destination: { address: local.address ?? '', port: local.port ?? 0 } };
  }

  private fail(status: number): void {
    if (this.failed || this.closed) return;
    this.failed = true;
    const code = errName(status);
    this.ev.error(code, code);
  }
}
