// The fast lane's cache of verified JWTs (verifiedTokenCache in src/fast-lane.ts): a token that
// verified is served from memory for at most 10 s and never past its exp; a token that fails is
// never cached, nor are invalid claims.
import t from 'tap'
import { verifiedTokenCache } from '../../src/fast-lane.js'

function setup () {
  let now = 1_000_000
  const calls: string[] = []
  const tokens: Record<string, { sub?: string; role?: string; rv?: number; exp?: number } | Error> = {
    good: { sub: 'u1', role: 'CLIENT', rv: 1, exp: 1_000_000 / 1000 + 60 },
    soon: { sub: 'u2', role: 'CLIENT', rv: 1, exp: 1_000_000 / 1000 + 3 },
    claims: { sub: 'u3', role: 'GUEST', rv: 1, exp: 1_000_000 / 1000 + 60 },
    bad: new Error('bad signature')
  }
  const principal = verifiedTokenCache((token) => {
    calls.push(token)
    const p = tokens[token]
    if (p === undefined || p instanceof Error) throw p ?? new Error('unknown')
    return p as never
  }, () => now)
  return { principal, calls, tokens, advance: (ms: number) => { now += ms } }
}

t.test('a verified token is kept for 10 s, then verified again', async (t) => {
  const s = setup()
  t.same(s.principal('good'), { kind: 'user', sub: 'u1', role: 'CLIENT', rv: 1 })
  s.advance(9_999)
  t.same(s.principal('good'), { kind: 'user', sub: 'u1', role: 'CLIENT', rv: 1 })
  t.same(s.calls, ['good'], 'one verification within 10 s')
  s.advance(1)
  s.principal('good')
  t.same(s.calls, ['good', 'good'], 'verified again at 10 s')
})

t.test('never past exp: an expiring token is verified again, and a failure is not served from memory', async (t) => {
  const s = setup()
  t.ok(s.principal('soon'))
  s.advance(2_999)
  t.ok(s.principal('soon'), 'still cached before its exp')
  t.equal(s.calls.length, 1)
  s.advance(1) // exp reached
  s.tokens.soon = new Error('jwt expired')
  t.equal(s.principal('soon'), undefined, 'expired: verify decides, and it refuses')
  t.equal(s.principal('soon'), undefined)
  t.same(s.calls, ['soon', 'soon', 'soon'], 'a refused token is never cached')
})

t.test('bad signatures and invalid claims are refused and not cached', async (t) => {
  const s = setup()
  t.equal(s.principal('bad'), undefined)
  t.equal(s.principal('claims'), undefined, 'a role the service does not know')
  t.equal(s.principal('claims'), undefined)
  t.same(s.calls, ['bad', 'claims', 'claims'])
})
