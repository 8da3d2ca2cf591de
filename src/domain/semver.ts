/**
 * Semantic Versioning 2.0.0 (https://semver.org) parsing and precedence.
 *
 * Decisions:
 * - Strict grammar: exactly `MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]`. A leading `v` ("v1.2.3"),
 *   surrounding whitespace, leading zeros in numeric identifiers ("01.2.3") and partial versions
 *   ("1.2") are rejected. "v1.2.3" is a git tag, not a version; accepting it would make rules
 *   silently lenient in one place and strict in another (write validation uses the same parser),
 *   and callers can strip the `v` themselves.
 * - MAJOR, MINOR and PATCH above Number.MAX_SAFE_INTEGER are rejected (as node-semver does).
 *   Numeric pre-release identifiers have no limit: they are compared as digit strings.
 * - Build metadata is parsed and ignored for precedence, as the specification requires.
 * - Invalid input parses to null; the operators make an invalid version never match.
 */

export interface SemVer {
  major: number
  minor: number
  patch: number
  /** Pre-release identifiers; numeric ones are kept as digit strings with `numeric` set. */
  prerelease: ReadonlyArray<{ id: string; numeric: boolean }>
  build: readonly string[]
}

// The regular expression suggested by semver.org, anchored, without a leading "v".
const SEMVER_RE = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/
const NUMERIC_ID = /^\d+$/

/** Versions are short; anything longer is not a version a rule should be asked about. */
const MAX_LENGTH = 256

export function parseSemver (input: unknown): SemVer | null {
  if (typeof input !== 'string' || input.length > MAX_LENGTH) return null
  const m = SEMVER_RE.exec(input)
  if (m === null) return null
  const major = Number(m[1])
  const minor = Number(m[2])
  const patch = Number(m[3])
  if (major > Number.MAX_SAFE_INTEGER || minor > Number.MAX_SAFE_INTEGER || patch > Number.MAX_SAFE_INTEGER) return null
  const prerelease = m[4] === undefined
    ? []
    : m[4].split('.').map((id) => ({ id, numeric: NUMERIC_ID.test(id) }))
  const build = m[5] === undefined ? [] : m[5].split('.')
  return { major, minor, patch, prerelease, build }
}

/** Digit strings without leading zeros: the longer is larger, else compare lexically. */
function compareDigits (a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1
  return a < b ? -1 : a > b ? 1 : 0
}

/** SemVer precedence: negative when a < b, 0 when equal (build metadata ignored), positive when a > b. */
export function compareSemver (a: SemVer, b: SemVer): number {
  if (a.major !== b.major) return a.major < b.major ? -1 : 1
  if (a.minor !== b.minor) return a.minor < b.minor ? -1 : 1
  if (a.patch !== b.patch) return a.patch < b.patch ? -1 : 1
  const pa = a.prerelease
  const pb = b.prerelease
  // A version without pre-release identifiers has higher precedence than one with them.
  if (pa.length === 0) return pb.length === 0 ? 0 : 1
  if (pb.length === 0) return -1
  const n = Math.min(pa.length, pb.length)
  for (let i = 0; i < n; i++) {
    const x = pa[i]
    const y = pb[i]
    if (x.numeric && y.numeric) {
      const c = compareDigits(x.id, y.id)
      if (c !== 0) return c
    } else if (x.numeric !== y.numeric) {
      return x.numeric ? -1 : 1 // numeric identifiers have lower precedence than alphanumeric ones
    } else if (x.id !== y.id) {
      return x.id < y.id ? -1 : 1 // ASCII order
    }
  }
  return pa.length === pb.length ? 0 : pa.length < pb.length ? -1 : 1
}

/** Compare two version strings; null when either is not a valid SemVer. */
export function compareSemverStrings (a: string, b: string): number | null {
  const x = parseSemver(a)
  const y = parseSemver(b)
  return x === null || y === null ? null : compareSemver(x, y)
}
