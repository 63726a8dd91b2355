// The datagram window: framing, growth, caps, and the detection loop over the real OPENVPN and DNS
// detectors on their captured UDP fixtures.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ServerConfig } from '../../host/config/model.js';
import { parseConfig } from '../../host/config/load.js';
import { loadDetectorFile } from '../../host/plugin/loader.js';
import type { Detector } from '../../host/plugin/sandbox.js';
import { compileServer } from '../../host/router.js';
import type { Candidate } from '../../host/sniffer.js';
import { DatagramSniffer, frameDatagrams, MAX_SNIFF_DATAGRAMS, RECORD_HEADER_BYTES, unframeDatagrams, writeRecord } from '../../host/udp/datagram-window.js';
import { fixtureDir, wasmPath } from '../helpers/detector-fixtures.js';
import { detectorFile, recordsDetector, waitingDetector } from '../helpers/udp-detectors.js';

const fixture = (plugin: string, file: string) => readFileSync(`${fixtureDir(plugin)}${file}`);

describe('record framing', () => {
  it('u16 BE length, then the datagram; empty datagrams are records too', () => {
    const framed = frameDatagrams([Buffer.from('ab'), Buffer.alloc(0), Buffer.alloc(300, 7)]);
    expect(framed.subarray(0, 4)).toEqual(Buffer.from([0, 2, 0x61, 0x62]));
    expect(framed.subarray(4, 6)).toEqual(Buffer.from([0, 0]));
    expect(framed.subarray(6, 8)).toEqual(Buffer.from([1, 44]));
    expect(framed.length).toBe(3 * RECORD_HEADER_BYTES + 302);
    expect(unframeDatagrams(framed)).toEqual([Buffer.from('ab'), Buffer.alloc(0), Buffer.alloc(300, 7)]);
  });

  it('a record cut by the room left keeps its full length in the header', () => {
    const out = Buffer.alloc(10);
    expect(writeRecord(out, 0, Buffer.alloc(100, 1), 10)).toBe(10);
    expect(out.readUInt16BE(0)).toBe(100);
    expect(writeRecord(out, 0, Buffer.alloc(5), 1)).toBe(0);
  });

  it('the captured UDP fixtures are framed as the host frames datagrams', () => {
    const retry = fixture('openvpn', 'openvpn-udp-retry.bin');
    const datagrams = unframeDatagrams(retry);
    expect(datagrams).toHaveLength(2);
    expect(frameDatagrams(datagrams)).toEqual(retry);
    expect(unframeDatagrams(fixture('dns', 'dig-udp-two-records.bin'))).toHaveLength(2);
  });
});

describe('DatagramSniffer', () => {
  let openvpn: Detector;
  let dns: Detector;
  beforeAll(async () => {
    [openvpn, dns] = await Promise.all([loadDetectorFile(wasmPath('openvpn')), loadDetectorFile(wasmPath('dns'))]);
  });

  const server = (sections: Record<string, unknown>): ServerConfig =>
    parseConfig(JSON.stringify({ version: 'v0.2.0', servers: { 'udp://127.0.0.1:0': sections } }), 'test.json').servers[0]!;

  function sniffer(sections: Record<string, unknown>, windowCap = 16384, maxDatagrams = MAX_SNIFF_DATAGRAMS) {
    const router = compileServer(server(sections), (p) => (p === 'DNS' ? dns : openvpn).meta.keys);
    const candidates: Candidate[] = router.protocols.map((routes) => ({ routes, detector: routes.protocol === 'DNS' ? dns : openvpn }));
    return new DatagramSniffer(router, candidates, windowCap, maxDatagrams);
  }

  const both = {
    DNS: { 'QNAME www.example.com': { action: 'FORWARD', to_addr: '127.0.0.1:5301' } },
    OPENVPN: { CATCHALL: { action: 'FORWARD', to_addr: '127.0.0.1:1194' } },
    CATCHALL: { CATCHALL: { action: 'FORWARD', to_addr: '127.0.0.1:9' } },
  };

  it('routes a captured OpenVPN datagram and a captured dig query on their first datagram', () => {
    const vpn = sniffer(both).push(unframeDatagrams(fixture('openvpn', 'openvpn-udp.bin'))[0]!);
    expect(vpn).toMatchObject({ reason: 'match', matched: 'OPENVPN', keys: ['OPCODE P_CONTROL_HARD_RESET_CLIENT_V2'] });
    expect(vpn!.route.to).toEqual({ host: '127.0.0.1', port: 1194 });
    const q = sniffer(both).push(unframeDatagrams(fixture('dns', 'dig-udp-a.bin'))[0]!);
    expect(q).toMatchObject({ reason: 'match', matched: 'DNS', keys: ['QNAME www.example.com', 'QTYPE A'] });
    expect(q!.route.to).toEqual({ host: '127.0.0.1', port: 5301 });
  });

  it('the window the detectors see is the framed datagrams so far', () => {
    const s = sniffer({ OPENVPN: { CATCHALL: { action: 'REJECT' } } });
    const cut = Buffer.from([0x38, 1, 2]); // an opcode byte, then too short for a reset: NO_MATCH at once
    expect(s.push(cut)).toMatchObject({ reason: 'no-match' });
    expect(s.view).toEqual(frameDatagrams([cut]));
  });

  it('no detector matches garbage: the CATCHALL protocol applies, or REJECT without one', () => {
    expect(sniffer(both).push(Buffer.from('garbage datagram'))).toMatchObject({ reason: 'no-match', matched: undefined, route: { rule: 'CATCHALL', action: 'FORWARD' } });
    expect(sniffer({ OPENVPN: {} }).push(Buffer.from('garbage'))).toMatchObject({ reason: 'no-match', route: { action: 'REJECT', rule: '(no rule)' } });
  });

  it('gives up after the datagram cap and at the byte cap (window-full)', async () => {
    const waiting = await loadDetectorFile(await detectorFile('wait', waitingDetector('WAIT')));
    const waitSniffer = (windowCap: number, maxDatagrams: number) => {
      const router = compileServer(server({ WAIT: {}, CATCHALL: { CATCHALL: { action: 'REJECT' } } }), () => undefined);
      return new DatagramSniffer(router, [{ routes: router.protocols[0]!, detector: waiting }], windowCap, maxDatagrams);
    };
    const s = waitSniffer(16384, 3);
    expect(s.push(Buffer.from('one'))).toBeUndefined();
    expect(s.push(Buffer.from('two'))).toBeUndefined();
    expect(s.push(Buffer.from('three'))).toMatchObject({ reason: 'window-full', route: { protocol: 'CATCHALL' } });
    expect(s.datagrams).toBe(3);
    // The byte cap: a first datagram bigger than the window is seen cut to the window, then it is full.
    const tiny = waitSniffer(512, 8);
    expect(tiny.push(Buffer.alloc(2000, 1))).toMatchObject({ reason: 'window-full' });
    expect(tiny.view.length).toBe(512);
    expect(tiny.view.readUInt16BE(0)).toBe(2000);
  });

  it('appends the next datagram while the detector says NEED_MORE', async () => {
    const two = await loadDetectorFile(await detectorFile('two', recordsDetector('TWO', 2)));
    const router = compileServer(server({ TWO: { CATCHALL: { action: 'FORWARD', to_addr: '127.0.0.1:7' } } }), () => undefined);
    const s = new DatagramSniffer(router, [{ routes: router.protocols[0]!, detector: two }], 16384);
    const first = Buffer.alloc(1200, 0xc3);
    expect(s.push(first)).toBeUndefined();
    expect(s.view).toEqual(frameDatagrams([first]));
    const second = Buffer.alloc(900, 0x41);
    expect(s.push(second)).toMatchObject({ reason: 'match', matched: 'TWO', route: { action: 'FORWARD' } });
    expect(s.view).toEqual(frameDatagrams([first, second]));
    s.release();
    expect(s.view.length).toBe(0);
  });

  it('a CATCHALL-only server decides without asking', () => {
    const s = sniffer({ CATCHALL: { CATCHALL: { action: 'FORWARD', to_addr: '127.0.0.1:9' } } });
    expect(s.decidesAtOnce).toBe(true);
    expect(s.immediate()).toMatchObject({ reason: 'immediate', route: { action: 'FORWARD' } });
  });
});
