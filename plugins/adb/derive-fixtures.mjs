#!/usr/bin/env node
// Derives the edge-case fixtures from the captured one, so each variant is reproducible and
// differs from a real client's bytes only where its manifest note says.
//   node plugins/adb/derive-fixtures.mjs

import { fixtureIO } from '../../scripts/fixture-io.mjs';

const { read, write } = fixtureIO(import.meta.url);

const cnxn = read('adb-connect.bin'); // header (24) + "host::features=…" (119)
const u32 = (b, off, v) => {
  const c = Buffer.from(b);
  c.writeUInt32LE(v >>> 0, off);
  return c;
};
/** A CNXN with this payload, data_length and data_check fixed up. */
const withPayload = (s, check = true) => {
  const p = Buffer.from(s, 'latin1');
  const h = Buffer.from(cnxn.subarray(0, 24));
  h.writeUInt32LE(p.length, 12);
  h.writeUInt32LE(check ? p.reduce((a, x) => a + x, 0) : 0, 16);
  return Buffer.concat([h, p]);
};

write('adb-connect-truncated.bin', cnxn.subarray(0, 60));
// The host then waits for the device's CNXN, STLS or AUTH; a byte after the payload is ignored.
write('adb-connect-extra-byte.bin', Buffer.concat([cnxn, Buffer.from([0x4f])]));
write('data-check-zero.bin', u32(cnxn, 16, 0));
write('version-min.bin', u32(cnxn, 4, 0x01000000));
write('device-banner.bin', withPayload('device::ro.product.name=x;ro.product.model=y;ro.product.device=z;features=shell_v2'));
write('bad-magic.bin', u32(cnxn, 20, 0));
write('bad-data-check.bin', u32(cnxn, 16, 0x2e41));
write('version-2.bin', u32(cnxn, 4, 0x02000000));
write('maxdata-zero.bin', u32(cnxn, 8, 0));
write('payload-too-long.bin', u32(cnxn, 12, 4097));
write('no-system-type.bin', withPayload('::features=shell_v2'));
write('other-command-auth.bin', Buffer.concat([Buffer.from('AUTH'), cnxn.subarray(4)]));
