import t from 'tap'
import fc from 'fast-check'
import { createRequire } from 'node:module'
import { murmur3Prefix, murmur3_x86_32, murmur3_x86_32_after, murmur3_x86_32_bytes, murmur3_x86_32_concat } from '../../src/domain/murmur3.js'

// Independent implementation #1: the murmurhash3js package (what unleash-client uses). It hashes
// the low byte of each UTF-16 unit, so it is fed the UTF-8 bytes as a latin1 "binary string".
const require = createRequire(import.meta.url)
const murmurhash3js = require('murmurhash3js') as { x86: { hash32: (key: string, seed?: number) => number } }
const viaPackage = (s: string, seed: number): number =>
  murmurhash3js.x86.hash32(Buffer.from(s, 'utf8').toString('latin1'), seed)

// Independent implementation #2: a literal transcription of the reference C code, byte-wise,
// with BigInt arithmetic mod 2^32 (no Math.imul, no shared code with src/).
const M32 = 0xffffffffn
const mul = (a: bigint, b: bigint): bigint => (a * b) & M32
const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (32n - r))) & M32
function reference (s: string, seed: number): number {
  const data = Buffer.from(s, 'utf8')
  const c1 = 0xcc9e2d51n
  const c2 = 0x1b873593n
  let h1 = BigInt(seed >>> 0)
  const nblocks = Math.floor(data.length / 4)
  for (let i = 0; i < nblocks; i++) {
    let k1 = BigInt(data[4 * i]) | (BigInt(data[4 * i + 1]) << 8n) | (BigInt(data[4 * i + 2]) << 16n) | (BigInt(data[4 * i + 3]) << 24n)
    k1 = mul(k1, c1); k1 = rotl(k1, 15n); k1 = mul(k1, c2)
    h1 ^= k1; h1 = rotl(h1, 13n); h1 = (mul(h1, 5n) + 0xe6546b64n) & M32
  }
  const tail = nblocks * 4
  let k1 = 0n
  const rem = data.length & 3
  if (rem >= 3) k1 ^= BigInt(data[tail + 2]) << 16n
  if (rem >= 2) k1 ^= BigInt(data[tail + 1]) << 8n
  if (rem >= 1) {
    k1 ^= BigInt(data[tail])
    k1 = mul(k1, c1); k1 = rotl(k1, 15n); k1 = mul(k1, c2); h1 ^= k1
  }
  h1 ^= BigInt(data.length)
  h1 ^= h1 >> 16n; h1 = mul(h1, 0x85ebca6bn)
  h1 ^= h1 >> 13n; h1 = mul(h1, 0xc2b2ae35n)
  h1 ^= h1 >> 16n
  return Number(h1)
}

// The same table as the doc comment in src/domain/murmur3.ts.
const VECTORS: Array<[string, number, number]> = [
  ['', 0, 0x00000000],
  ['', 1, 0x514e28b7],
  ['', 0xffffffff, 0x81f16f39],
  ['a', 0, 0x3c2569b2],
  ['ab', 0, 0x9bbfd75f],
  ['abc', 0, 0xb3dd93fa],
  ['abcd', 0, 0x43ed676a],
  ['aaaa', 0x9747b28c, 0x5a97808a],
  ['hello', 0, 0x248bfa47],
  ['hello', 1, 0xbb4abcad],
  ['Hello, world!', 1234, 0xfaf6cdb3],
  ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
  ['new-checkout:user-42', 0, 0x595ce766],
  ['héllo', 0, 0xbc9fa068],
  ['日本語', 0, 0xa5a47297],
  ['😀', 0, 0xbeb42efa]
]

t.test('published and pinned vectors', async (t) => {
  for (const [input, seed, expected] of VECTORS) {
    const name = `${JSON.stringify(input)} seed ${seed}`
    t.equal(murmur3_x86_32(input, seed), expected, `ours: ${name}`)
    t.equal(reference(input, seed), expected, `reference: ${name}`)
    t.equal(viaPackage(input, seed), expected, `murmurhash3js: ${name}`)
  }
})

t.test('the published vectors from the brief', async (t) => {
  t.equal(murmur3_x86_32('', 0), 0)
  t.equal(murmur3_x86_32('', 1), 0x514e28b7)
  t.equal(murmur3_x86_32('hello', 0), 0x248bfa47)
  t.equal(murmur3_x86_32('The quick brown fox jumps over the lazy dog', 0), 0x2e4ff723)
})

t.test('agrees with both independent implementations on random strings and seeds', async () => {
  fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 64 }), fc.integer({ min: 0, max: 0xffffffff }), (s, seed) => {
    const ours = murmur3_x86_32(s, seed)
    return ours === reference(s, seed) && ours === viaPackage(s, seed)
  }), { numRuns: 2000 })
})

t.test('lone surrogates hash as U+FFFD, like TextEncoder', async (t) => {
  for (const s of ['\ud800', 'a\udc00b', 'x\ud83d', '\udfff\ud800']) {
    t.equal(murmur3_x86_32(s), murmur3_x86_32_bytes(new TextEncoder().encode(s)), JSON.stringify(s))
  }
})

t.test('long strings (buffer growth) and the byte entry point', async (t) => {
  const long = 'ü'.repeat(5000) + 'x'.repeat(3)
  t.equal(murmur3_x86_32(long, 7), reference(long, 7))
  t.equal(murmur3_x86_32_bytes(Buffer.from('hello')), 0x248bfa47)
})

t.test('prefix variants equal hashing the concatenation', async () => {
  fc.assert(fc.property(fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.nat(), (salt, key, seed) => {
    const prefix = `${salt}:`
    const whole = murmur3_x86_32(prefix + key, seed)
    return murmur3_x86_32_concat(prefix, key, seed) === whole &&
      murmur3_x86_32_after(murmur3Prefix(prefix, seed), key) === whole
  }), { numRuns: 2000 })
})
