// Issue 4 through the API: each flag type created, targeted and evaluated; the explain route;
// segment changes seen on the next evaluation; write-time validation naming the field.
import t from 'tap'
import { build } from '../helper.js'

t.test('targeting through the API', async (t) => {
  const ctx = await build(t)
  const admin = await ctx.loginAs('ADMIN')
  const client = await ctx.loginAs('CLIENT')
  const post = (url: string, payload: unknown, auth = admin) => ctx.app.inject({ method: 'POST', url, headers: { authorization: auth }, payload: payload as object })
  // Changing existing state requires If-Match: send the ETag of a fresh read, as a client would.
  const etagOf = async (url: string) => String((await ctx.app.inject({ method: 'GET', url, headers: { authorization: admin } })).headers.etag)
  const evaluate = async (feature: string, context: Record<string, unknown>, environment = 'prod') => {
    const res = await post('/features/evaluate', { feature, environment, context }, client)
    t.equal(res.statusCode, 200, res.body)
    return res.json()
  }

  t.test('segments: create, use in a rule, change, refuse delete while used', async (t) => {
    const seg = await post('/segments', { key: 'beta-testers', included: ['u-included'], excluded: ['u-excluded'], rules: [{ clauses: [{ attribute: 'email', operator: 'endsWith', values: ['@beta.example'] }] }] })
    t.equal(seg.statusCode, 201, seg.body)
    const flag = await post('/features', {
      name: 'checkout-theme',
      type: 'string',
      variants: [{ key: 'classic', value: 'classic' }, { key: 'modern', value: 'modern' }, { key: 'off', value: 'none' }],
      environments: {
        prod: {
          enabled: true,
          offVariant: 'off',
          defaultServe: { variant: 'classic' },
          targets: [{ variant: 'modern', values: ['vip-1'] }],
          rules: [
            { id: 'beta', clauses: [{ attribute: 'targetingKey', operator: 'segmentMatch', values: ['beta-testers'] }], serve: { variant: 'modern' } },
            { id: 'fr-mobile', clauses: [{ attribute: 'country', operator: 'in', values: ['FR'] }, { attribute: 'appVersion', operator: 'semverGte', values: ['2.0.0'] }], serve: { rollout: { variants: [{ variant: 'classic', weight: 50_000 }, { variant: 'modern', weight: 50_000 }] } } }
          ]
        }
      }
    })
    t.equal(flag.statusCode, 201, flag.body)
    t.match(await evaluate('checkout-theme', { targetingKey: 'vip-1' }), { value: 'modern', reason: 'TARGETING_MATCH', ruleId: 'target:modern' })
    t.match(await evaluate('checkout-theme', { targetingKey: 'u-included' }), { value: 'modern', reason: 'TARGETING_MATCH', ruleId: 'beta' })
    t.match(await evaluate('checkout-theme', { targetingKey: 'u-excluded', email: 'x@beta.example' }), { value: 'classic', reason: 'DEFAULT' })
    t.match(await evaluate('checkout-theme', { targetingKey: 'u9', email: 'x@beta.example' }), { value: 'modern', ruleId: 'beta' })
    const split = await evaluate('checkout-theme', { targetingKey: 'u10', country: 'FR', appVersion: '2.1.0' })
    t.equal(split.reason, 'SPLIT')
    t.equal(split.ruleId, 'fr-mobile')
    t.match(await evaluate('checkout-theme', { targetingKey: 'u10', country: 'FR', appVersion: '1.9.9' }), { value: 'classic', reason: 'DEFAULT' })

    // Changing the segment is seen on the next evaluation (the env item's snapshot is refreshed).
    const unseen = await ctx.app.inject({ method: 'PUT', url: '/segments/beta-testers', headers: { authorization: admin }, payload: { included: ['u-new'], excluded: [], rules: [] } })
    t.equal(unseen.statusCode, 428, `replacing a segment without If-Match: ${unseen.body}`)
    t.equal(unseen.headers['content-type'], 'application/problem+json; charset=utf-8')
    t.match(await evaluate('checkout-theme', { targetingKey: 'u-included' }), { value: 'modern', ruleId: 'beta' }, 'the unconditional write changed nothing')
    const segTag = await etagOf('/segments/beta-testers')
    const upd = await ctx.app.inject({ method: 'PUT', url: '/segments/beta-testers', headers: { authorization: admin, 'if-match': segTag }, payload: { included: ['u-new'], excluded: [], rules: [] } })
    t.equal(upd.statusCode, 200, upd.body)
    t.not(upd.headers.etag, segTag, 'the segment moved to a new version')
    const stale = await ctx.app.inject({ method: 'PUT', url: '/segments/beta-testers', headers: { authorization: admin, 'if-match': segTag }, payload: { included: [], excluded: [], rules: [] } })
    t.equal(stale.statusCode, 412, `stale segment If-Match: ${stale.body}`)
    t.match(await evaluate('checkout-theme', { targetingKey: 'u-included' }), { value: 'classic', reason: 'DEFAULT' })
    t.match(await evaluate('checkout-theme', { targetingKey: 'u-new' }), { value: 'modern', ruleId: 'beta' })

    const delUnseen = await ctx.app.inject({ method: 'DELETE', url: '/segments/beta-testers', headers: { authorization: admin } })
    t.equal(delUnseen.statusCode, 428, `deleting a segment without If-Match: ${delUnseen.body}`)
    const del = await ctx.app.inject({ method: 'DELETE', url: '/segments/beta-testers', headers: { authorization: admin, 'if-match': '*' } })
    t.equal(del.statusCode, 409, del.body)
    const got = await ctx.app.inject({ method: 'GET', url: '/segments/beta-testers', headers: { authorization: admin } })
    t.same(got.json().usedBy, [{ flag: 'checkout-theme', environment: 'prod' }])

    const explain = await post('/features/checkout-theme/env/prod/explain', { context: { targetingKey: 'u10', country: 'FR', appVersion: '2.1.0' } })
    t.equal(explain.statusCode, 200, explain.body)
    const steps = (explain.json().trace as Array<{ step: string }>).map((s) => s.step)
    t.ok(steps.includes('targets') && steps.includes('rule') && steps.includes('rollout'), steps.join(','))

    // Once no flag uses it, the segment can go.
    const off = await ctx.app.inject({ method: 'DELETE', url: '/features/checkout-theme', headers: { authorization: admin, 'if-match': await etagOf('/features/checkout-theme') } })
    t.equal(off.statusCode, 204)
    const del2 = await ctx.app.inject({ method: 'DELETE', url: '/segments/beta-testers', headers: { authorization: admin, 'if-match': await etagOf('/segments/beta-testers') } })
    t.equal(del2.statusCode, 204, del2.body)
  })

  t.test('number and json flags', async (t) => {
    const num = await post('/features', { name: 'max-items', type: 'number', variants: [{ key: 'low', value: 10 }, { key: 'high', value: 100 }], environments: { prod: { enabled: true, offVariant: 'low', defaultServe: { variant: 'low' }, rules: [{ id: 'pro', clauses: [{ attribute: 'plan', operator: 'in', values: ['pro'] }], serve: { variant: 'high' } }] } } })
    t.equal(num.statusCode, 201, num.body)
    t.match(await evaluate('max-items', { targetingKey: 'a', plan: 'pro' }), { value: 100, variant: 'high' })
    t.match(await evaluate('max-items', { targetingKey: 'a', plan: 'free' }), { value: 10, reason: 'DEFAULT' })
    const obj = await post('/features', { name: 'banner', type: 'json', variants: [{ key: 'a', value: { text: 'hi', color: 'red' } }, { key: 'none', value: null }], environments: { prod: { enabled: true, offVariant: 'none', defaultServe: { variant: 'a' } } } })
    t.equal(obj.statusCode, 201, obj.body)
    t.match(await evaluate('banner', { targetingKey: 'a' }), { value: { text: 'hi', color: 'red' }, reason: 'STATIC' })
  })

  t.test('write-time validation names the offending field', async (t) => {
    const cases: Array<[string, unknown, string]> = [
      ['bad regex', { name: 'v1', environments: { prod: { enabled: true, rules: [{ id: 'r', clauses: [{ attribute: 'a', operator: 'matches', values: ['(a+)+$'] }], serve: { variant: 'on' } }] } } }, '/environments/prod/rules/0/clauses/0/values/0'],
      ['missing variant', { name: 'v2', environments: { prod: { enabled: true, defaultServe: { variant: 'nope' } } } }, '/environments/prod/defaultServe'],
      ['weights', { name: 'v3', environments: { prod: { enabled: true, defaultServe: { rollout: { variants: [{ variant: 'on', weight: 10 }, { variant: 'off', weight: 10 }] } } } } }, '/environments/prod/defaultServe/rollout'],
      ['missing segment', { name: 'v4', environments: { prod: { enabled: true, rules: [{ id: 'r', clauses: [{ attribute: 'targetingKey', operator: 'segmentMatch', values: ['ghost'] }], serve: { variant: 'on' } }] } } }, '/environments/prod/rules/0/clauses/0/values/0'],
      ['type mismatch', { name: 'v5', type: 'number', variants: [{ key: 'x', value: 'ten' }], environments: {} }, '/variants/0/value'],
      ['unknown operator', { name: 'v6', environments: { prod: { enabled: true, rules: [{ id: 'r', clauses: [{ attribute: 'a', operator: 'like', values: ['x'] }], serve: { variant: 'on' } }] } } }, '/body/environments/prod']
    ]
    for (const [what, body, path] of cases) {
      const res = await post('/features', body)
      t.equal(res.statusCode, 400, `${what}: ${res.body}`)
      t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
      t.ok((res.json().errors as Array<{ path: string }> ?? []).some((e) => e.path.startsWith(path)) || String(res.json().detail).includes(path), `${what}: ${res.body}`)
    }
  })

  t.test('prerequisites and cycles', async (t) => {
    t.equal((await post('/features', { name: 'base', environments: { prod: true } })).statusCode, 201)
    const dep = await post('/features', { name: 'dependent', environments: { prod: { enabled: true, prerequisites: [{ flag: 'base', variant: 'on' }] } } })
    t.equal(dep.statusCode, 201, dep.body)
    t.match(await evaluate('dependent', { targetingKey: 'a' }), { value: true })
    const off = await ctx.app.inject({ method: 'PUT', url: '/features/base/env/prod', headers: { authorization: admin, 'if-match': await etagOf('/features/base') }, payload: { enabled: false } })
    t.equal(off.statusCode, 200, off.body)
    t.match(await evaluate('dependent', { targetingKey: 'a' }), { value: false, variant: 'off' })
    const cycle = await ctx.app.inject({ method: 'PUT', url: '/features/base/env/prod', headers: { authorization: admin, 'if-match': await etagOf('/features/base') }, payload: { enabled: true, prerequisites: [{ flag: 'dependent', variant: 'on' }] } })
    t.equal(cycle.statusCode, 400, cycle.body)
  })
})
