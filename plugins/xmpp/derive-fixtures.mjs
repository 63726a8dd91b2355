#!/usr/bin/env node
// Derives the edge-case fixtures from the captured one, so each variant is reproducible and
// differs from a real client's bytes only where its manifest note says.
//   node plugins/xmpp/derive-fixtures.mjs

import { fixtureIO } from '../../scripts/fixture-io.mjs';

const { read, write } = fixtureIO(import.meta.url);

const sendxmpp = read('sendxmpp.bin');
const text = sendxmpp.toString('latin1');
const edit = (f) => Buffer.from(f(text), 'latin1');

write('sendxmpp-truncated.bin', sendxmpp.subarray(0, 140));
// A newline after the header, as some clients send to keep the connection alive.
write('sendxmpp-extra-byte.bin', Buffer.concat([sendxmpp, Buffer.from('\n')]));
write('no-xml-declaration.bin', edit((t) => t.replace("<?xml version='1.0'?>", '')));
write('double-quotes-newlines.bin', edit((t) => t.replace(/'/g, '"').replace(/' /g, '\n').replace(/" /g, '"\n  ')));
write('uppercase-domain.bin', edit((t) => t.replace("to='chat.example.org'", "to='Chat.Example.ORG'")));
write('no-to.bin', edit((t) => t.replace("to='chat.example.org' ", '')));
write('to-not-a-dns-name.bin', edit((t) => t.replace("to='chat.example.org'", "to='[::1]'")));
write('server-to-server.bin', edit((t) => t.replace('jabber:client', 'jabber:server')));
write('self-closing.bin', edit((t) => t.replace(" >", '/>')));
write('other-element.bin', edit((t) => t.replace('<stream:stream', '<stream:features')));
write('no-space-between-attributes.bin', edit((t) => t.replace("' to=", "'to=")));
write('lt-in-value.bin', edit((t) => t.replace("from='localhost'", "from='local<host'")));
write('overlong-header.bin', edit((t) => t.replace(" >", ` pad='${'x'.repeat(5000)}'>`)));
write('unterminated-declaration.bin', Buffer.from(`<?xml version='1.0'${' '.repeat(4200)}`, 'latin1'));
