#!/usr/bin/env node
// Records the first flight a real client sends (the fixtures' "captured" notes name this script):
// the same code as `passthru plugin capture` (host/commands/plugin-capture.ts; build:host first).
//
//   node scripts/capture-first-flight.mjs OUT.bin [--port P] [--idle MS]
//   (prints "listening P" once ready; run the client against 127.0.0.1:P)

const { runPluginCapture, DEFAULT_IDLE_MS } = await import('../dist/host/commands/plugin-capture.js');

const args = process.argv.slice(2);
const out = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
if (!out) {
  console.error('usage: capture-first-flight.mjs OUT.bin [--port P] [--idle MS]');
  process.exit(2);
}
runPluginCapture({ out, port: opt('port', 0), idleMs: opt('idle', DEFAULT_IDLE_MS) }, process.stdout).catch((err) => {
  console.error(err.message);
  process.exit(1);
});
