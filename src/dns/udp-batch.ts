/**
 * Batched UDP through the native addon in native/udp-batch: one `recvmmsg` drains up to `SLOTS`
 * datagrams, one JavaScript call answers them all, one `sendmmsg` sends the replies. Node's dgram
 * spends one JS callback and one `sendmsg` per datagram, more than the DNS work itself costs.
 * Everything is allocated once here and shared with the addon; nothing is allocated per datagram
 * but the `subarray` view a handler gets.
 */
import { type LoadedAddon, loadNativeAddon } from '../native.js';

/** Datagrams per batch. */
export const SLOTS = 64;
/** Bytes per received datagram: no DNS query is longer; longer ones are dropped. */
export const SLOT_SIZE = 4096;
/** Bytes the replies of one batch share; a reply that does not fit goes out on its own. */
const OUT_SIZE = 256 * 1024;

interface Addon {
  ADDR_SIZE: number;
  open(
    host: string,
    port: number,
    slotSize: number,
    input: Buffer,
    inLens: Int32Array,
    addrs: Buffer,
    out: Buffer,
    outOffs: Int32Array,
    outLens: Int32Array,
    onBatch: (count: number) => void,
  ): { handle: object; port: number };
  sendTo(handle: object, bytes: Uint8Array, addr: Uint8Array): boolean;
  stats(handle: object): [number, number, number, number];
  close(handle: object): void;
}

function load(): LoadedAddon<Addon> {
  return loadNativeAddon<Addon>('udp-batch');
}

/** Whether batched UDP can be used here; `reason` says why not. */
export function batchUdpAvailable(): { ok: true } | { ok: false; reason: string } {
  if (process.platform !== 'linux') return { ok: false, reason: 'recvmmsg/sendmmsg are Linux only' };
  const l = load();
  return 'addon' in l ? { ok: true } : { ok: false, reason: l.error };
}

/** Counters of one socket since it opened. */
export interface BatchUdpStats {
  batches: number;
  datagrams: number;
  /** Replies the kernel had no room for (EAGAIN): dropped, as a UDP client retries. */
  dropped: number;
  /** Replies the kernel refused for another reason (e.g. an unreachable address). */
  sendErrors: number;
}

/**
 * The view a batch handler gets. For datagram `i < count`: `message(i)` is its bytes (valid
 * until the handler returns), `reply(i, bytes)` answers it (copied at once), `peer(i)` is a copy
 * of its sender for `sendTo` later. Datagrams without a `reply` get none.
 */
export class UdpBatch {
  readonly input = Buffer.alloc(SLOTS * SLOT_SIZE);
  readonly inLens = new Int32Array(SLOTS);
  readonly addrs: Buffer;
  readonly out: Buffer;
  readonly outOffs = new Int32Array(SLOTS);
  readonly outLens = new Int32Array(SLOTS);
  /** Bytes of `out` used by this batch's replies so far. */
  used = 0;

  constructor(
    private readonly addrSize: number,
    private readonly sendNow: (bytes: Uint8Array, addr: Uint8Array) => boolean,
    outSize: number,
  ) {
    this.addrs = Buffer.alloc(SLOTS * addrSize);
    this.out = Buffer.alloc(outSize);
  }

  /** Datagram i's bytes; undefined for one that was longer than a slot (dropped). */
  message(i: number): Buffer | undefined {
    const len = this.inLens[i];
    if (len < 0) return undefined;
    const start = i * SLOT_SIZE;
    return this.input.subarray(start, start + len);
  }

  reply(i: number, bytes: Uint8Array): void {
    const off = this.used;
    if (off + bytes.length > this.out.length) {
      this.sendNow(bytes, this.addrs.subarray(i * this.addrSize, (i + 1) * this.addrSize));
      return;
    }
    this.out.set(bytes, off);
    this.outOffs[i] = off;
    this.outLens[i] = bytes.length;
    this.used = off + bytes.length;
  }

  peer(i: number): Buffer {
    return Buffer.from(this.addrs.subarray(i * this.addrSize, (i + 1) * this.addrSize));
  }
}

/** A UDP socket bound to a literal IPv4 or IPv6 address, read and written in batches. */
export class BatchUdpSocket {
  readonly port: number;
  private readonly addon: Addon;
  private readonly handle: object;
  private open = true;

  /**
   * Binds host:port (port 0: any free one). Throws like dgram's bind (err.code EADDRINUSE, …).
   * `outSize`: bytes of the batch's reply buffer (tests make it small).
   */
  constructor(host: string, port: number, onBatch: (batch: UdpBatch, count: number) => void, outSize = OUT_SIZE) {
    const l = load();
    if (!('addon' in l)) throw new Error(l.error);
    const addon = l.addon;
    const batch = new UdpBatch(addon.ADDR_SIZE, (bytes, addr) => this.sendTo(bytes, addr), outSize);
    const opened = addon.open(
      host,
      port,
      SLOT_SIZE,
      batch.input,
      batch.inLens,
      batch.addrs,
      batch.out,
      batch.outOffs,
      batch.outLens,
      (count) => {
        batch.used = 0;
        onBatch(batch, count);
      },
    );
    this.addon = addon;
    this.handle = opened.handle;
    this.port = opened.port;
  }

  /** Sends one datagram now, outside a batch; false if it was dropped (or the socket is closed). */
  sendTo(bytes: Uint8Array, peer: Uint8Array): boolean {
    return this.open && this.addon.sendTo(this.handle, bytes, peer);
  }

  stats(): BatchUdpStats {
    const [batches, datagrams, dropped, sendErrors] = this.addon.stats(this.handle);
    return { batches, datagrams, dropped, sendErrors };
  }

  /** Closes the socket; the port is free when this returns. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.addon.close(this.handle);
  }
}
