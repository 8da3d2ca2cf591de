// The `matches` operator's patterns: the write-time safety check (no exponential backtracking)
// and the compiled, cached RegExp evaluation uses.
export const REGEX_MAX_LENGTH = 256

interface Quant { min: number; max: number } // max = Infinity when unbounded

/**
 * Why a `matches` pattern is refused, or null when it is accepted.
 *
 * Refused: longer than 256 characters; not a valid JavaScript RegExp with the `u` flag;
 * backreferences (`\1`, `\k<name>`); a repeated group (`*`, `+`, `{n,}`, `{n,m}` with m > 1)
 * containing another repetition — `(a+)+`, `(a*)*`, `(\d{1,3}\.){3}` too (write it out instead);
 * a repeated group whose alternatives may start with the same character — `(a|a)*`, `(a|ab)+`,
 * `(\w|-)+`. This is a conservative "star height" check in the spirit of safe-regex: it refuses
 * some harmless patterns so that no exponential-backtracking pattern gets through. Polynomial
 * patterns such as `.*a.*b` are accepted.
 */
export function validateRegex (pattern: unknown): string | null {
  if (typeof pattern !== 'string') return 'pattern must be a string'
  if (pattern.length > REGEX_MAX_LENGTH) return `pattern is longer than ${REGEX_MAX_LENGTH} characters`
  try {
    RegExp(pattern, 'u')
  } catch (err) {
    return `invalid regular expression: ${(err as Error).message}`
  }
  return checkBacktracking(pattern)
}

interface GroupFrame {
  /** Some repetition (max > 1) occurs inside this group. */
  repeats: boolean
  /** First-character key of each alternative: a lower-cased literal, '*' for "anything", '' for empty. */
  firsts: string[]
  current: string | null // first key of the alternative being read; null = nothing consumed yet
}
interface Atom {
  group: GroupFrame | null
  /** The atom is the first one of its alternative (it decided the alternative's first key). */
  first: boolean
}

function overlappingAlternatives (firsts: readonly string[]): boolean {
  if (firsts.length < 2) return false
  const seen = new Set<string>()
  for (const f of firsts) {
    if (f === '*' || f === '' || seen.has(f)) return true
    seen.add(f)
  }
  return false
}

// Runs on a syntactically valid `u` pattern, so quantifiers and classes are well formed.
function checkBacktracking (p: string): string | null {
  const stack: GroupFrame[] = [{ repeats: false, firsts: [], current: null }]
  let last: Atom | null = null
  const consumed = (key: string): boolean => {
    const top = stack[stack.length - 1]
    if (top.current !== null) return false
    top.current = key
    return true
  }
  let i = 0
  while (i < p.length) {
    const c = p[i]
    if (c === '\\') {
      const n = p[i + 1]
      if (n >= '1' && n <= '9') return 'backreferences are not allowed'
      if (n === 'k' && p[i + 2] === '<') return 'backreferences are not allowed'
      if (n === 'b' || n === 'B') { i += 2; last = null; continue } // assertions consume nothing
      let j = i + 2
      if (n === 'p' || n === 'P' || (n === 'u' && p[j] === '{')) j = p.indexOf('}', j) + 1
      else if (n === 'u') j += 4
      else if (n === 'x') j += 2
      else if (n === 'c') j += 1
      // An escaped syntax character is that literal character; classes (\d, \w, …) are "anything".
      last = { group: null, first: consumed(/[A-Za-z0-9]/.test(n) ? '*' : n) }
      i = j
      continue
    }
    if (c === '[') {
      // In JavaScript a `]` right after `[` or `[^` closes the class (`[]` matches nothing).
      let j = i + 1
      if (p[j] === '^') j++
      while (j < p.length && p[j] !== ']') j += p[j] === '\\' ? 2 : 1
      last = { group: null, first: consumed('*') }
      i = j + 1
      continue
    }
    if (c === '(') {
      let j = i + 1
      if (p[j] === '?') {
        if (p[j + 1] === ':' || p[j + 1] === '=' || p[j + 1] === '!') j += 2
        else if (p[j + 1] === '<' && (p[j + 2] === '=' || p[j + 2] === '!')) j += 3
        else if (p[j + 1] === '<') j = p.indexOf('>', j) + 1
      }
      stack.push({ repeats: false, firsts: [], current: null })
      last = null
      i = j
      continue
    }
    if (c === ')') {
      const g = stack.pop() as GroupFrame
      g.firsts.push(g.current ?? '')
      const parent = stack[stack.length - 1]
      if (g.repeats) parent.repeats = true
      const first = g.firsts.length === 1 ? g.firsts[0] : '*'
      last = { group: g, first: first !== '' && consumed(first) }
      i++
      continue
    }
    if (c === '|') {
      const top = stack[stack.length - 1]
      top.firsts.push(top.current ?? '')
      top.current = null
      last = null
      i++
      continue
    }
    if (c === '*' || c === '+' || c === '?' || c === '{') {
      let q: Quant
      if (c === '*') q = { min: 0, max: Infinity }
      else if (c === '+') q = { min: 1, max: Infinity }
      else if (c === '?') q = { min: 0, max: 1 }
      else {
        const end = p.indexOf('}', i)
        const [lo, hi] = p.slice(i + 1, end).split(',')
        q = { min: Number(lo), max: hi === undefined ? Number(lo) : hi === '' ? Infinity : Number(hi) }
        i = end
      }
      i++
      if (p[i] === '?') i++ // lazy quantifier: same backtracking space
      // An optional first atom means the alternative may start with whatever follows it.
      if (q.min === 0 && last?.first === true) stack[stack.length - 1].current = '*'
      if (q.max > 1) {
        const g = last?.group
        if (g != null) {
          if (g.repeats) return 'nested quantifiers (a repeated group containing a repetition, like (a+)+) are not allowed'
          if (overlappingAlternatives(g.firsts)) return 'a repeated group with alternatives that can match the same text (like (a|a)*) is not allowed'
        }
        stack[stack.length - 1].repeats = true
      }
      last = null
      continue
    }
    if (c === '^' || c === '$') { i++; last = null; continue }
    last = { group: null, first: consumed(c === '.' ? '*' : c.toLowerCase()) }
    i++
  }
  return null
}

const regexCache = new Map<string, RegExp | null>()

/** The compiled (cached) RegExp for a pattern; null when `validateRegex` refuses it. */
export function compileRegex (pattern: string, caseInsensitive = false): RegExp | null {
  const flags = caseInsensitive ? 'iu' : 'u'
  const key = flags + '/' + pattern
  let re = regexCache.get(key)
  if (re === undefined) {
    re = validateRegex(pattern) === null ? new RegExp(pattern, flags) : null
    if (regexCache.size >= 10_000) regexCache.clear()
    regexCache.set(key, re)
  }
  return re
}
