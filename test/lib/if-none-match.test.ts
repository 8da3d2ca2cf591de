// If-None-Match is judged one way on every cacheable read (OFREP bulk, GET /sdk/v1/flags): weak
// comparison (RFC 9110 §13.1.2), lists, `*`, and a header sent twice (Node joins it, Fastify
// may hand over an array).
import t from 'tap'
import { ifNoneMatchMatches } from '../../src/if-match.js'

t.test('If-None-Match', async (t) => {
  const tag = '"1-dev-7"'
  t.ok(ifNoneMatchMatches(tag, tag))
  t.ok(ifNoneMatchMatches(`W/${tag}`, tag), 'weak form of the tag')
  t.ok(ifNoneMatchMatches(`"x", ${tag}`, tag), 'in a list')
  t.ok(ifNoneMatchMatches(` ${tag} `, tag), 'spaces around it')
  t.ok(ifNoneMatchMatches('*', tag))
  t.ok(ifNoneMatchMatches(['"x"', tag], tag), 'sent twice')
  t.notOk(ifNoneMatchMatches(undefined, tag))
  t.notOk(ifNoneMatchMatches('"1-dev-8"', tag))
  t.notOk(ifNoneMatchMatches('1-dev-7', tag), 'unquoted is another tag')
  t.notOk(ifNoneMatchMatches('', tag))
})
