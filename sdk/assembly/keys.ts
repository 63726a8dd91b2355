// Building the rule keys of a MATCH in the module's key buffer, without allocating. A key is
// `NAME value`; keys.add() starts one (committing the one before), match() commits the last. A key
// whose value did not fit or whose source bytes were out of range is dropped whole, so a
// half-written key never reaches the host.
//
//   keys.add("SNI").lower(w, off, n);
//   keys.add("ALPN").bytes(w, off, n);
//   return match();

import { KEY_PTR, KEY_CAP, KEY_SEPARATOR } from "./abi";
import { Bytes } from "./window";

// Writer state in globals rather than in the KeyWriter object: a global is one instruction away,
// and there is only ever one key buffer.
/** Bytes written, the open key included; POISONED once the open key lost a byte. */
let written: i32 = 0;
/** Bytes of committed keys: what match() reports. */
let committed: i32 = 0;
/**
 * `written` of a key that lost a byte. Past KEY_CAP, so room() refuses every further byte without a
 * separate flag, and commit() sees it and drops the key: fewer branches on every append.
 */
const POISONED: i32 = KEY_CAP + 1;

/** The key writer; use the `keys` instance. Methods return it, so calls chain. */
@final @unmanaged
export class KeyWriter {
  /** Starts the key `name ` (its name and the separating space), committing the open one. */
  add(name: string): KeyWriter {
    this.commit();
    if (committed > 0) put(KEY_SEPARATOR);
    this.ascii(name);
    put(0x20);
    return this;
  }

  /** Appends an ASCII literal. */
  ascii(s: string): KeyWriter {
    const n = s.length;
    for (let i = 0; i < n; i++) put(<u8>s.charCodeAt(i));
    return this;
  }

  /** Appends one byte. */
  byte(b: i32): KeyWriter {
    if (b < 0 || b > 0xff) written = POISONED;
    else put(<u8>b);
    return this;
  }

  /** Appends a non-negative number in decimal (a negative one drops the key: it is an OUT or BAD). */
  decimal(v: i64): KeyWriter {
    if (v < 0) {
      written = POISONED;
      return this;
    }
    let div: i64 = 1;
    while (v / div >= 10) div *= 10;
    while (div > 0) {
      put(<u8>(0x30 + <i32>((v / div) % 10)));
      div /= 10;
    }
    return this;
  }

  /** Appends `n` bytes of `src` at `off` as they are. */
  bytes(src: Bytes, off: i32, n: i32): KeyWriter {
    if (!room(n) || !src.copyTo(KEY_PTR + <usize>written, off, n)) {
      written = POISONED;
      return this;
    }
    written += n;
    return this;
  }

  /** Appends `n` bytes of `src` at `off` with ASCII A–Z lower-cased (other bytes unchanged). */
  lower(src: Bytes, off: i32, n: i32): KeyWriter {
    if (!room(n) || !src.has(off, n)) {
      written = POISONED;
      return this;
    }
    const dst = KEY_PTR + <usize>written;
    for (let i = 0; i < n; i++) {
      let b = load<u8>(src.ptr + <usize>(off + i));
      if (b >= 0x41 && b <= 0x5a) b |= 0x20;
      store<u8>(dst + <usize>i, b);
    }
    written += n;
    return this;
  }

  /** Drops the open key. */
  cancel(): KeyWriter {
    written = committed;
    return this;
  }

  /** Commits the open key; false if it was dropped. With no key open it changes nothing. */
  commit(): bool {
    const ok = written != POISONED;
    if (ok) committed = written;
    written = committed;
    return ok;
  }

  /** Bytes of committed keys. */
  get length(): i32 {
    return committed;
  }
}

/** The one key writer. */
export const keys: KeyWriter = changetype<KeyWriter>(memory.data(4));

/** Forgets every key: called by the generated entry before each detect(). */
export function resetKeys(): void {
  written = 0;
  committed = 0;
}

// @ts-ignore: decorator
@inline
function room(n: i32): bool {
  return n >= 0 && n <= KEY_CAP - written;
}

function put(b: u8): void {
  if (!room(1)) {
    written = POISONED;
    return;
  }
  store<u8>(KEY_PTR + <usize>written, b);
  written++;
}
