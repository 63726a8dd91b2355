#!/usr/bin/env node
// Derives the edge-case fixtures from the captured ones, so each variant is reproducible and
// differs from a real client's bytes only where its manifest note says.
//   node plugins/syslog/derive-fixtures.mjs

import { fixtureIO } from '../../scripts/fixture-io.mjs';

const { read, write } = fixtureIO(import.meta.url);

const rfc5424 = read('logger-rfc5424.bin'); // <22>1 2026-12-06T… vm app - - [timeQuality …] hello from logger LF
const rfc3164 = read('logger-rfc3164.bin'); // <156>Dec  6 04:38:58 vm app: hello 3164 LF
const counted = read('logger-octet-count.bin'); // 96 <37>1 …
const s = (b) => b.toString('latin1');
const b = (t) => Buffer.from(t, 'latin1');

write('logger-rfc5424-truncated.bin', rfc5424.subarray(0, 4));
write('logger-octet-count-truncated.bin', counted.subarray(0, 6));
// logger sends one message per line; a second one follows the first's LF.
write('logger-rfc5424-two-messages.bin', Buffer.concat([rfc5424, rfc5424]));
write('pri-zero.bin', b(s(rfc5424).replace('<22>', '<0>'))); // kern.emerg
write('pri-191.bin', b(s(rfc3164).replace('<156>', '<191>'))); // local7.debug
write('pri-192.bin', b(s(rfc3164).replace('<156>', '<192>')));
write('pri-leading-zero.bin', b(s(rfc5424).replace('<22>', '<022>')));
write('pri-empty.bin', b(s(rfc5424).replace('<22>', '<>')));
write('pri-four-digits.bin', b(s(rfc5424).replace('<22>', '<1000>')));
write('no-header-after-pri.bin', b('<13>hello without timestamp\n'));
write('month-then-no-space.bin', b('<13>Decimal\n'));
write('version-without-space.bin', b('<13>1-2026\n'));
write('count-leading-zero.bin', b(`0${s(counted)}`));
write('count-without-space.bin', b(s(counted).replace('96 ', '96<')));
write('count-too-short.bin', b(s(counted).replace('96 ', '3 ')));
write('count-nine-digits.bin', b(s(counted).replace('96 ', '123456789 ')));
