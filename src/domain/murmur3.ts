/**
 * MurmurHash3, x86 32-bit variant, over the UTF-8 bytes of a string.
 *
 * This is the rollout bucketing hash (DESIGN.md §5): `bucket = murmur3_x86_32("{salt}:{value}", 0)
 * % 100000`. Its output is part of the public contract — changing it would move users between
 * variants — so it is pinned by these vectors (checked in test/domain/murmur3.test.ts against
 * independent implementations):
 *
 * | input (UTF-8)                                   | seed       | hash         |
 * |-------------------------------------------------|------------|--------------|
 * | ""                                              | 0          | 0x00000000   |
 * | ""                                              | 1          | 0x514E28B7   |
 * | ""                                              | 0xFFFFFFFF | 0x81F16F39   |
 * | "a"                                             | 0          | 0x3C2569B2   |
 * | "ab"                                            | 0          | 0x9BBFD75F   |
 * | "abc"                                           | 0          | 0xB3DD93FA   |
 * | "abcd"                                          | 0          | 0x43ED676A   |
 * | "aaaa"                                          | 0x9747B28C | 0x5A97808A   |
 * | "hello"                                         | 0          | 0x248BFA47   |
 * | "hello"                                         | 1          | 0xBB4ABCAD   |
 * | "Hello, world!"                                 | 1234       | 0xFAF6CDB3   |
 * | "The quick brown fox jumps over the lazy dog"   | 0          | 0x2E4FF723   |
 * | "new-checkout:user-42"                          | 0          | 0x595CE766   |
 * | "héllo"                                         | 0          | 0xBC9FA068   |
 * | "日本語"                                         | 0          | 0xA5A47297   |
 * | "😀"                                            | 0          | 0xBEB42EFA   |
 *
 * Strings are hashed as UTF-8, the way every other SDK sees them; a lone surrogate is encoded as
 * U+FFFD (EF BF BD), exactly like `TextEncoder` and `Buffer.from(s, 'utf8')`.
 */

const C1 = 0xcc9e2d51
const C2 = 0x1b873593

// UTF-8 is written into one reused buffer (grown on demand): no allocation per call once warm,
// and much cheaper than TextEncoder for the short keys bucketing hashes.
let buf = new Uint8Array(256)

/** Write the UTF-8 bytes of `s` into `buf` from offset `p`; returns the new end offset. */
function encodeUtf8 (s: string, p: number): number {
  const n = s.length
  if (buf.length < p + n * 3) {
    const grown = new Uint8Array(Math.max(p + n * 3, buf.length * 2))
    grown.set(buf.subarray(0, p))
    buf = grown
  }
  const b = buf
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i)
    if (c < 0x80) {
      b[p++] = c
    } else if (c < 0x800) {
      b[p++] = 0xc0 | (c >> 6)
      b[p++] = 0x80 | (c & 0x3f)
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < n ? s.charCodeAt(i + 1) : 0
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00)
        i++
        b[p++] = 0xf0 | (c >> 18)
        b[p++] = 0x80 | ((c >> 12) & 0x3f)
        b[p++] = 0x80 | ((c >> 6) & 0x3f)
        b[p++] = 0x80 | (c & 0x3f)
      } else {
        b[p++] = 0xef; b[p++] = 0xbf; b[p++] = 0xbd // lone surrogate → U+FFFD
      }
    } else {
      b[p++] = 0xe0 | (c >> 12)
      b[p++] = 0x80 | ((c >> 6) & 0x3f)
      b[p++] = 0x80 | (c & 0x3f)
    }
  }
  return p
}

/** Hash `len` bytes of `b`, continuing from state `h1` (the seed for a fresh hash). */
function hashBytes (b: Uint8Array, len: number, h1: number): number {
  const blocks = len & ~3
  let k1: number
  let i = 0
  for (; i < blocks; i += 4) {
    k1 = b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)
    k1 = Math.imul(k1, C1)
    k1 = (k1 << 15) | (k1 >>> 17)
    k1 = Math.imul(k1, C2)
    h1 ^= k1
    h1 = (h1 << 13) | (h1 >>> 19)
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0
  }
  k1 = 0
  switch (len & 3) {
    case 3: k1 ^= b[i + 2] << 16 // falls through
    case 2: k1 ^= b[i + 1] << 8 // falls through
    case 1:
      k1 ^= b[i]
      k1 = Math.imul(k1, C1)
      k1 = (k1 << 15) | (k1 >>> 17)
      k1 = Math.imul(k1, C2)
      h1 ^= k1
  }
  h1 ^= len
  h1 ^= h1 >>> 16
  h1 = Math.imul(h1, 0x85ebca6b)
  h1 ^= h1 >>> 13
  h1 = Math.imul(h1, 0xc2b2ae35)
  h1 ^= h1 >>> 16
  return h1 >>> 0
}

/** MurmurHash3 x86_32 of the UTF-8 bytes of `key`; returns an unsigned 32-bit integer. */
export function murmur3_x86_32 (key: string, seed = 0): number {
  const len = encodeUtf8(key, 0)
  return hashBytes(buf, len, seed | 0)
}

/**
 * `murmur3_x86_32(prefix + key, seed)` without building the concatenated string (a concatenation
 * would be flattened, i.e. allocated, by the first charCodeAt). Used for `"{salt}:{value}"`.
 * The prefix must not end with a high surrogate (a rollout prefix ends with ":").
 */
export function murmur3_x86_32_concat (prefix: string, key: string, seed = 0): number {
  const len = encodeUtf8(key, encodeUtf8(prefix, 0))
  return hashBytes(buf, len, seed | 0)
}

/** Hash state after a fixed prefix, so that many keys can be hashed after it cheaply. */
export interface Murmur3Prefix {
  readonly prefix: string
  readonly seed: number
  readonly h1: number // state after the prefix's whole 4-byte blocks
  readonly k1: number // the prefix's leftover bytes, little-endian
  readonly shift: number // 8 × number of leftover bytes
  readonly len: number // prefix length in bytes
}

export function murmur3Prefix (prefix: string, seed = 0): Murmur3Prefix {
  const len = encodeUtf8(prefix, 0)
  let h1 = seed | 0
  const blocks = len & ~3
  for (let i = 0; i < blocks; i += 4) {
    let k1 = buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24)
    k1 = Math.imul(k1, C1)
    k1 = (k1 << 15) | (k1 >>> 17)
    k1 = Math.imul(k1, C2)
    h1 ^= k1
    h1 = (h1 << 13) | (h1 >>> 19)
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0
  }
  let k1 = 0
  for (let i = blocks; i < len; i++) k1 |= buf[i] << ((i - blocks) * 8)
  return { prefix, seed: seed | 0, h1, k1, shift: (len - blocks) * 8, len }
}

/**
 * `murmur3_x86_32(p.prefix + key, p.seed)`, continuing from the precomputed prefix state. ASCII
 * keys (the usual targeting keys) are hashed straight from their char codes; anything else takes
 * the UTF-8 path.
 */
export function murmur3_x86_32_after (p: Murmur3Prefix, key: string): number {
  let h1 = p.h1
  let k1 = p.k1
  let shift = p.shift
  const n = key.length
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i)
    if (c >= 0x80) return murmur3_x86_32_concat(p.prefix, key, p.seed)
    k1 |= c << shift
    shift += 8
    if (shift === 32) {
      k1 = Math.imul(k1, C1)
      k1 = (k1 << 15) | (k1 >>> 17)
      k1 = Math.imul(k1, C2)
      h1 ^= k1
      h1 = (h1 << 13) | (h1 >>> 19)
      h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0
      k1 = 0
      shift = 0
    }
  }
  if (shift !== 0) {
    k1 = Math.imul(k1, C1)
    k1 = (k1 << 15) | (k1 >>> 17)
    k1 = Math.imul(k1, C2)
    h1 ^= k1
  }
  h1 ^= p.len + n
  h1 ^= h1 >>> 16
  h1 = Math.imul(h1, 0x85ebca6b)
  h1 ^= h1 >>> 13
  h1 = Math.imul(h1, 0xc2b2ae35)
  h1 ^= h1 >>> 16
  return h1 >>> 0
}

/** MurmurHash3 x86_32 of raw bytes. */
export function murmur3_x86_32_bytes (bytes: Uint8Array, seed = 0): number {
  return hashBytes(bytes, bytes.length, seed | 0)
}
