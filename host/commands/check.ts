// `passthru check`: validates config and plugins as a start would, prints a summary, binds nothing.
import { CATCHALL } from '../config/model.js';
import { formatIssue, PassthruError } from '../errors.js';
import { createLogger } from '../log.js';
import { loadAll, type PassthruOptions } from '../main.js';

export async function runCheck(options: PassthruOptions, out: NodeJS.WritableStream): Promise<number> {
  const log = createLogger('silent');
  let loaded;
  try {
    loaded = await loadAll(options, log);
  } catch (err) {
    if (err instanceof PassthruError) {
      process.stderr.write(`passthru check: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const { config, detectors } = loaded;
  const warnings = loaded.warnings;
  const lines: string[] = [`${config.file}: OK (version ${config.version})`, 'detectors:'];
  for (const d of detectors.byProtocol.values()) {
    const keys = d.meta.keys ? Object.entries(d.meta.keys).map(([k, kind]) => `${k}:${kind}`).join(' ') : 'undeclared';
    lines.push(`  ${d.protocol.padEnd(10)} ${d.name} ${d.meta.version}  keys ${keys}  (${d.source})`);
  }
  for (const server of config.servers) {
    lines.push(`server ${server.address}:`);
    const opts = Object.entries(server.options).filter(([k, v]) => k !== 'acceptProxy' || v);
    if (opts.length) lines.push(`  options ${opts.map(([k, v]) => `${k}=${v}`).join(' ')}`);
    for (const p of server.protocols) {
      lines.push(`  ${p.name}${p.name === CATCHALL ? ' (fallback protocol)' : ''}`);
      for (const r of p.rules) lines.push(`    ${JSON.stringify(r.key).padEnd(28)} ${r.action}${r.toAddr ? ` ${r.toAddr}` : ''}${r.sendProxy ? ` (send_proxy ${r.sendProxy})` : ''}`);
    }
    if (!server.protocols.some((p) => p.name === CATCHALL)) lines.push('  (no CATCHALL protocol: undetected connections are rejected)');
  }
  if (warnings.length) {
    lines.push(`warnings (${warnings.length}):`);
    for (const w of warnings) lines.push(`  ${formatIssue(w)}`);
  }
  out.write(lines.join('\n') + '\n');
  return 0;
}
