// The evaluation routes' fixed-window limiter (src/evaluation/rate-limiter.ts), on a fake clock.
import t from 'tap'
import { createRateLimiter, rateLimitHeaders } from '../../src/evaluation/rate-limiter.js'

t.test('a budget per key and per window', async (t) => {
  let now = 1_000_000
  const limiter = createRateLimiter({ max: 2, windowMs: 60_000, now: () => now })
  t.same(limiter.hit('a'), { allowed: true, limit: 2, remaining: 1, resetSeconds: 60 })
  now += 10_500
  t.same(limiter.hit('a'), { allowed: true, limit: 2, remaining: 0, resetSeconds: 50 }, 'seconds left, rounded up')
  t.equal(limiter.wouldAllow('a'), false)
  const refused = limiter.hit('a')
  t.same(refused, { allowed: false, limit: 2, remaining: 0, resetSeconds: 50 })
  t.same(rateLimitHeaders(refused), { 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '50', 'retry-after': '50' })
  t.ok(limiter.hit('b').allowed, 'another key has its own budget')
  t.equal(limiter.wouldAllow('b'), true, 'wouldAllow does not count')
  t.equal(limiter.hit('b').remaining, 0)
  now += 49_500
  t.same(limiter.hit('a'), { allowed: true, limit: 2, remaining: 1, resetSeconds: 60 }, 'a new window once the old one ends')
})

t.test('bounded: expired windows are swept first, then the oldest go', async (t) => {
  let now = 0
  const limiter = createRateLimiter({ max: 1, windowMs: 1_000, maxKeys: 3, now: () => now })
  for (const k of ['a', 'b', 'c']) limiter.hit(k)
  t.equal(limiter.size, 3)
  limiter.hit('d')
  t.equal(limiter.size, 3, 'the oldest window (a) made room')
  t.equal(limiter.wouldAllow('a'), true)
  t.equal(limiter.wouldAllow('b'), false, 'b keeps its spent budget')
  now = 2_000
  limiter.hit('e')
  t.equal(limiter.size, 1, 'every expired window swept')
})
