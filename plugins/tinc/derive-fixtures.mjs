#!/usr/bin/env node
// Derives the edge-case fixtures from the captured one, so each variant is reproducible and
// differs from a real daemon's bytes only where its manifest note says.
//   node plugins/tinc/derive-fixtures.mjs

import { fixtureIO } from '../../scripts/fixture-io.mjs';

const { read, write } = fixtureIO(import.meta.url);

const tincd = read('tincd.bin'); // "0 alice 17\n"
const line = (s) => Buffer.from(s, 'latin1');

write('tincd-truncated.bin', tincd.subarray(0, 8));
// The daemon then waits for the peer's ID; a byte after the line is ignored.
write('tincd-extra-byte.bin', Buffer.concat([tincd, line('1')]));
write('tinc11-minor-version.bin', line('0 alice 17.7\n'));
write('underscore-digits-name.bin', line('0 node_42 17\n'));
write('dash-in-name.bin', line('0 node-42 17\n'));
write('empty-name.bin', line('0  17\n'));
write('other-request.bin', line('1 alice 17\n'));
write('no-version.bin', line('0 alice\n'));
write('crlf.bin', line('0 alice 17\r\n'));
write('long-version.bin', line('0 alice 12345\n'));
write('overlong-name.bin', line(`0 ${'n'.repeat(2100)} 17\n`));
