// The checks of a config that need the loaded detectors' transports (detector.json `transports`,
// absent = stream only): a udp:// server runs only datagram detectors, a TCP server only stream
// ones; and the server options and rule fields that mean nothing on UDP.
import type { ConfigIssue } from '../errors.js';
import { CATCHALL, type Config } from '../config/model.js';
import type { Transport } from '../plugin/metadata.js';

export interface DetectorTransports {
  protocol: string;
  name: string;
  /** As declared; absent means `["stream"]`. */
  transports?: readonly Transport[] | undefined;
}

export interface TransportReport {
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
}

const takes = (d: DetectorTransports, t: Transport): boolean => (d.transports ?? ['stream']).includes(t);

export function checkTransports(config: Config, detectors: Iterable<DetectorTransports>): TransportReport {
  const report: TransportReport = { errors: [], warnings: [] };
  const byProtocol = new Map<string, DetectorTransports>();
  for (const d of detectors) byProtocol.set(d.protocol, d);
  const providing = (t: Transport): string =>
    [...byProtocol.values()].filter((d) => takes(d, t)).map((d) => d.protocol).sort().join(', ') || 'none';

  for (const server of config.servers) {
    const want: Transport = server.udp ? 'datagram' : 'stream';
    for (const protocol of server.protocols) {
      if (protocol.name === CATCHALL) continue;
      const d = byProtocol.get(protocol.name);
      if (!d) continue; // checkProtocols reports the missing detector
      if (takes(d, want)) continue;
      report.errors.push({
        path: protocol.path,
        message: server.udp
          ? `the ${protocol.name} detector (${d.name}) takes TCP streams only (its metadata declares no "datagram" transport), so a udp:// server cannot run it; datagram detectors loaded: ${providing('datagram')}`
          : `the ${protocol.name} detector (${d.name}) takes UDP datagrams only: name it under a udp://host:port server; stream detectors loaded: ${providing('stream')}`,
      });
    }
    if (!server.udp) continue;
    const o = server.options;
    // accept_proxy would read a PROXY header in front of a stream; no load balancer sends one per datagram here.
    if (o.acceptProxy) report.errors.push({ path: `${server.path}.options.accept_proxy`, message: 'accept_proxy is not supported on a udp:// server' });
    if (o.connectTimeoutMs !== undefined) {
      report.warnings.push({ path: `${server.path}.options.connect_timeout`, message: 'connect_timeout is ignored on a udp:// server (a UDP backend has no connection to set up)' });
    }
    if (o.idleTimeoutMs === 0) {
      report.warnings.push({ path: `${server.path}.options.idle_timeout`, message: 'idle_timeout 0 (never) cannot apply to a udp:// server, whose flows end only when idle: --udp-idle-timeout applies' });
    }
    for (const protocol of server.protocols) {
      for (const rule of protocol.rules) {
        if (rule.sendProxy) report.errors.push({ path: `${rule.path}.send_proxy`, message: 'send_proxy is not supported on a udp:// server (PROXY headers are sent on streams only)' });
      }
    }
  }
  return report;
}
