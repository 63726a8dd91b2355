// `passthru plugin capture OUT.bin [--port P]`: records the first flight a real client sends, for a
// detector's fixtures. Listens on loopback, accepts one connection, keeps every byte until the
// client goes quiet or closes, writes them to OUT, and never answers (so a TLS client stops after
// its ClientHello, an MQTT client after its CONNECT). Also behind scripts/capture-first-flight.mjs.
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { once } from 'node:events';

/** Long enough for a client that writes its flight in several syscalls, short enough to script. */
export const DEFAULT_IDLE_MS = 700;
/** Give up if no client ever connects, so a broken client command cannot hang a script. */
export const ACCEPT_TIMEOUT_MS = 20_000;

export interface CaptureOptions {
  out: string;
  /** 0: any free port (printed). */
  port: number;
  idleMs: number;
  /** Called once listening, with the port (the CLI prints it for scripts to read). */
  onListening?: (port: number) => void;
}

export async function capture(o: CaptureOptions): Promise<{ bytes: number; why: string; chunks: number }> {
  const server = net.createServer();
  server.listen(o.port, '127.0.0.1');
  await once(server, 'listening');
  o.onListening?.((server.address() as net.AddressInfo).port);
  const sock = await new Promise<net.Socket>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no client connected within ${ACCEPT_TIMEOUT_MS} ms`)), ACCEPT_TIMEOUT_MS);
    server.once('connection', (s) => {
      clearTimeout(timer);
      resolve(s);
    });
  }).finally(() => server.close());
  const chunks: Buffer[] = [];
  const why = await new Promise<string>((resolve) => {
    let idle: NodeJS.Timeout;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => resolve(`idle ${o.idleMs} ms`), o.idleMs);
    };
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      arm();
    });
    sock.on('end', () => resolve('client closed'));
    sock.on('error', () => resolve('socket error'));
    arm();
  });
  sock.destroy();
  const buf = Buffer.concat(chunks);
  await writeFile(o.out, buf);
  return { bytes: buf.length, why, chunks: chunks.length };
}

export async function runPluginCapture(o: Omit<CaptureOptions, 'onListening'>, out: NodeJS.WritableStream): Promise<number> {
  const r = await capture({ ...o, onListening: (port) => out.write(`listening ${port}\n`) });
  out.write(`captured ${r.bytes} B to ${o.out} (${r.why}, ${r.chunks} chunks)\n`);
  return 0;
}
