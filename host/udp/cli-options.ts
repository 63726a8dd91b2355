// The command line's UDP flags, kept here so that cli.ts only chains them in.
import type { Argv } from 'yargs';
import { parsePositiveDuration } from '../duration.js';
import { UsageError } from '../errors.js';
import { DEFAULT_MAX_FLOWS, DEFAULT_UDP_IDLE_TIMEOUT_MS } from './flow-table.js';
import type { UdpOptions } from './udp-runtime.js';

export function withUdp<T>(y: Argv<T>) {
  return y
    .option('udp-idle-timeout', {
      type: 'string',
      describe: 'a UDP flow with no datagram either way for this long ends (a Go duration; greater than zero)',
      default: `${DEFAULT_UDP_IDLE_TIMEOUT_MS / 1000}s`,
      requiresArg: true,
    })
    .option('udp-max-flows', {
      type: 'number',
      describe: 'flows per UDP listener; over it, datagrams of new clients are dropped',
      default: DEFAULT_MAX_FLOWS,
      requiresArg: true,
    });
}

export function udpOptions(args: { 'udp-idle-timeout': string; 'udp-max-flows': number }): Required<UdpOptions> {
  const max = args['udp-max-flows'];
  if (!Number.isInteger(max) || max < 1) throw new UsageError(`--udp-max-flows: ${max} is not a whole number of at least 1`);
  return { udpIdleTimeoutMs: parsePositiveDuration(args['udp-idle-timeout'], '--udp-idle-timeout'), udpMaxFlows: max };
}
