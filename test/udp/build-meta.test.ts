// An author declares the transports a detector takes in package.json's "passthru" block; the build
// writes them into the metadata section as host/plugin/metadata.ts reads it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAuthorProject, validateMeta } from '../../host/plugin/build.js';

const base = { abi: 1, name: 'wg', protocol: 'WG', version: '1.0.0' };

describe('transports in a detector project', () => {
  it('validateMeta accepts ["datagram"] and ["stream","datagram"], refuses anything else', () => {
    expect(validateMeta({ ...base, transports: ['datagram'] }, 'x').transports).toEqual(['datagram']);
    expect(validateMeta({ ...base, transports: ['stream', 'datagram'] }, 'x').transports).toEqual(['stream', 'datagram']);
    for (const bad of [[], ['udp'], ['datagram', 'datagram'], 'datagram']) {
      expect(() => validateMeta({ ...base, transports: bad }, 'pkg')).toThrow(/"transports" must be a non-empty array/);
    }
  });

  it('package.json "passthru.transports" reaches the metadata; absent stays absent (stream only)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'passthru-udp-project-'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'wg', version: '1.0.0', passthru: { protocol: 'WG', transports: ['datagram'] } }));
    expect((await readAuthorProject(dir)).meta.transports).toEqual(['datagram']);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'wg', version: '1.0.0', passthru: { protocol: 'WG' } }));
    expect((await readAuthorProject(dir)).meta.transports).toBeUndefined();
  });
});
