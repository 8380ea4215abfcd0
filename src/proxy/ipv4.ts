/**
 * IPv4 helpers and kube-proxy's chain-name hash, shared by the rule generators and the tracer.
 */
import { hash } from 'node:crypto';

/** The address as an unsigned 32-bit number; NaN when not dotted-quad. */
export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) return Number.NaN;
  let n = 0;
  for (const p of parts) {
    const v = Number(p);
    if (!/^\d{1,3}$/.test(p) || v > 255) return Number.NaN;
    n = n * 256 + v;
  }
  return n;
}

/** Whether `ip` lies in `cidr` (`a.b.c.d/len`, or a bare address meaning /32). */
export function cidrContains(cidr: string, ip: string): boolean {
  const [base, lenText] = cidr.split('/');
  const len = lenText === undefined ? 32 : Number(lenText);
  const a = ipToInt(base ?? '');
  const b = ipToInt(ip);
  if (Number.isNaN(a) || Number.isNaN(b) || !(len >= 0 && len <= 32)) return false;
  if (len === 0) return true;
  const shift = 32 - len;
  return Math.floor(a / 2 ** shift) === Math.floor(b / 2 ** shift);
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (no padding needed: callers truncate). */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** Base32 alphabet as character codes, for {@link chainHash}. */
const BASE32_CODES = Array.from(BASE32, (c) => c.charCodeAt(0));
const hashCodes: number[] = [];

/** kube-proxy's chain hash: base32(sha256(text)) cut to `length` characters. */
export function chainHash(text: string, length: number): string {
  // One-shot hash with the digest as a 'binary' (latin1) string, a character per byte: half the cost of a
  // Buffer digest, which a proxy pays for every chain of an initial sync. Base32 of only the bytes
  // the kept characters come from, made in one fromCharCode (a flat string, not a rope).
  const digest = hash('sha256', text, 'binary');
  hashCodes.length = length;
  let bits = 0;
  let value = 0;
  for (let i = 0, n = 0; n < length; i++) {
    value = ((value << 8) | digest.charCodeAt(i)) & 0xffff;
    bits += 8;
    while (bits >= 5 && n < length) {
      hashCodes[n++] = BASE32_CODES[(value >>> (bits - 5)) & 31]!;
      bits -= 5;
    }
  }
  return String.fromCharCode.apply(null, hashCodes);
}
