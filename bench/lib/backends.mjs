#!/usr/bin/env node
// The benchmark's backends, in their own process so the proxy's core is left to the proxy:
// a TLS server (self-signed cert from argv) and a plain TCP server, speaking the same tiny protocol.
//
// First byte of the application data picks the job:
//   'S' + u64 length + that many bytes: sink; answers the sha256 of the bytes (hex + '\n') so the
//        client can check that the proxy carried every byte unchanged.
//   'E' + anything: echo (the 'E' included), until the client closes.
//
//   node bench/lib/backends.mjs CERT KEY      → prints {"tls":PORT,"plain":PORT} once listening

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

const [certFile, keyFile] = process.argv.slice(2);

function serve(socket) {
  socket.setNoDelay(true);
  socket.on('error', () => {});
  let mode = 0;
  let header = Buffer.alloc(0);
  let remaining = 0n;
  let hash;

  socket.on('data', function onData(chunk) {
    if (mode === 0) {
      mode = chunk[0];
      if (mode === 0x45 /* E */) {
        socket.write(chunk);
        socket.off('data', onData);
        socket.pipe(socket);
        return;
      }
      if (mode !== 0x53 /* S */) {
        socket.destroy();
        return;
      }
      chunk = chunk.subarray(1);
    }
    if (header.length < 8) {
      // The length may itself arrive split across reads.
      const need = 8 - header.length;
      header = Buffer.concat([header, chunk.subarray(0, need)]);
      chunk = chunk.subarray(need);
      if (header.length < 8) return;
      remaining = header.readBigUInt64BE(0);
      hash = createHash('sha256');
    }
    if (chunk.length === 0) return;
    const take = BigInt(chunk.length) <= remaining ? chunk : chunk.subarray(0, Number(remaining));
    hash.update(take);
    remaining -= BigInt(take.length);
    if (remaining === 0n) {
      socket.write(`${hash.digest('hex')}\n`);
      mode = -1;
      socket.off('data', onData);
      socket.resume();
    }
  });
}

const plain = net.createServer({ noDelay: true }, serve);
// ECDSA P-256: the cheapest signature OpenSSL offers, so that handshake cost stays the client's and
// the backend's business on core 0 rather than a bottleneck that hides the proxy's.
const secure = tls.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), noDelay: true }, serve);
secure.on('tlsClientError', () => {});
// Backlog large enough for the 10k idle-connection burst.
plain.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
  secure.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
    process.stdout.write(`${JSON.stringify({ tls: secure.address().port, plain: plain.address().port })}\n`);
  });
});
process.on('SIGTERM', () => process.exit(0));
