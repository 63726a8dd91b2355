// The UDP bench's helper processes, one script with two roles:
//   node udp-load.mjs echo        → a dgram echo server on 127.0.0.1 (prints {"port":P})
//   node udp-load.mjs load        → a load generator driven by JSON lines on stdin, one answer line each:
//     {"cmd":"flows","port":P,"flows":F,"window":W,"size":S,"ms":T,"first":"HEX"}
//         F client sockets, each keeping W datagrams of S bytes in flight for T ms (the first datagram of
//         each flow is FIRST, so the proxy's detector sees a real first datagram); answers round trips.
//     {"cmd":"new","port":P,"concurrency":C,"ms":T,"first":"HEX"}
//         one datagram per flow: C clients at a time, each a new socket on a loopback address of its
//         own (so no flow is reused), sends FIRST, waits for the echo, closes; answers flows done.
import dgram from 'node:dgram';
import { createInterface } from 'node:readline';

const role = process.argv[2];

if (role === 'echo') {
  const s = dgram.createSocket('udp4');
  s.on('message', (m, r) => s.send(m, r.port, r.address));
  s.bind(0, '127.0.0.1', () => console.log(JSON.stringify({ port: s.address().port })));
} else if (role === 'load') {
  const rl = createInterface({ input: process.stdin });
  rl.on('line', async (line) => {
    const job = JSON.parse(line);
    const result = job.cmd === 'flows' ? await flows(job) : await newFlows(job);
    process.stdout.write(JSON.stringify({ ...result, cpu: process.cpuUsage() }) + '\n');
  });
} else {
  console.error('usage: udp-load.mjs echo|load');
  process.exit(2);
}

/** Closed loop with loss recovery: a flow that got no answer within a watchdog tick refills its window. */
async function flows({ port, flows: n, window, size, ms, first }) {
  const payload = Buffer.alloc(size, 0x61);
  const head = Buffer.from(first, 'hex');
  const socks = [];
  let replies = 0;
  let lost = 0;
  let running = true;
  for (let i = 0; i < n; i++) {
    const s = dgram.createSocket('udp4');
    const f = { s, inflight: 0, progressed: false };
    s.on('message', () => {
      replies++;
      f.inflight--;
      f.progressed = true;
      if (running) {
        f.inflight++;
        s.send(payload, port, '127.0.0.1');
      }
    });
    await new Promise((r) => s.bind(0, '127.0.0.1', r));
    socks.push(f);
  }
  // Each flow's first datagram alone, answered before the measured part: every flow is bound by then.
  await Promise.all(socks.map((f) => new Promise((resolve) => {
    f.s.once('message', resolve);
    f.inflight++;
    f.s.send(head, port, '127.0.0.1');
  })));
  replies = 0;
  const t0 = performance.now();
  for (const f of socks) for (let k = 0; k < window; k++) (f.inflight++, f.s.send(payload, port, '127.0.0.1'));
  const watchdog = setInterval(() => {
    for (const f of socks) {
      if (!f.progressed && f.inflight > 0) {
        lost += f.inflight;
        f.inflight = window;
        for (let k = 0; k < window; k++) f.s.send(payload, port, '127.0.0.1');
      }
      f.progressed = false;
    }
  }, 100);
  await new Promise((r) => setTimeout(r, ms));
  running = false;
  clearInterval(watchdog);
  const elapsed = performance.now() - t0;
  const done = replies;
  await new Promise((r) => setTimeout(r, 50));
  for (const f of socks) f.s.close();
  return { replies: done, lost, ms: elapsed };
}

async function newFlows({ port, concurrency, ms, first }) {
  const head = Buffer.from(first, 'hex');
  let done = 0;
  let lost = 0;
  let next = 0;
  const deadline = performance.now() + ms;
  const t0 = performance.now();
  const one = () =>
    new Promise((resolve) => {
      const n = next++;
      const s = dgram.createSocket('udp4');
      const timer = setTimeout(() => (lost++, s.close(), resolve()), 1000);
      s.on('message', () => {
        clearTimeout(timer);
        done++;
        s.close();
        resolve();
      });
      // 127.4.0.0/14: a fresh source address per flow, so the proxy sees a new client every time.
      s.bind(0, `127.${4 + ((n >> 16) & 3)}.${(n >> 8) & 255}.${(n & 255) || 1}`, () => s.send(head, port, '127.0.0.1'));
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) await one();
    }),
  );
  return { flows: done, lost, ms: performance.now() - t0 };
}
