#!/usr/bin/env node
// Derives the edge-case fixtures from the captured ones, so each variant is reproducible and
// differs from a real client's bytes only where its manifest note says.
//   node plugins/git/derive-fixtures.mjs

import { fixtureIO } from '../../scripts/fixture-io.mjs';

const { read, write } = fixtureIO(import.meta.url);

const clone = read('git-clone.bin'); // 0042 git-upload-pack /srv/repo.git NUL host=127.0.0.1:47301 NUL NUL version=2 NUL

/** A pkt-line: four lower-case hex digits (the length, themselves included), then the payload. */
const pkt = (payload) => {
  const body = Buffer.from(payload, 'latin1');
  return Buffer.concat([Buffer.from((body.length + 4).toString(16).padStart(4, '0'), 'latin1'), body]);
};

write('git-clone-truncated.bin', clone.subarray(0, 30));
// The flush-pkt a protocol-v2 client sends after the server's capability advertisement would not
// come first; any byte after the request line is ignored.
write('git-clone-extra-byte.bin', Buffer.concat([clone, Buffer.from('0')]));
// `git push` sends the same line with git-receive-pack; `git archive --remote` with git-upload-archive.
write('receive-pack.bin', pkt('git-receive-pack /srv/repo.git\0host=git.example.org\0'));
write('upload-archive.bin', pkt('git-upload-archive /srv/repo.git\0host=Git.Example.ORG:9418\0'));
// Protocol v0 clients (before Git 2.18) and some libraries send no host parameter.
write('no-host.bin', pkt('git-upload-pack /srv/repo.git\0'));
write('uppercase-length.bin', Buffer.concat([Buffer.from('003D', 'latin1'), read('git-ls-remote.bin').subarray(4)]));
write('ipv6-host.bin', pkt('git-upload-pack /repo\0host=[::1]:9418\0'));
write('unknown-service.bin', pkt('git-upload-packs /srv/repo.git\0host=x\0'));
write('flush-first.bin', Buffer.from('0000', 'latin1'));
write('empty-path.bin', pkt('git-upload-pack \0host=x\0'));
write('no-nul-in-line.bin', pkt('git-upload-pack /srv/repo.git'));
write('host-not-terminated.bin', pkt('git-upload-pack /srv/repo.git\0host=example'));
write('overlong-length.bin', Buffer.from('fff5git-upload-pack /x\0', 'latin1'));
write('non-hex-length.bin', Buffer.from('00g2git-upload-pack /x\0', 'latin1'));
