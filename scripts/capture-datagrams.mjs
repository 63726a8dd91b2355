#!/usr/bin/env node
// Records the first datagrams a real UDP client sends (the datagram fixtures' "captured" notes name
// this script), stored framed as a datagram detector sees them (the shared decision of issue 13):
// `u16 BE length ‖ datagram` per datagram of the first peer, in arrival order. It never answers, so
// a client stops after its first flight (or retries: each retry is a further record).
//
//   node scripts/capture-datagrams.mjs OUT.bin [--port P] [--idle MS] [--max N]
//   (prints "listening P" once ready; run the client against 127.0.0.1:P)

import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';

/** Long enough for a client's datagrams of one flight, short enough to script (as the TCP capture). */
const DEFAULT_IDLE_MS = 700;
/** Give up if no datagram ever comes, so a broken client command cannot hang a script. */
const FIRST_DATAGRAM_TIMEOUT_MS = 20_000;

const args = process.argv.slice(2);
const out = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
if (!out) {
  console.error('usage: capture-datagrams.mjs OUT.bin [--port P] [--idle MS] [--max N]');
  process.exit(2);
}
const idleMs = opt('idle', DEFAULT_IDLE_MS);
/** Records kept at most (a client retrying forever must not make the fixture grow without end). */
const max = opt('max', 8);

const sock = dgram.createSocket('udp4');
const records = [];
let peer = '';
let timer = setTimeout(() => {
  console.error(`no datagram within ${FIRST_DATAGRAM_TIMEOUT_MS} ms`);
  process.exit(1);
}, FIRST_DATAGRAM_TIMEOUT_MS);

const finish = (why) => {
  sock.close();
  const buf = Buffer.concat(records);
  writeFileSync(out, buf);
  console.log(`captured ${records.length / 2} datagrams, ${buf.length} B framed, to ${out} (${why})`);
};

sock.on('message', (msg, rinfo) => {
  const from = `${rinfo.address}:${rinfo.port}`;
  if (peer && from !== peer) return; // one flow: the first peer's
  peer = from;
  const len = Buffer.alloc(2);
  len.writeUInt16BE(msg.length);
  records.push(len, msg);
  clearTimeout(timer);
  if (records.length / 2 >= max) return finish(`${max} datagrams`);
  timer = setTimeout(() => finish(`idle ${idleMs} ms`), idleMs);
});
sock.bind(opt('port', 0), '127.0.0.1', () => console.log(`listening ${sock.address().port}`));
