#!/usr/bin/env node
// Derives the edge-case fixtures from the captured ones, so each variant is reproducible and
// differs from a real client's bytes only where its manifest note says.
//   node plugins/rdp/derive-fixtures.mjs

import { fixtureIO } from '../../scripts/fixture-io.mjs';

const { read, write } = fixtureIO(import.meta.url);

/** A Connection Request from its variable part: TPKT length and X.224 LI recomputed. */
function connReq(variable) {
  const fixed = Buffer.from([0x03, 0x00, 0, 0, 0, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00]);
  const b = Buffer.concat([fixed, variable]);
  b.writeUInt16BE(b.length, 2);
  b[4] = b.length - 5;
  return b;
}

const xf = read('xfreerdp.bin');
const variable = xf.subarray(11); // cookie line + RDP_NEG_REQ
const negReq = xf.subarray(xf.length - 8);

write('xfreerdp-truncated.bin', xf.subarray(0, 30));
write('xfreerdp-extra-byte.bin', Buffer.concat([xf, Buffer.from([0x03])]));
// A broker's routing token ([MS-RDPBCGR] 2.2.1.1: "Cookie: msts=" IP.port.reserved).
write('msts-routing-token.bin', connReq(Buffer.concat([Buffer.from('Cookie: msts=3640205228.15629.0000\r\n'), negReq])));
// A client with no user name and no cookie: only the negotiation request.
write('no-cookie.bin', connReq(negReq));
// With RDP_NEG_CORRELATION_INFO after the negotiation request (flag CORRELATION_INFO_PRESENT).
{
  const neg = Buffer.from(negReq);
  neg[1] |= 0x08;
  const corr = Buffer.alloc(36);
  corr[0] = 0x06;
  corr.writeUInt16LE(36, 2);
  for (let i = 0; i < 16; i++) corr[4 + i] = 0x11 * (i + 1) & 0xff;
  write('correlation-info.bin', connReq(Buffer.concat([xf.subarray(11, xf.length - 8), neg, corr])));
}
// The server's Connection Confirm (code 0xd0) is not what a client opens with.
{
  const b = Buffer.from(xf);
  b[5] = 0xd0;
  write('x224-connection-confirm.bin', b);
}
{
  const b = Buffer.from(xf);
  b[0] = 0x02;
  write('tpkt-version-2.bin', b);
}
{
  const b = Buffer.from(xf);
  b[4] += 1;
  write('bad-length-indicator.bin', b);
}
// The cookie line without its CR LF: the variable part is neither a line nor a negotiation request.
write('cookie-without-crlf.bin', connReq(Buffer.from('Cookie: mstshash=alice')));
// A cookie line with a control byte: still RDP, but no key.
write('control-byte-cookie.bin', connReq(Buffer.concat([Buffer.from('Cookie: mstshash=al\x01ce\r\n'), negReq])));
