#!/usr/bin/env node
// Records the first flight a real client sends: listens on loopback, accepts one connection,
// keeps every byte until the client goes quiet or closes, writes them to a file, and never
// answers (so a TLS client stops after its ClientHello, an SSH client after its banner).
//
//   node scripts/capture-first-flight.mjs OUT.bin [--port P] [--idle MS]
//   (prints "listening P" once ready; run the client against 127.0.0.1:P)

import net from 'node:net';
import { writeFileSync } from 'node:fs';

/** Long enough for a client that writes its flight in several syscalls, short enough to script. */
const DEFAULT_IDLE_MS = 700;
/** Give up if no client ever connects, so a broken client command cannot hang a script. */
const ACCEPT_TIMEOUT_MS = 20_000;

const args = process.argv.slice(2);
const out = args.find((a) => !a.startsWith('--') && !/^\d+$/.test(a));
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
if (!out) {
  console.error('usage: capture-first-flight.mjs OUT.bin [--port P] [--idle MS]');
  process.exit(2);
}
const idleMs = opt('idle', DEFAULT_IDLE_MS);

const server = net.createServer((sock) => {
  server.close();
  clearTimeout(acceptTimer);
  const chunks = [];
  let idle;
  const finish = (why) => {
    clearTimeout(idle);
    const buf = Buffer.concat(chunks);
    writeFileSync(out, buf);
    console.log(`captured ${buf.length} B to ${out} (${why}, ${chunks.length} chunks)`);
    sock.destroy();
  };
  const arm = () => {
    clearTimeout(idle);
    idle = setTimeout(() => finish(`idle ${idleMs} ms`), idleMs);
  };
  sock.setNoDelay(true);
  sock.on('data', (d) => {
    chunks.push(d);
    arm();
  });
  sock.on('end', () => finish('client closed'));
  sock.on('error', () => finish('socket error'));
  arm();
});
const acceptTimer = setTimeout(() => {
  console.error('no client connected');
  process.exit(1);
}, ACCEPT_TIMEOUT_MS);
server.listen(opt('port', 0), '127.0.0.1', () => console.log(`listening ${server.address().port}`));
