// How each proxy under test is configured and started. Every one gets the same job: TLS with
// SNI bench.test → the TLS backend, anything else → the plain backend, on 127.0.0.1:listenPort.

import { accessSync, constants, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export const SNI = 'bench.test';

/** Absolute path of an executable on PATH (plus the sbin dirs a non-login shell may lack), or null. */
export function findBinary(name) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * Each peer: `prepare(ctx)` writes its config and returns {bin, args}, or {skip: reason}.
 * ctx = {dir, listenPort, tlsPort, plainPort, root, profileDir}.
 * `idleLimit`: most idle connections the peer is known to survive (the memory figure is skipped past it).
 */
export const PEERS = [
  {
    name: 'passthru',
    label: 'Passthru (default I/O)',
    own: true,
    prepare(ctx) {
      const file = join(ctx.dir, `passthru-${ctx.listenPort}.json`);
      const config = {
        version: 'v0.2.0',
        servers: {
          [`127.0.0.1:${ctx.listenPort}`]: {
            TLS: { [`SNI ${SNI}`]: { action: 'FORWARD', to_addr: `127.0.0.1:${ctx.tlsPort}` } },
            CATCHALL: { CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${ctx.plainPort}` } },
          },
        },
      };
      writeFileSync(file, JSON.stringify(config, null, 2));
      const nodeArgs = ctx.profileDir ? ['--cpu-prof', '--cpu-prof-dir', ctx.profileDir] : [];
      // warn: the per-connection info line would otherwise be part of what is measured.
      return { bin: process.execPath, args: [...nodeArgs, join(ctx.dist, 'host', 'cli.js'), '-c', file, '-t', '5s', '--log-level', 'warn'] };
    },
  },
  // The host's other I/O paths, forced with PASSTHRU_IO, beside the default (raw TCP handles when
  // its self-test passes): the differences are what each step bought. Counted as Passthru, never
  // as peers.
  ioVariant('fast', 'Passthru (fast I/O: net.Socket + shared read buffer)'),
  ioVariant('portable', "Passthru (portable I/O: 'data' events)"),
  {
    name: 'sslh',
    label: 'sslh (fork)',
    prepare(ctx) {
      const bin = findBinary('sslh');
      if (!bin) return { skip: 'sslh not installed (apt-get install -y sslh)' };
      return { bin, args: sslhArgs(ctx) };
    },
  },
  {
    name: 'sslh-select',
    label: 'sslh-select',
    // select() caps it at FD_SETSIZE (1024) descriptors, two per forwarded connection.
    idleLimit: 500,
    prepare(ctx) {
      const bin = findBinary('sslh-select');
      if (!bin) return { skip: 'sslh-select not installed (apt-get install -y sslh)' };
      return { bin, args: sslhArgs(ctx) };
    },
  },
  {
    name: 'haproxy',
    label: 'HAProxy',
    prepare(ctx) {
      const bin = findBinary('haproxy');
      if (!bin) return { skip: 'haproxy not installed (apt-get install -y haproxy)' };
      const file = join(ctx.dir, 'haproxy.cfg');
      // Two descriptors per forwarded connection; HAProxy refuses a maxconn its fd limit cannot carry.
      const maxconn = Math.floor((ctx.nofile - 100) / 2);
      writeFileSync(
        file,
        `global
    maxconn ${maxconn}
    nbthread 1
defaults
    mode tcp
    maxconn ${maxconn}
    timeout connect 10s
    timeout client 1h
    timeout server 1h
frontend fe
    bind 127.0.0.1:${ctx.listenPort}
    tcp-request inspect-delay 5s
    tcp-request content accept if { req.ssl_hello_type 1 }
    use_backend tls if { req.ssl_sni -i ${SNI} }
    default_backend plain
backend tls
    server s1 127.0.0.1:${ctx.tlsPort}
backend plain
    server s1 127.0.0.1:${ctx.plainPort}
`,
      );
      return { bin, args: ['-db', '-f', file] };
    },
  },
  {
    name: 'nginx',
    label: 'nginx',
    prepare(ctx) {
      const bin = findBinary('nginx');
      if (!bin) return { skip: 'nginx not installed (apt-get install -y nginx libnginx-mod-stream)' };
      const module = ['/usr/lib/nginx/modules/ngx_stream_module.so', '/usr/lib64/nginx/modules/ngx_stream_module.so'].find((f) => {
        try {
          accessSync(f);
          return true;
        } catch {
          return false;
        }
      });
      if (!module) return { skip: 'nginx stream module missing (apt-get install -y libnginx-mod-stream)' };
      const file = join(ctx.dir, 'nginx.conf');
      // ssl_preread declines at once on a first byte that is not a TLS handshake record, so the
      // map's default carries plain connections without waiting for preread_timeout.
      writeFileSync(
        file,
        `load_module ${module};
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile ${ctx.nofile};
pid ${join(ctx.dir, 'nginx.pid')};
error_log ${join(ctx.dir, 'nginx-error.log')} warn;
events { worker_connections ${ctx.nofile - 100}; }
stream {
    map $ssl_preread_server_name $backend {
        ${SNI} 127.0.0.1:${ctx.tlsPort};
        default 127.0.0.1:${ctx.plainPort};
    }
    server {
        listen 127.0.0.1:${ctx.listenPort} backlog=4096;
        ssl_preread on;
        proxy_pass $backend;
        proxy_timeout 1h;
    }
}
`,
      );
      return { bin, args: ['-c', file, '-p', ctx.dir, '-e', join(ctx.dir, 'nginx-error.log')] };
    },
  },
];

function ioVariant(mode, label) {
  return {
    name: `passthru-${mode}`,
    label,
    own: true,
    prepare(ctx) {
      const hostDir = join(ctx.dist, 'host');
      const knows = readdirSync(hostDir)
        .filter((f) => f.endsWith('.js'))
        .some((f) => {
          const text = readFileSync(join(hostDir, f), 'utf8');
          return text.includes('PASSTHRU_IO') && text.includes(`'${mode}'`);
        });
      if (!knows) return { skip: `this host build has no PASSTHRU_IO=${mode}` };
      return { ...PEERS[0].prepare(ctx), env: { PASSTHRU_IO: mode } };
    },
  };
}

function sslhArgs(ctx) {
  return ['-f', '-n', '-p', `127.0.0.1:${ctx.listenPort}`, '--tls', `127.0.0.1:${ctx.tlsPort}`, '--anyprot', `127.0.0.1:${ctx.plainPort}`];
}

/** Version strings for the results header. */
export const VERSION_COMMANDS = {
  sslh: ['sslh', ['-V']],
  haproxy: ['haproxy', ['-v']],
  nginx: ['nginx', ['-v']],
};
