// `--metrics HOST:PORT`: Prometheus text at /metrics and a health check at /healthz, on their own
// listener (never on a proxied port: a scrape must not be sniffed or routed).
import http from 'node:http';
import type { HostPort } from './config/model.js';
import { ListenError } from './errors.js';

export interface MetricsServer {
  readonly port: number;
  /** /healthz answers 503 from now on (draining: a load balancer should stop sending). */
  setDraining(): void;
  close(): Promise<void>;
}

/** `collect`: the exposition text (one process's registry, or the cluster's aggregate). */
export async function startMetricsServer(at: HostPort, collect: () => Promise<string>, contentType: string): Promise<MetricsServer> {
  let draining = false;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      collect().then(
        (text) => res.writeHead(200, { 'content-type': contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics unavailable: ${err.message}\n`),
      );
    } else if (path === '/healthz') {
      res.writeHead(draining ? 503 : 200, { 'content-type': 'text/plain' }).end(draining ? 'draining\n' : 'ok\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new ListenError(`metrics ${at.host}:${at.port}`, err.code ?? err.message, { cause: err })));
    server.listen({ host: at.host === '' ? undefined : at.host, port: at.port }, resolve);
  });
  const a = server.address();
  return {
    port: a && typeof a === 'object' ? a.port : at.port,
    setDraining: () => {
      draining = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
