// The `passthru.detector` custom section: what a detector says about itself.
import { CATCHALL, SERVER_OPTIONS_KEY } from '../config/model.js';
import { ABI_VERSION, METADATA_SECTION } from './abi.js';

/**
 * How rules match a key name's values: `hostname` lower-cases and allows `*.` wildcards, `exact`
 * compares bytes, `prefix` (URL paths) matches the longest rule that is a prefix ending at a `/`.
 */
export type KeyKind = 'hostname' | 'exact' | 'prefix';
export const KEY_KINDS: readonly KeyKind[] = ['hostname', 'exact', 'prefix'];

/** How a detector's window reaches it (shared decision of issue 13): a TCP stream, or UDP datagrams as `u16 BE length ‖ bytes` records. */
export type Transport = 'stream' | 'datagram';
export const TRANSPORTS: readonly Transport[] = ['stream', 'datagram'];

export interface DetectorMeta {
  abi: number;
  name: string;
  protocol: string;
  version: string;
  /** Key names the detector reports and how rules match them; absent means every key is `exact`. */
  keys?: Record<string, KeyKind>;
  /** The transports the detector takes; absent means `["stream"]`. */
  transports?: Transport[];
}

/** Protocol names are config section names: no spaces, and CATCHALL is the host's own. */
const PROTOCOL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
/** A section bigger than this is not metadata; refusing it bounds what a plugin can make us parse. */
const MAX_METADATA_BYTES = 4096;

/** Reads and validates the metadata section; returns the reason as a string when it is unusable. */
export function readMetadata(module: WebAssembly.Module): DetectorMeta | string {
  const sections = WebAssembly.Module.customSections(module, METADATA_SECTION);
  if (sections.length === 0) return `no "${METADATA_SECTION}" custom section`;
  if (sections.length > 1) return `${sections.length} "${METADATA_SECTION}" custom sections (expected one)`;
  const raw = sections[0]!;
  if (raw.byteLength > MAX_METADATA_BYTES) return `"${METADATA_SECTION}" section is ${raw.byteLength} bytes (max ${MAX_METADATA_BYTES})`;
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch (err) {
    return `"${METADATA_SECTION}" section is not UTF-8 JSON: ${(err as Error).message}`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `"${METADATA_SECTION}" must be a JSON object`;
  const m = value as Record<string, unknown>;
  if (m.abi !== ABI_VERSION) return `metadata abi is ${JSON.stringify(m.abi)}; this host speaks abi ${ABI_VERSION}`;
  for (const field of ['name', 'protocol', 'version'] as const) {
    if (typeof m[field] !== 'string' || m[field] === '') return `metadata.${field} must be a non-empty string`;
  }
  const protocol = m.protocol as string;
  if (!PROTOCOL_NAME.test(protocol)) return `metadata.protocol ${JSON.stringify(protocol)} is not a valid protocol name (letters, digits, _ . -)`;
  if (protocol === CATCHALL) return 'metadata.protocol may not be CATCHALL (reserved for the fallback protocol)';
  if (protocol === SERVER_OPTIONS_KEY) return `metadata.protocol may not be ${JSON.stringify(SERVER_OPTIONS_KEY)} (a server's options object has that key)`;
  const meta: DetectorMeta = { abi: ABI_VERSION, name: m.name as string, protocol, version: m.version as string };
  if (m.keys !== undefined) {
    if (typeof m.keys !== 'object' || m.keys === null || Array.isArray(m.keys)) return 'metadata.keys must be an object';
    const keys: Record<string, KeyKind> = {};
    for (const [name, kind] of Object.entries(m.keys)) {
      if (!KEY_NAME.test(name) || name === CATCHALL) return `metadata.keys has an invalid key name ${JSON.stringify(name)}`;
      if (!KEY_KINDS.includes(kind as KeyKind)) return `metadata.keys.${name} must be one of ${KEY_KINDS.map((k) => `"${k}"`).join(', ')}`;
      keys[name] = kind as KeyKind;
    }
    meta.keys = keys;
  }
  if (m.transports !== undefined) {
    const t = m.transports;
    if (!Array.isArray(t) || t.length === 0 || !t.every((x) => TRANSPORTS.includes(x as Transport)) || new Set(t).size !== t.length) {
      return `metadata.transports must be a non-empty array of distinct ${TRANSPORTS.map((x) => `"${x}"`).join(', ')}`;
    }
    meta.transports = t as Transport[];
  }
  return meta;
}
