#!/usr/bin/env node
// Derives the edge-case fixtures from the captured ones, so each variant is reproducible and
// differs from a real client's bytes only where its manifest note says.
//   node plugins/mqtt/derive-fixtures.mjs

import { fixtureIO } from '../../scripts/fixture-io.mjs';

const { read, write } = fixtureIO(import.meta.url);

const v311 = read('mosquitto-pub-v311.bin'); // 10 15 | 0004 MQTT 04 02 003c | 0009 sensor-42
const user = read('mosquitto-pub-v311-user.bin'); // flags c2: user name, password
const v5 = read('mosquitto-pub-v5.bin'); // 10 19 | 0004 MQTT 05 02 003c | 03 21 0014 | 0009 sensor-42

const patch = (b, at, ...bytes) => {
  const c = Buffer.from(b);
  bytes.forEach((x, i) => (c[at + i] = x));
  return c;
};
/** An MQTT 3.1.1 CONNECT with these flags and payload fields (u16-prefixed strings). */
const connect = (flags, ...fields) => {
  const payload = Buffer.concat(fields.map((f) => {
    const s = Buffer.from(f, 'latin1');
    const n = Buffer.alloc(2);
    n.writeUInt16BE(s.length);
    return Buffer.concat([n, s]);
  }));
  const vh = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, flags, 0, 60]);
  const rest = Buffer.concat([vh, payload]);
  return Buffer.concat([Buffer.from([0x10, rest.length]), rest]);
};

write('mosquitto-pub-v311-truncated.bin', v311.subarray(0, 16));
write('mosquitto-pub-v311-user-truncated.bin', user.subarray(0, 25)); // cut inside the user name
// mosquitto_pub sends PUBLISH after CONNACK; a byte after the CONNECT is ignored.
write('mosquitto-pub-v311-extra-byte.bin', Buffer.concat([v311, Buffer.from([0x30])]));
write('will-and-user-v311.bin', connect(0x80 | 0x04 | 0x08, 'dev-9', 'last/will', 'bye', 'carol'));
write('non-ascii-client-id.bin', connect(0x02, 'capteur-\xe9'));
write('reserved-flag.bin', patch(v311, 9, 0x03));
write('will-qos-3.bin', patch(v311, 9, 0x1e));
write('will-qos-without-will.bin', patch(v311, 9, 0x0a));
write('password-without-user-v311.bin', connect(0x42, 'x', 'secret'));
write('level-6.bin', patch(v311, 8, 6));
write('mqisdp-level-4.bin', Buffer.concat([Buffer.from([0x10, 0x17, 0, 6]), Buffer.from('MQIsdp'), Buffer.from([4, 2, 0, 60, 0, 9]), Buffer.from('sensor-42')]));
write('wrong-protocol-name.bin', patch(v311, 4, 0x6d)); // "mQTT"
write('connect-flags-in-header.bin', patch(v311, 0, 0x12));
write('publish-first.bin', patch(v311, 0, 0x30));
write('remaining-length-5-bytes.bin', Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 4]));
write('remaining-length-too-short.bin', patch(v311, 1, 0x0c)); // client id crosses the packet's end
write('v5-properties-past-packet.bin', patch(v5, 12, 0x40)); // property length 64 > what is left
