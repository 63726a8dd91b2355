// The CNXN message an adb host sends first to a device's TCP port (`adb connect host:port`;
// AOSP's packages/modules/adb/protocol.txt). Every adb message is a 24-byte little-endian header
// and a payload:
//
//   command (u32) | arg0 | arg1 | data_length | data_check | magic (= command ^ 0xffffffff) | payload
//
// CNXN: arg0 = protocol version, arg1 = the largest payload the host accepts, payload =
// "systemtype:serial:banner" (the host sends "host::features=…").
//
// Pure: no verdicts or keys (index.ts).

import { Bytes, OUT } from "passthru-mux/sdk";

/** "CNXN" read as a little-endian u32. */
const A_CNXN: i64 = 0x4e584e43;
const HEADER: i32 = 24;
/** Protocol versions are 0x01000000 (A_VERSION_MIN) and 0x01000001 (A_VERSION); the high byte is 1. */
const VERSION_MAJOR: i64 = 0x01;
/**
 * A CNXN payload must fit MAX_PAYLOAD_V1 (4 KiB): the peer's maximum is not known before it
 * answers. So a longer data_length is not a CNXN, and the payload always fits the window.
 */
export const MAX_CNXN_PAYLOAD: i32 = 4096;
/** The largest payload size a host may announce in arg1 (MAX_PAYLOAD, 1 MiB). */
const MAX_PAYLOAD: i64 = 1024 * 1024;

export enum Status {
  COMPLETE = 0,
  INCOMPLETE = 1,
  INVALID = 2,
}

export function parse(w: Bytes): Status {
  // The command, byte by byte, so another protocol is out at its first byte.
  const p = w.startsWith(0, "CNXN");
  if (p != 1) return p == 0 ? Status.INVALID : Status.INCOMPLETE;
  const version = w.u32le(4);
  if (version == <i64>OUT) return Status.INCOMPLETE;
  if (version >> 24 != VERSION_MAJOR) return Status.INVALID;
  const maxdata = w.u32le(8);
  if (maxdata == <i64>OUT) return Status.INCOMPLETE;
  if (maxdata == 0 || maxdata > MAX_PAYLOAD) return Status.INVALID;
  const len = w.u32le(12);
  if (len == <i64>OUT) return Status.INCOMPLETE;
  if (len > <i64>MAX_CNXN_PAYLOAD) return Status.INVALID;
  const check = w.u32le(16);
  const magic = w.u32le(20);
  if (magic == <i64>OUT) return Status.INCOMPLETE;
  if (magic != (A_CNXN ^ 0xffffffff)) return Status.INVALID;

  const n = <i32>len;
  if (!w.has(HEADER, n)) return Status.INCOMPLETE;
  // data_check is the byte sum of the payload; adb since 2016 (protocol 0x01000001) may send 0.
  if (check != 0) {
    let sum: i64 = 0;
    for (let i = 0; i < n; i++) sum += w.u8(HEADER + i);
    if (sum != check) return Status.INVALID;
  }
  // "systemtype:": letters, then a colon (host, device, bootloader, recovery, sideload, rescue).
  let i = 0;
  while (i < n) {
    const c = w.u8(HEADER + i);
    if (c == 0x3a) break;
    if (c < 0x61 || c > 0x7a) return Status.INVALID;
    i++;
  }
  return i > 0 && i < n ? Status.COMPLETE : Status.INVALID;
}
