// Reads the declared limits of a module's own memory from the binary. The JS API cannot tell a
// memory's maximum (the type-reflection proposal is not in Node 20), and the sandbox depends on it.

export interface MemoryLimits {
  /** Pages at instantiation. */
  initial: number;
  /** Declared maximum in pages, or undefined when the module declares none. */
  maximum: number | undefined;
  shared: boolean;
  memory64: boolean;
}

const MEMORY_SECTION = 5;
const HEADER_BYTES = 8;

/** Limits of every memory the module defines (not imports), in index order. Throws on a malformed binary. */
export function definedMemories(wasm: Uint8Array): MemoryLimits[] {
  let pos = HEADER_BYTES;
  const readU32 = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (pos >= wasm.length) throw new Error('truncated LEB128');
      const b = wasm[pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new Error('LEB128 too long');
    }
  };
  while (pos < wasm.length) {
    const id = wasm[pos++]!;
    const size = readU32();
    const end = pos + size;
    if (end > wasm.length) throw new Error('section past the end of the module');
    if (id === MEMORY_SECTION) {
      const count = readU32();
      const memories: MemoryLimits[] = [];
      for (let i = 0; i < count; i++) {
        const flags = readU32();
        const initial = readU32();
        const maximum = flags & 1 ? readU32() : undefined;
        memories.push({ initial, maximum, shared: (flags & 2) !== 0, memory64: (flags & 4) !== 0 });
      }
      return memories;
    }
    pos = end;
  }
  return [];
}
