// The checks that need to know which detectors are loaded: run after the plugins are, before listening.
import type { ConfigIssue } from '../errors.js';
import { CATCHALL, splitRuleKey, type Config } from './model.js';

/** What a loaded detector's metadata says about the config it serves. */
export interface DetectorKeys {
  protocol: string;
  /** Key name → match kind (`hostname`, `exact`); absent means "not declared", so nothing is checked. */
  keys?: Record<string, string>;
}

export interface ProtocolReport {
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
}

export function checkProtocols(config: Config, detectors: readonly DetectorKeys[]): ProtocolReport {
  const report: ProtocolReport = { errors: [], warnings: [] };
  const loaded = [...new Set(detectors.map((d) => d.protocol))];

  for (const server of config.servers) {
    for (const protocol of server.protocols) {
      if (protocol.name === CATCHALL) continue;
      const providers = detectors.filter((d) => d.protocol === protocol.name);
      if (providers.length === 0) {
        report.errors.push({
          path: protocol.path,
          message: `no detector provides protocol ${protocol.name}; loaded: ${loaded.length ? loaded.join(', ') : 'none'}`,
        });
        continue;
      }
      // With several providers of one protocol, a key is declared if any declares it; one provider
      // without a declaration could report anything, so then nothing is checked.
      if (providers.some((d) => !d.keys)) continue;
      const kinds = new Map<string, string>();
      for (const d of providers) for (const [name, kind] of Object.entries(d.keys!)) if (!kinds.has(name)) kinds.set(name, kind);

      const seenHostnames = new Map<string, string>();
      for (const rule of protocol.rules) {
        const parts = splitRuleKey(rule.key);
        if (!parts) continue; // CATCHALL, or already warned about at load
        const kind = kinds.get(parts.name);
        if (kind === undefined) {
          report.warnings.push({
            path: rule.path,
            message: `the ${protocol.name} detector never reports key ${JSON.stringify(parts.name)} (it reports ${[...kinds.keys()].join(', ') || 'none'}), so this rule never matches`,
          });
          continue;
        }
        if (kind !== 'hostname') continue;
        // Host names compare in ASCII lower case without one trailing dot (DESIGN.md), so two spellings
        // of one name are one rule; the router keeps the first in the file.
        const norm = `${parts.name} ${parts.value.replace(/[A-Z]/g, (c) => c.toLowerCase()).replace(/\.$/, '')}`;
        const first = seenHostnames.get(norm);
        if (first !== undefined) {
          report.warnings.push({ path: rule.path, message: `same host name as ${first}; the first in the file wins, this rule is ignored` });
        } else {
          seenHostnames.set(norm, rule.path);
        }
      }
    }
  }
  return report;
}
