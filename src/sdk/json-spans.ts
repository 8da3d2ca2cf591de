// Where the parts of a JSON text are, without parsing it whole. The provider keeps each flag of a
// sync document as its own slice of the text (one byte per character) and parses a flag when it is
// first evaluated: at 10 000 flags, parsing the whole document at once would build about three
// times its size in objects, most of which no evaluation ever reads (docs/OPENFEATURE.md, "Memory").
// This only finds the boundaries of values; each slice is still checked by JSON.parse.

export class JsonSpanError extends Error {}

export type Span = readonly [start: number, end: number]

const QUOTE = 34; const BACKSLASH = 92; const COMMA = 44; const COLON = 58
const OPEN_OBJECT = 123; const CLOSE_OBJECT = 125; const OPEN_ARRAY = 91; const CLOSE_ARRAY = 93

function isSpace (c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9
}

export function skipSpace (t: string, i: number): number {
  while (i < t.length && isSpace(t.charCodeAt(i))) i++
  return i
}

/** Index just past the string whose opening quote is at i. */
function stringEnd (t: string, i: number): number {
  for (i++; i < t.length; i++) {
    const c = t.charCodeAt(i)
    if (c === BACKSLASH) i++
    else if (c === QUOTE) return i + 1
  }
  throw new JsonSpanError('unterminated string')
}

/** Index just past the JSON value that starts at i (no leading space). */
export function valueEnd (t: string, i: number): number {
  const first = t.charCodeAt(i)
  if (first === QUOTE) return stringEnd(t, i)
  if (first !== OPEN_OBJECT && first !== OPEN_ARRAY) {
    let j = i
    while (j < t.length) {
      const c = t.charCodeAt(j)
      if (c === COMMA || c === CLOSE_OBJECT || c === CLOSE_ARRAY || isSpace(c)) break
      j++
    }
    if (j === i) throw new JsonSpanError(`a value was expected at ${i}`)
    return j
  }
  let depth = 0
  for (let j = i; j < t.length; j++) {
    const c = t.charCodeAt(j)
    if (c === QUOTE) j = stringEnd(t, j) - 1
    else if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth++
    else if ((c === CLOSE_OBJECT || c === CLOSE_ARRAY) && --depth === 0) return j + 1
  }
  throw new JsonSpanError('unterminated object or array')
}

/** Calls `each` with the span of every element of the array that starts at i; returns the index past it. */
function eachItem (t: string, i: number, open: number, close: number, each: (i: number) => number): number {
  if (t.charCodeAt(i) !== open) throw new JsonSpanError(`'${String.fromCharCode(open)}' was expected at ${i}`)
  i = skipSpace(t, i + 1)
  if (t.charCodeAt(i) === close) return i + 1
  for (;;) {
    i = skipSpace(t, each(i))
    const c = t.charCodeAt(i)
    if (c === close) return i + 1
    if (c !== COMMA) throw new JsonSpanError(`',' or '${String.fromCharCode(close)}' was expected at ${i}`)
    i = skipSpace(t, i + 1)
  }
}

/** The spans of the elements of the JSON array that starts at i. */
export function arrayItems (t: string, i: number): Span[] {
  const out: Span[] = []
  eachItem(t, i, OPEN_ARRAY, CLOSE_ARRAY, (start) => {
    const end = valueEnd(t, start)
    out.push([start, end])
    return end
  })
  return out
}

/** The members of the JSON object that starts at i, each name with the span of its value, and the index past it. */
export function objectMembers (t: string, i: number): { members: Map<string, Span>; end: number } {
  const members = new Map<string, Span>()
  const end = eachItem(t, i, OPEN_OBJECT, CLOSE_OBJECT, (start) => {
    if (t.charCodeAt(start) !== QUOTE) throw new JsonSpanError(`a member name was expected at ${start}`)
    const nameEnd = stringEnd(t, start)
    const colon = skipSpace(t, nameEnd)
    if (t.charCodeAt(colon) !== COLON) throw new JsonSpanError(`':' was expected at ${colon}`)
    const valueStart = skipSpace(t, colon + 1)
    const valueStop = valueEnd(t, valueStart)
    members.set(JSON.parse(t.slice(start, nameEnd)) as string, [valueStart, valueStop])
    return valueStop
  })
  return { members, end }
}

/** The members of the JSON object that makes up the whole text (space around it allowed). */
export function topLevelMembers (t: string): Map<string, Span> {
  const { members, end } = objectMembers(t, skipSpace(t, 0))
  if (skipSpace(t, end) !== t.length) throw new JsonSpanError(`unexpected text after the object at ${end}`)
  return members
}
