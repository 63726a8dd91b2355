// Child-process entry: instruments the module read from stdin and writes the result to stdout.
// binaryen costs ~115 MB once imported and the process keeps it (a worker thread did not give it
// back either: measured 190–270 MB RSS after a cold start vs 70 MB warm); a child returns it at exit.
import { instrumentFuel } from './fuel.js';

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
try {
  const out = await instrumentFuel(new Uint8Array(Buffer.concat(chunks)));
  process.stdout.write(out);
} catch (err) {
  process.stderr.write(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
}
