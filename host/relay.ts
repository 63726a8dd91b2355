// Moves the bytes of one read to the other socket without allocating when the destination can take
// them at once: every fast-path socket reads into one shared buffer, and each read is written or
// copied before its callback returns, so a later read can never overwrite bytes still queued.
//
// Why not `dst.write(view)`: when Node cannot write at once it queues the buffer by reference, and
// the next read into the shared buffer would corrupt it (measured: TLS "bad record mac"). Hence a
// synchronous write to the fd while nothing is queued, and a copy of whatever is left.
import { writeSync } from 'node:fs';
import type net from 'node:net';

/** 64 KiB reads: measured here to beat 16 KiB (more syscalls) and 256 KiB (cache misses). */
export const READ_BUFFER_BYTES = 64 * 1024;

/** The process's one read buffer for sockets created with `onread` (see `readInto`). */
export const READ_BUFFER = Buffer.allocUnsafe(READ_BUFFER_BYTES);

/** `net.Socket` options that make a socket read into READ_BUFFER and call `callback(nread)`. */
export function readInto(callback: (nread: number) => boolean): { buffer: Buffer; callback: (nread: number, buf: Uint8Array) => boolean } {
  return { buffer: READ_BUFFER, callback };
}

interface HandleWithFd {
  _handle?: { fd?: number } | null;
}

/** The socket's file descriptor, or -1 where Node does not expose one (then every write is queued). */
export function fdOf(socket: net.Socket): number {
  const fd = (socket as unknown as HandleWithFd)._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}

/**
 * Writes READ_BUFFER[0, n) to `fd` at once; returns the bytes written. The caller makes sure nothing
 * is queued for that socket (a direct write must not overtake queued bytes) and queues a copy of the
 * rest (`copyRead(n, written)`): what is queued must never be a view of the shared buffer.
 */
export function writeDirect(fd: number, n: number): number {
  try {
    return writeSync(fd, READ_BUFFER, 0, n);
  } catch {
    // EAGAIN (kernel buffer full) or a dead peer: the queued write of the rest reports real errors.
    return 0;
  }
}

/** A copy of READ_BUFFER[from, n), for bytes that must outlive the read (a window, a queued rest). */
export function copyRead(n: number, from = 0): Buffer {
  const b = Buffer.allocUnsafe(n - from);
  READ_BUFFER.copy(b, 0, from, n);
  return b;
}
