// Evaluation contexts are bounded at validation: nested more than 32 levels deep (DynamoDB's own
// limit) is a 400 that says so, on every route that takes one; a context 4 500 levels deep (a
// 9 KB body) once overflowed the stack in contextKey and answered 500. Wide contexts: 400 or
// 200, never 500.
import t from 'tap'
import { build } from '../helper.js'

/** A context's JSON with `levels` objects (or arrays) inside it: its innermost value at depth levels + 1. Built as text: JSON.stringify would overflow the stack on the deep ones. */
function nested (levels: number): string {
  return `{"targetingKey":"u","deep":${'{"a":'.repeat(levels - 1)}{"leaf":true}${'}'.repeat(levels - 1)}}`
}

function arrays (levels: number): string {
  return `{"targetingKey":"u","deep":${'['.repeat(levels)}1${']'.repeat(levels)}}`
}

const json = (v: unknown) => JSON.stringify(v)

t.test('deep and wide contexts', async (t) => {
  // Load shedding off: a loaded test machine may stall on the 1 MB bodies, and a shed 503 is not what this tests.
  const ctx = await build(t, { env: { EVAL_CACHE_TTL_MS: '5000', SHED_EVENT_LOOP_DELAY_MS: '0' } })
  const { app } = ctx
  const admin = await ctx.loginAs('ADMIN')
  t.equal((await app.inject({ method: 'POST', url: '/features', headers: { authorization: admin }, payload: { name: 'f', environments: { dev: true } } })).statusCode, 201)
  const key = (await app.inject({ method: 'POST', url: '/api-keys', headers: { authorization: admin }, payload: { name: 'k', environment: 'dev' } })).json().key as string
  const routes = [
    { url: '/features/evaluate', body: (context: string) => `{"feature":"f","environment":"dev","context":${context}}`, auth: admin },
    { url: '/ofrep/v1/evaluate/flags/f', body: (context: string) => `{"context":${context}}`, auth: `Bearer ${key}` },
    { url: '/ofrep/v1/evaluate/flags', body: (context: string) => `{"context":${context}}`, auth: `Bearer ${key}` },
    { url: '/features/f/env/dev/explain', body: (context: string) => `{"context":${context}}`, auth: admin }
  ]
  const send = (route: typeof routes[number], context: string) =>
    app.inject({ method: 'POST', url: route.url, headers: { authorization: route.auth, 'content-type': 'application/json' }, payload: route.body(context) })

  for (const route of routes) {
    // The context is level 1: 31 nested objects put the innermost at level 32, the limit.
    const atLimit = await send(route, nested(31))
    t.equal(atLimit.statusCode, 200, `${route.url}: 32 levels: ${atLimit.body.slice(0, 200)}`)
    for (const [what, context] of Object.entries({ '33 levels of objects': nested(32), '33 levels of arrays': arrays(32), '4 500 levels': nested(4_500), '4 500 levels of arrays': arrays(4_500) })) {
      const res = await send(route, context)
      t.equal(res.statusCode, 400, `${route.url}, ${what}: 400`)
      t.match(res.body, /32 levels/, `${route.url}, ${what}: says what is allowed`)
    }
    const ofrep = route.url.startsWith('/ofrep')
    const deep = (await send(route, nested(4_500)))
    t.match(deep.headers['content-type'], ofrep ? /^application\/json/ : /^application\/problem\+json/)
    if (ofrep) t.match(deep.json(), { errorCode: 'INVALID_CONTEXT' })

    const tooWide = Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`a${i}`, i]))
    t.equal((await send(route, json(tooWide))).statusCode, 400, `${route.url}: 201 attributes: 400`)
    const wideInside = json({ targetingKey: 'u', big: Object.fromEntries(Array.from({ length: 40_000 }, (_, i) => [`k${i}`, i])) })
    const longArray = json({ targetingKey: 'u', list: Array.from({ length: 100_000 }, (_, i) => i) })
    const manyBranches = `{"targetingKey":"u","tree":[${Array.from({ length: 2_000 }, () => nested(20)).join(',')}]}`
    for (const [what, context] of Object.entries({ 'an attribute of 40 000 keys': wideInside, 'an array of 100 000 numbers': longArray, '2 000 branches 21 deep': manyBranches })) {
      const res = await send(route, context)
      t.ok(res.statusCode < 500, `${route.url}, ${what}: ${res.statusCode}, never 5xx`)
    }
  }
})
