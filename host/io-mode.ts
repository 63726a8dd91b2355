// How the host drives its sockets. All three pass the same tests; they differ in cost.
//   raw:      Node's TCP handles without net.Socket (raw-tcp.ts): least CPU and memory per connection.
//   fast:     net.Socket reading into one shared buffer, direct writes (endpoint.ts, relay.ts).
//   portable: net.Socket with 'data' events: only public APIs.
// Default: raw when this Node has the internals it needs and a loopback self-test passes, else fast
// (public `onread`, plus `net.Server`'s internal `_handle.onconnection` to take accepted handles),
// else portable. PASSTHRU_IO=raw|fast|portable forces one (the tests run each).
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import type { HostPort } from './config/model.js';
import { SocketEndpoint, type Endpoint, type EndpointEvents } from './endpoint.js';
import type { Dialer } from './forwarder.js';
import { rawTcpAvailable, RawEndpoint, type TcpHandle } from './raw-tcp.js';
import { copyRead, readInto } from './relay.js';

export type IoMode = 'raw' | 'fast' | 'portable';
export const IO_MODES: readonly IoMode[] = ['raw', 'fast', 'portable'];

export function dialerFor(mode: IoMode): Dialer {
  if (mode === 'raw') return (to: HostPort, events: EndpointEvents) => RawEndpoint.dial(to, events);
  const fast = mode === 'fast';
  return (to: HostPort, events: EndpointEvents) => SocketEndpoint.dial(to, fast, events);
}

interface InternalServer {
  _handle?: { onconnection?: (err: number, clientHandle: TcpHandle | undefined) => void } | null;
}

/**
 * Makes `server` hand each accepted TCP handle to `accept` as an Endpoint of `mode` (raw or fast)
 * instead of emitting 'connection'. Call after 'listening'. Returns false when it cannot.
 */
export function takeAccepts(server: net.Server, mode: 'raw' | 'fast', accept: (ep: Endpoint) => void, onError: (errno: number) => void): boolean {
  const handle = (server as unknown as InternalServer)._handle;
  if (!handle || typeof handle.onconnection !== 'function') return false;
  handle.onconnection = (err, clientHandle) => {
    // Accept errors (EMFILE, …) concern only this attempt; the listener goes on.
    if (err || !clientHandle) {
      onError(err);
      return;
    }
    if (mode === 'raw') {
      accept(RawEndpoint.accepted(clientHandle));
      return;
    }
    // net.Server cannot give accepted sockets `onread`: wrap the handle ourselves.
    let ep: SocketEndpoint | undefined;
    const socket = new net.Socket({
      handle: clientHandle,
      allowHalfOpen: true,
      readable: true,
      writable: true,
      onread: readInto((n) => ep!.onRead(n)),
    } as net.SocketConstructorOpts);
    socket.setNoDelay(true);
    ep = new SocketEndpoint(socket, true);
    accept(ep);
  };
  return true;
}

/** Bytes the self-test sends each way: past one read buffer, so a partial write happens. */
const SELF_TEST_BYTES = 256 * 1024;

/**
 * Proves the raw path on this Node: a loopback server taking raw accepts echoes SELF_TEST_BYTES
 * to a raw dial, byte-exactly, with half-close. Resolves false on any deviation.
 */
export async function rawSelfTest(): Promise<boolean> {
  if (!rawTcpAvailable()) return false;
  const server = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const port = (server.address() as net.AddressInfo).port;
    const ok = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 5_000);
      const finish = (v: boolean) => {
        clearTimeout(timer);
        resolve(v);
      };
      const took = takeAccepts(server, 'raw', (ep) => echo(ep), () => finish(false));
      if (!took) return finish(false);
      const payload = randomBytes(SELF_TEST_BYTES);
      const got: Buffer[] = [];
      const client: Endpoint = RawEndpoint.dial({ host: '127.0.0.1', port }, {
        read: (n, owned) => {
          got.push(owned ?? copyRead(n));
          return true;
        },
        end: () => client.close(false, () => finish(Buffer.concat(got).equals(payload))),
        drain() {},
        finished() {},
        error: () => finish(false),
        connected: () => {
          client.write(payload);
          client.end();
          client.readStart();
        },
      });
    });
    return ok;
  } catch {
    return false;
  } finally {
    server.close();
  }
}

function echo(ep: Endpoint): void {
  ep.setEvents({
    read: (n, owned) => ep.relay(n, owned),
    end: () => ep.end(),
    drain: () => ep.readStart(),
    finished: () => ep.close(false, () => {}),
    error: () => ep.close(true, () => {}),
    connected() {},
  });
  ep.readStart();
}


/**
 * The mode to run with: `requested` (or PASSTHRU_IO) when given; otherwise raw if it is available
 * and passes the self-test, else fast. A requested raw that cannot work falls back, with a warning.
 */
export async function selectIoMode(requested: IoMode | undefined, log: { warn(obj: object, msg: string): void }): Promise<IoMode> {
  const env = process.env.PASSTHRU_IO;
  if (!requested && env) {
    if (!(IO_MODES as readonly string[]).includes(env)) log.warn({ event: 'io-mode', PASSTHRU_IO: env }, `PASSTHRU_IO=${env} is not one of ${IO_MODES.join(', ')}; ignored`);
    else requested = env as IoMode;
  }
  if (requested && requested !== 'raw') return requested;
  if (await rawSelfTest()) return 'raw';
  if (requested === 'raw') log.warn({ event: 'io-mode' }, 'raw TCP handles are not usable on this Node; using net.Socket (fast)');
  return 'fast';
}
