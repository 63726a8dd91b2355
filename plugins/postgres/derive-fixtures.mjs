#!/usr/bin/env node
// Derives the edge-case fixtures from the captured ones, and builds from the protocol documentation
// the two requests psql does not send here (marked "built from the spec" in the manifest), so each
// variant is reproducible and differs from a real client's bytes only where its note says.
//   node plugins/postgres/derive-fixtures.mjs

import { fixtureIO } from '../../scripts/fixture-io.mjs';

const { read, write } = fixtureIO(import.meta.url);

const ssl = read('psql-sslrequest.bin'); // 00000008 04d2162f
const startup = read('psql-startup.bin'); // user alice, database shop, application_name billing

/** A StartupMessage for protocol 3.0 with these parameters, length fixed up. */
function startupMessage(params, version = 0x00030000) {
  const body = Buffer.concat([...params.flatMap(([k, v]) => [Buffer.from(`${k}\0`, 'latin1'), Buffer.from(`${v}\0`, 'latin1')]), Buffer.from([0])]);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length, 0);
  head.writeUInt32BE(version, 4);
  return Buffer.concat([head, body]);
}
const int32s = (...v) => {
  const b = Buffer.alloc(4 * v.length);
  v.forEach((x, i) => b.writeUInt32BE(x >>> 0, 4 * i));
  return b;
};

// Built from the spec: libpq sends GSSENCRequest only with Kerberos credentials, and CancelRequest
// only on a second connection while a query runs.
write('spec-gssencrequest.bin', int32s(8, 80877104));
write('spec-cancelrequest.bin', int32s(16, 80877102, 4242, 0x1234abcd));

write('psql-sslrequest-truncated.bin', ssl.subarray(0, 5));
write('psql-startup-truncated.bin', startup.subarray(0, 30));
// A byte after the StartupMessage: the client waits for the server's authentication request.
write('psql-startup-extra-byte.bin', Buffer.concat([startup, Buffer.from([0x70])]));
write('startup-without-database.bin', startupMessage([['user', 'alice'], ['application_name', 'billing']]));
write('startup-without-user.bin', startupMessage([['database', 'shop']]));
write('startup-protocol-3.2.bin', startupMessage([['user', 'alice'], ['database', 'shop']], 0x00030002));
write('startup-non-ascii-user.bin', startupMessage([['user', 'jos\xe9'], ['database', 'shop']]));
write('startup-protocol-2.bin', startupMessage([['user', 'alice']], 0x00020000));
const unterminated = startupMessage([['user', 'alice']]);
unterminated[unterminated.length - 1] = 0x78; // the list's final NUL replaced by "x"
write('startup-missing-terminator.bin', unterminated);
write('startup-overlong.bin', Buffer.concat([int32s(10001, 0x00030000), Buffer.from('user\0alice\0\0')]));
write('sslrequest-with-body.bin', int32s(12, 80877103, 0));
write('length-below-header.bin', int32s(4, 80877103));
