// Reads a process tree's CPU time and memory from /proc. Peers differ in shape (one process,
// master + worker, one fork per connection), so every figure is summed over the whole tree.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';

let ticksPerSecond;
/** USER_HZ: /proc reports times in these ticks (100 on every Linux we know, but ask). */
export function clockTicks() {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** Fields of /proc/PID/stat after the command name, which may itself hold spaces and parentheses. */
function statFields(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** The pid and every live descendant, from one scan of /proc. */
export function processTree(root) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(name);
    if (!f) continue;
    const ppid = Number(f[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(name));
  }
  const out = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop();
    out.push(pid);
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return out;
}

/**
 * CPU seconds (user + system) used by the tree so far. cutime/cstime carry the time of children
 * already reaped (sslh's per-connection forks), so the sum only grows while the root lives.
 */
export function treeCpuSeconds(root) {
  let ticks = 0;
  for (const pid of processTree(root)) {
    const f = statFields(pid);
    if (!f) continue;
    // utime, stime, cutime, cstime are fields 14-17 of stat; f[0] is field 3.
    ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  }
  return ticks / clockTicks();
}

/**
 * Memory of the tree in KiB. PSS, not RSS: with one process per connection (sslh fork) RSS counts
 * every shared page once per process; for a single process the two move together.
 */
export function treeMemoryKiB(root) {
  let pss = 0;
  let rss = 0;
  for (const pid of processTree(root)) {
    try {
      const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      pss += Number(/^Pss:\s+(\d+)/m.exec(text)?.[1] ?? 0);
      rss += Number(/^Rss:\s+(\d+)/m.exec(text)?.[1] ?? 0);
    } catch {
      // gone between the scan and the read
    }
  }
  return { pss, rss };
}

/** True once something listens on 127.0.0.1:port (read from /proc, so no probe connection is made). */
export function isListening(port) {
  const hex = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const text = readFileSync('/proc/net/tcp', 'utf8');
  return text.split('\n').some((line) => {
    const cols = line.trim().split(/\s+/);
    return cols[1] === hex && cols[3] === '0A';
  });
}

const CPUACCT = '/sys/fs/cgroup/cpuacct';

/**
 * A cgroup-v1 cpuacct group for the proxy, when the machine lets us make one. It counts every task
 * that ever ran in it, in ns: unlike /proc's cutime, it keeps the time of sslh's per-connection
 * children, which sslh lets the kernel reap unseen (SIGCHLD ignored) so that no parent is charged.
 * Returns null where cgroups are not writable; callers fall back to treeCpuSeconds().
 */
export function cpuGroup(name) {
  const dir = `${CPUACCT}/${name}`;
  try {
    if (!existsSync(`${CPUACCT}/cpuacct.usage`)) return null;
    mkdirSync(dir, { recursive: true });
    readFileSync(`${dir}/cpuacct.usage`, 'utf8');
  } catch {
    return null;
  }
  return {
    procs: `${dir}/cgroup.procs`,
    seconds: () => Number(readFileSync(`${dir}/cpuacct.usage`, 'utf8')) / 1e9,
    remove() {
      try {
        rmdirSync(dir);
      } catch {
        // still has a task: left for the next run, which reuses it
      }
    },
  };
}
