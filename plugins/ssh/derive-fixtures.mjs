#!/usr/bin/env node
// Derives the edge-case fixtures from the captured ones, so each variant is reproducible and
// differs from a real client's bytes only where its manifest note says.
//   node plugins/ssh/derive-fixtures.mjs

import { fixtureIO } from '../../scripts/fixture-io.mjs';

const { read, write } = fixtureIO(import.meta.url);

const openssh = read('openssh.bin');
const line = openssh.toString('latin1');

write('openssh-truncated.bin', openssh.subarray(0, 20));
// The first byte of the binary packet the client sends next (packet_length's high byte).
write('openssh-extra-byte.bin', Buffer.concat([openssh, Buffer.from([0x00])]));
write('openssh-lf-only.bin', Buffer.from(line.replace('\r\n', '\n'), 'latin1'));
write('openssh-1.99.bin', Buffer.from(line.replace('SSH-2.0-', 'SSH-1.99-'), 'latin1'));
write('openssh-no-comment.bin', Buffer.from(line.replace(/ .*\r\n/, '\r\n'), 'latin1'));
// JSch (Java) put a '-' inside softwareversion, which RFC 4253 forbids but servers accept.
write('jsch-dash-in-software.bin', Buffer.from('SSH-2.0-JSCH-0.1.54\r\n', 'latin1'));
write('ssh1-only.bin', Buffer.from('SSH-1.5-OpenSSH_1.2.3\r\n', 'latin1'));
write('overlong-line.bin', Buffer.from(`SSH-2.0-${'A'.repeat(300)}\r\n`, 'latin1'));
write('cr-without-lf.bin', Buffer.from('SSH-2.0-OpenSSH_9.2p1\rX\n', 'latin1'));
write('lowercase-ssh.bin', Buffer.from(line.toLowerCase(), 'latin1'));
write('control-byte-in-software.bin', Buffer.from('SSH-2.0-Open\x01SSH\r\n', 'latin1'));
