#!/usr/bin/env node
// Builds the fixtures from the Java Edition protocol documentation (Handshaking state, packet 0x00;
// Status Request; Login Start): Debian has no Minecraft client, so there is nothing to capture.
// Each fixture is a client's first flight as the documentation lays it out, with the protocol
// versions of real releases; the variants differ only where their manifest note says.
//   node plugins/minecraft/derive-fixtures.mjs

import { copyFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fixtureIO } from '../../scripts/fixture-io.mjs';

const { write } = fixtureIO(import.meta.url);

/** A VarInt: the i32's 32 bits in 7-bit groups, least significant first (so -1 takes five bytes). */
const varint = (v) => {
  let u = v >>> 0;
  const out = [];
  do {
    const b = u & 0x7f;
    u >>>= 7;
    out.push(u ? b | 0x80 : b);
  } while (u);
  return Buffer.from(out);
};
/** A String: VarInt byte length ‖ UTF-8 (latin1 here keeps NULs and ASCII as written). */
const string = (s) => {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([varint(b.length), b]);
};
/** An uncompressed packet: VarInt length ‖ VarInt id ‖ data. */
const packet = (id, ...data) => {
  const body = Buffer.concat([varint(id), ...data]);
  return Buffer.concat([varint(body.length), body]);
};
const u16 = (n) => Buffer.from([n >> 8, n & 0xff]);
/** Handshake: protocol version, server address, server port, intent (1 status, 2 login, 3 transfer). */
const handshake = (version, address, intent, port = 25565) => packet(0x00, varint(version), string(address), u16(port), varint(intent));
const statusRequest = packet(0x00);
const uuid = Buffer.from('069a79f444e94726a5befca90e38aaf5', 'hex');
/** Login Start: the player's name, and since 1.20.2 (764) the player's UUID. */
const loginStart = (name, withUuid = true) => packet(0x00, string(name), ...(withUuid ? [uuid] : []));

// Release protocol versions: 1.21.4 = 769, 1.18.2 = 758, 1.12.2 = 340, 1.8.9 = 47.
const status = Buffer.concat([handshake(769, 'mc.example.com', 1), statusRequest]);
write('status-1.21.4.bin', status);
write('login-1.21.4.bin', Buffer.concat([handshake(769, 'play.example.net', 2), loginStart('Steve')]));
write('transfer-1.21.4.bin', Buffer.concat([handshake(769, 'play.example.net', 3), loginStart('Steve')]));
write('status-1.8.9.bin', Buffer.concat([handshake(47, 'Lobby.Example.ORG', 1), statusRequest]));
write('ping-version-minus-one.bin', Buffer.concat([handshake(-1, 'mc.example.com', 1), statusRequest]));
write('forge-fml-1.12.2.bin', Buffer.concat([handshake(340, 'modded.example.com\0FML\0', 2), loginStart('Alex', false)]));
write('forge-fml3-1.18.2.bin', Buffer.concat([handshake(758, 'modded.example.com\0FML3\0', 2), loginStart('Alex', false)]));
write('ip-forwarding-suffix.bin', Buffer.concat([handshake(769, 'mc.example.com\x00192.0.2.44\x00069a79f444e94726a5befca90e38aaf5', 2), loginStart('Steve')]));
write('srv-trailing-dot.bin', Buffer.concat([handshake(769, 'mc.example.com.', 1), statusRequest]));
write('ip-literal.bin', Buffer.concat([handshake(769, '192.0.2.10', 1), statusRequest]));
write('ipv6-literal.bin', Buffer.concat([handshake(769, '2001:db8::1', 1), statusRequest]));
write('longest-name.bin', Buffer.concat([handshake(769, `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, 1), statusRequest]));
const hsOnly = handshake(769, 'mc.example.com', 1);
write('handshake-only.bin', hsOnly);
write('status-1.21.4-truncated.bin', status.subarray(0, 12));

const at = (b, i, v) => {
  const c = Buffer.from(b);
  c[i] = v;
  return c;
};
// status-1.21.4.bin: 15 (length 21) | 00 | 81 06 (769) | 0e "mc.example.com" | 63 dd (25565) | 01 | 01 00 (status request)
write('packet-id-1.bin', at(status, 1, 0x01));
write('intent-0.bin', at(status, 21, 0x00));
write('intent-4.bin', at(status, 21, 0x04));
write('length-too-small.bin', Buffer.concat([Buffer.from([0x06]), status.subarray(1)]));
write('length-mismatch.bin', at(status, 0, 0x16)); // one more than the fields take
write('length-too-big.bin', Buffer.concat([Buffer.from([0x89, 0x06]), status.subarray(1)])); // 777
write('empty-address.bin', Buffer.concat([handshake(769, '', 1), statusRequest]));
write('address-too-long.bin', handshake(769, 'x'.repeat(766), 1));
write('version-varint-too-long.bin', packet(0x00, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f]), string('mc.example.com'), u16(25565), varint(1)));
// The pre-Netty (1.6) server list ping: FE 01 FA, then "MC|PingHost" as a UTF-16BE string, …
const legacy = Buffer.concat([Buffer.from([0xfe, 0x01, 0xfa, 0x00, 0x0b]), Buffer.from('MC|PingHost', 'utf16le').swap16(), Buffer.from([0x00, 0x13, 0x4a]), Buffer.from([0x00, 0x0e]), Buffer.from('mc.example.com', 'utf16le').swap16(), Buffer.from([0, 0, 0x63, 0xdd])]);
write('legacy-ping-1.6.bin', legacy);

// Other protocols' captures, to show the detector refuses them (MQTT's CONNECT also starts 0x10 ‖ length ‖ 00).
const here = fileURLToPath(new URL('./fixtures/', import.meta.url));
for (const [from, to] of [
  ['http/fixtures/curl-get.bin', 'other-http-curl-get.bin'],
  ['tls/fixtures/curl.bin', 'other-tls-curl.bin'],
  ['ssh/fixtures/openssh.bin', 'other-ssh-openssh.bin'],
  ['rdp/fixtures/xfreerdp.bin', 'other-rdp-xfreerdp.bin'],
  ['mqtt/fixtures/mosquitto-pub-v311.bin', 'other-mqtt-mosquitto-pub-v311.bin'],
]) {
  copyFileSync(fileURLToPath(new URL(`../${from}`, import.meta.url)), here + to);
  console.log(`${to} (copy of plugins/${from})`);
}
