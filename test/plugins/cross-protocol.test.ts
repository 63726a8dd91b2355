// Every bundled detector against every fixture of every plugin (plugins/*/fixtures/manifest.json):
// a detector may MATCH only its own protocol's bytes. A manifest's fixtures are its plugin's
// protocol unless an entry says otherwise with "protocol".

import { describe, it, expect, beforeAll } from 'vitest';
import type { RawDetector } from '../../host/plugin/conformance.js';
import { fixtureBytes, loadDetector, loadManifest, pluginsWithFixtures, MATCH, type Fixture } from '../helpers/detector-fixtures.js';

/** Every prefix is tried for fixtures up to this size; bigger ones whole only (16 K prefixes × 4 detectors is slow). */
const PREFIX_SWEEP_MAX = 4096;

const plugins = pluginsWithFixtures();
const detectors = new Map<string, RawDetector>();

beforeAll(async () => {
  for (const p of plugins) detectors.set(p, await loadDetector(p));
});

interface Case {
  plugin: string;
  fixture: Fixture;
  protocol: string;
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const plugin of plugins) {
    for (const fixture of loadManifest(plugin)) {
      out.push({ plugin, fixture, protocol: fixture.protocol ?? '' });
    }
  }
  return out;
}

describe('cross-protocol', () => {
  it('finds the manifests of all bundled detectors', () => {
    expect(plugins).toEqual(expect.arrayContaining(['adb', 'dns', 'http', 'minecraft', 'openvpn', 'postgres', 'proxy', 'rdp', 'socks', 'ssh', 'tinc', 'tls', 'xmpp']));
  });

  describe.each(cases())('$plugin/$fixture.file', ({ plugin, fixture, protocol }) => {
    it('no other protocol\'s detector MATCHes it, whole, with eof, or any prefix', () => {
      const b = fixtureBytes(plugin, fixture);
      const own = protocol || detectors.get(plugin)!.meta.protocol;
      for (const [name, det] of detectors) {
        if (det.meta.protocol === own) continue;
        for (const eof of [false, true]) {
          if (det.detect(b, eof).verdict === MATCH) expect.fail(`${name} MATCHes ${plugin}/${fixture.file} (eof ${eof})`);
        }
        if (b.length > PREFIX_SWEEP_MAX) continue;
        for (let n = 0; n < b.length; n++) {
          if (det.detect(b.subarray(0, n), false).verdict === MATCH) expect.fail(`${name} MATCHes ${n} bytes of ${plugin}/${fixture.file}`);
        }
      }
    });

    if (protocol) {
      it(`is a real ${protocol} capture: that protocol's detector MATCHes it`, () => {
        const det = [...detectors.values()].find((d) => d.meta.protocol === protocol);
        expect(det, `no detector for ${protocol}`).toBeDefined();
        expect(det!.detect(fixtureBytes(plugin, fixture), false).verdict).toBe(MATCH);
      });
    }
  });
});
