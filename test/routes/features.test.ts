// The flag API through `inject`: create, list, read, change, set and remove environment configs,
// delete; every documented error status.
import t from 'tap'
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb'
import { build, eventually, expectProblem } from '../helper.js'

t.test('features routes', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  ctx.startConsumer()
  const admin = await ctx.loginAs('ADMIN')
  const client = await ctx.loginAs('CLIENT')
  const req = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    app.inject({ method, url, headers: { authorization: admin, ...headers }, ...(payload !== undefined ? { payload: payload as object } : {}) })
  const create = (payload: unknown) => req('POST', '/features', payload)
  /** The ETag a client would read before changing the flag (If-Match is required to change existing state). */
  const etagOf = async (flag: string) => String((await req('GET', `/features/${flag}`)).headers.etag)
  const envItem = async (flag: string, env: string) =>
    (await app.dynamo.send(new GetCommand({ TableName: app.config.TABLE_NAME, Key: { PK: `ENVIRONMENT#${flag}`, SK: `ENV#${env}` }, ConsistentRead: true }))).Item

  t.test('POST /features creates the flag and its environment configs', async (t) => {
    const res = await create({ name: 'new-checkout', description: 'The new checkout', environments: { dev: true, prod: false } })
    t.equal(res.statusCode, 201, res.body)
    t.equal(res.headers.etag, '"1"')
    t.equal(res.headers.location, '/features/new-checkout')
    t.match(res.json(), {
      name: 'new-checkout',
      description: 'The new checkout',
      type: 'boolean',
      version: 1,
      createdBy: 'admin@example.com',
      environments: { dev: { enabled: true, enableAt: null, version: 1 }, prod: { enabled: false, enableAt: null, version: 1 } }
    })
    t.match(await envItem('new-checkout', 'dev'), { enabled: true, type: 'boolean', variants: [{ key: 'on', value: true }, { key: 'off', value: false }], GSI1PK: 'ENVFLAGS#dev' },
      'environment item carries type and variants for one-GetItem evaluation')
    t.equal(await envItem('new-checkout', 'qa'), undefined, 'no config in environments not named')
  })

  t.test('POST /features: invalid slug is 400 naming the field', async (t) => {
    for (const name of ['New-Checkout', '-leading', 'has space', 'trailing-', 'x'.repeat(65), '']) {
      const p = expectProblem(t, await create({ name, environments: { dev: true } }), 400, JSON.stringify(name))
      t.match(p.detail, /\/body\/name/, 'names the field')
      t.match(p.errors, [{ path: '/body/name' }])
    }
  })

  t.test('POST /features: unknown environment is 400', async (t) => {
    const p = expectProblem(t, await create({ name: 'env-check', environments: { dev: true, moon: true } }), 400)
    t.match(p.detail, /moon/)
    t.equal((await req('GET', '/features/env-check')).statusCode, 404, 'nothing was written')
    t.equal(await envItem('env-check', 'dev'), undefined, 'not even the valid environment')
  })

  t.test('POST /features: existing name is 409 and leaves the flag alone', async (t) => {
    const first = await create({ name: 'dup-flag', description: 'first', environments: { dev: true } })
    t.equal(first.statusCode, 201)
    expectProblem(t, await create({ name: 'dup-flag', description: 'second', environments: { prod: true } }), 409)
    const got = (await req('GET', '/features/dup-flag')).json()
    t.equal(got.description, 'first')
    t.same(Object.keys(got.environments), ['dev'])
  })

  t.test('POST /features: body types are never coerced, extra fields are refused', async (t) => {
    const yes = expectProblem(t, await create({ name: 'coerce', environments: { dev: 'yes' } }), 400, '"yes"')
    t.match(yes.detail, /environments\/dev/)
    expectProblem(t, await create({ name: 'coerce', environments: { dev: 1 } }), 400, 'number')
    expectProblem(t, await create({ name: 'coerce', environments: { dev: { enabled: 'true' } } }), 400, 'string enabled')
    expectProblem(t, await create({ name: 123, environments: { dev: true } }), 400, 'numeric name')
    const extra = expectProblem(t, await create({ name: 'coerce', environments: { dev: true }, owner: 'me' }), 400, 'extra field')
    t.match(extra.detail, /owner/, 'names the unknown field')
    t.match(extra.errors, [{ path: '/body/owner', message: /unknown property/ }])
    const nested = expectProblem(t, await create({ name: 'coerce', environments: { dev: { enabled: true, colour: 'red' } } }), 400, 'nested extra field')
    t.match(nested.detail, /colour/)
    expectProblem(t, await create({ name: 'coerce' }), 400, 'missing environments')
    t.equal((await req('GET', '/features/coerce')).statusCode, 404)
  })

  t.test('GET /features paginates with limit and nextCursor', async (t) => {
    const names = ['page-a', 'page-b', 'page-c', 'page-d', 'page-e']
    for (const name of names) t.equal((await create({ name, environments: { dev: false } })).statusCode, 201)
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const res = await app.inject({ method: 'GET', url: '/features', query: { prefix: 'page-', limit: '2', ...(cursor !== null ? { cursor } : {}) }, headers: { authorization: client } })
      t.equal(res.statusCode, 200, res.body)
      const body = res.json() as { items: Array<{ name: string; version: number }>; nextCursor: string | null }
      t.ok(body.items.length <= 2)
      seen.push(...body.items.map((i) => i.name))
      cursor = body.nextCursor
      pages++
    } while (cursor !== null && pages < 10)
    t.same(seen, names, 'every flag once, in name order')
    t.equal(pages, 3)
    const all = (await req('GET', '/features')).json()
    t.ok(all.items.length >= 5, 'default limit returns them')
    t.match(all.items[0], { name: String, version: Number, type: 'boolean' })
    t.notOk('environments' in all.items[0], 'list items are summaries')
  })

  t.test('GET /features: limit > 100 and bad cursors are 400', async (t) => {
    expectProblem(t, await req('GET', '/features?limit=101'), 400, 'limit 101')
    expectProblem(t, await req('GET', '/features?limit=0'), 400, 'limit 0')
    expectProblem(t, await req('GET', '/features?limit=ten'), 400, 'limit ten')
    const bad = expectProblem(t, await req('GET', '/features?cursor=not-a-cursor'), 400, 'garbage cursor')
    t.match(bad.detail, /cursor/i)
    const notString = Buffer.from(JSON.stringify({ PK: 'USER#admin@example.com' })).toString('base64url')
    expectProblem(t, await req('GET', `/features?cursor=${notString}`), 400, 'cursor of the wrong shape')
    expectProblem(t, await req('GET', '/features?colour=red'), 400, 'unknown query parameter')
  })

  t.test('GET /features/{flag}: ETag is the version; 404 when absent', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/features/new-checkout', headers: { authorization: client } })
    t.equal(res.statusCode, 200)
    t.equal(res.headers.etag, `"${res.json().version as number}"`)
    t.match(res.json(), { name: 'new-checkout', environments: { dev: { enabled: true }, prod: { enabled: false } } })
    const missing = expectProblem(t, await req('GET', '/features/does-not-exist'), 404)
    t.match(missing.detail, /does-not-exist/)
    expectProblem(t, await req('GET', '/features/Not_A_Slug'), 400, 'invalid name in the path')
  })

  t.test('PATCH /features/{flag}', async (t) => {
    t.equal((await create({ name: 'patch-me', environments: { dev: true } })).statusCode, 201)
    const required = expectProblem(t, await req('PATCH', '/features/patch-me', { description: 'unseen' }), 428, 'no If-Match')
    t.match(required.detail, /If-Match/, 'says what is missing')
    t.equal((await req('GET', '/features/patch-me')).json().description, '', 'the unconditional write changed nothing')
    const res = await req('PATCH', '/features/patch-me', { description: 'now described', tags: ['team-a'] }, { 'if-match': await etagOf('patch-me') })
    t.equal(res.statusCode, 200, res.body)
    t.equal(res.headers.etag, '"2"')
    t.match(res.json(), { description: 'now described', tags: ['team-a'], version: 2, environments: { dev: { enabled: true } } })
    expectProblem(t, await req('PATCH', '/features/patch-me', { description: 'stale' }, { 'if-match': '"1"' }), 412, 'stale If-Match')
    const ok = await req('PATCH', '/features/patch-me', { description: 'fresh' }, { 'if-match': '"2"' })
    t.equal(ok.statusCode, 200, ok.body)
    t.equal(ok.headers.etag, '"3"')
    expectProblem(t, await req('PATCH', '/features/patch-me', { description: 'x' }, { 'if-match': 'banana' }), 400, 'malformed If-Match')
    expectProblem(t, await req('PATCH', '/features/patch-me', {}), 400, 'empty change')
    expectProblem(t, await req('PATCH', '/features/patch-me', { name: 'renamed' }), 400, 'name is not patchable')
    expectProblem(t, await req('PATCH', '/features/nope', { description: 'x' }, { 'if-match': '*' }), 404)
    t.equal((await req('GET', '/features/patch-me')).json().description, 'fresh')
  })

  t.test('PUT /features/{flag}/env/{env}', async (t) => {
    t.equal((await create({ name: 'put-env', environments: { dev: true } })).statusCode, 201)

    // Without If-Match a PUT may only create a config where none exists.
    const created = await req('PUT', '/features/put-env/env/qa', { enabled: true })
    t.equal(created.statusCode, 200, created.body)
    t.equal(created.headers.etag, '"2"')
    t.match(created.json(), { feature: 'put-env', environment: 'qa', version: 2, config: { enabled: true, enableAt: null } })
    t.match(await envItem('put-env', 'qa'), { enabled: true, version: 2 }, 'a config created where none existed')

    const replace = expectProblem(t, await req('PUT', '/features/put-env/env/qa', { enabled: false }), 428, 'replacing without If-Match')
    t.match(replace.detail, /If-Match/)
    t.match(await envItem('put-env', 'qa'), { enabled: true, version: 2 }, 'the unconditional replace changed nothing')
    expectProblem(t, await req('PUT', '/features/put-env/env/qa', { enabled: false }, { 'if-match': '"1"' }), 412, 'stale If-Match')
    t.match(await envItem('put-env', 'qa'), { enabled: true }, 'the stale write changed nothing')
    const current = await req('PUT', '/features/put-env/env/qa', { enabled: false }, { 'if-match': '"2"' })
    t.equal(current.statusCode, 200, current.body)
    t.equal(current.headers.etag, '"3"', 'new ETag')
    t.equal((await req('GET', '/features/put-env')).headers.etag, '"3"', 'the aggregate moved to the same version')
    const star = await req('PUT', '/features/put-env/env/qa', { enabled: true }, { 'if-match': '*' })
    t.equal(star.statusCode, 200, 'If-Match: * accepts any version')

    expectProblem(t, await req('PUT', '/features/missing-flag/env/dev', { enabled: true }), 404, 'unknown flag')
    const unregistered = expectProblem(t, await req('PUT', '/features/put-env/env/moon', { enabled: true }), 400, 'unregistered env')
    t.match(unregistered.detail, /moon/)
    t.equal(await envItem('put-env', 'moon'), undefined)
    const coerced = expectProblem(t, await req('PUT', '/features/put-env/env/dev', { enabled: 'yes' }), 400, '"yes"')
    t.match(coerced.detail, /enabled/)
    expectProblem(t, await req('PUT', '/features/put-env/env/dev', { enabled: true, extra: 1 }), 400, 'extra field')
    expectProblem(t, await req('PUT', '/features/put-env/env/dev', { enabled: true, enableAt: 'tomorrow' }), 400, 'enableAt not a date-time')

    const future = '2999-01-01T00:00:00.000Z'
    const scheduled = await req('PUT', '/features/put-env/env/dev', { enabled: false, enableAt: future }, { 'if-match': await etagOf('put-env') })
    t.equal(scheduled.statusCode, 200, scheduled.body)
    t.equal(scheduled.json().config.enableAt, future)
    t.equal((await req('GET', '/features/put-env')).json().environments.dev.enableAt, future, 'enableAt reads back')
  })

  t.test('PUT /features/{flag}/env/{env} reads the feature item once; a non-boolean flag is validated once, in the domain', async (t) => {
    t.equal((await create({ name: 'read-once', environments: { dev: false } })).statusCode, 201)
    const reads: string[] = []
    const record = (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
      const input = (args as { input?: { Key?: { PK?: unknown; SK?: unknown } } }).input
      const sk = input?.Key?.SK
      if (typeof sk === 'string' || typeof (sk as { S?: unknown } | undefined)?.S === 'string') reads.push(typeof sk === 'string' ? sk : String((sk as { S: string }).S))
      return await next(args)
    }
    app.dynamo.middlewareStack.add(record as never, { step: 'initialize', name: 'recordKeys' })
    t.teardown(() => { app.dynamo.middlewareStack.remove('recordKeys') })
    const res = await req('PUT', '/features/read-once/env/qa', { enabled: true })
    t.equal(res.statusCode, 200, res.body)
    t.equal(reads.filter((k) => k === 'FEATURE#read-once').length, 1, `the feature item is read once (keys read: ${reads.join(', ')})`)

    t.equal((await create({ name: 'colour', type: 'string', variants: [{ key: 'red', value: 'red' }, { key: 'blue', value: 'blue' }], environments: { dev: { enabled: true, offVariant: 'red', defaultServe: { variant: 'blue' } } } })).statusCode, 201)
    const missing = await req('PUT', '/features/colour/env/qa', { enabled: true })
    const p = expectProblem(t, missing, 400)
    t.same(p.errors, [
      { path: '/body/offVariant', message: 'required for string flags' },
      { path: '/body/defaultServe', message: 'required for string flags' }
    ], 'both missing fields named, by validateFlag')
    const noVariants = await create({ name: 'colour-2', type: 'string', environments: {} })
    t.match(expectProblem(t, noVariants, 400).errors, [{ path: '/variants', message: 'variants are required for string flags' }])
  })

  t.test('DELETE /features/{flag}/env/{env} and DELETE /features/{flag}', async (t) => {
    t.equal((await create({ name: 'doomed', environments: { dev: true, qa: true, prod: false } })).statusCode, 201)

    expectProblem(t, await req('DELETE', '/features/doomed/env/qa'), 428, 'delete env without If-Match')
    t.ok(await envItem('doomed', 'qa'), 'the unconditional delete changed nothing')
    const delEnv = await req('DELETE', '/features/doomed/env/qa', undefined, { 'if-match': '"1"' })
    t.equal(delEnv.statusCode, 204)
    t.equal(delEnv.body, '')
    t.equal(await envItem('doomed', 'qa'), undefined, 'env item gone')
    t.same(Object.keys((await req('GET', '/features/doomed')).json().environments).sort(), ['dev', 'prod'])
    expectProblem(t, await req('DELETE', '/features/doomed/env/qa', undefined, { 'if-match': '*' }), 404, 'env config already gone')
    expectProblem(t, await req('DELETE', '/features/nothing-here/env/dev', undefined, { 'if-match': '*' }), 404, 'unknown flag')
    expectProblem(t, await req('DELETE', '/features/doomed/env/dev', undefined, { 'if-match': '"1"' }), 412, 'stale If-Match')
    t.ok(await envItem('doomed', 'dev'), 'the stale delete changed nothing')

    expectProblem(t, await req('DELETE', '/features/doomed'), 428, 'delete flag without If-Match')
    t.equal((await req('GET', '/features/doomed')).statusCode, 200, 'the unconditional delete changed nothing')
    expectProblem(t, await req('DELETE', '/features/doomed', undefined, { 'if-match': '"1"' }), 412, 'delete flag with a stale If-Match')
    const del = await req('DELETE', '/features/doomed', undefined, { 'if-match': await etagOf('doomed') })
    t.equal(del.statusCode, 204)
    expectProblem(t, await req('GET', '/features/doomed'), 404)
    const left = await app.dynamo.send(new QueryCommand({ TableName: app.config.TABLE_NAME, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': 'ENVIRONMENT#doomed' }, ConsistentRead: true }))
    t.equal(left.Count, 0, 'every environment item went with the feature')
    expectProblem(t, await req('DELETE', '/features/doomed', undefined, { 'if-match': '*' }), 404, 'already deleted')
    expectProblem(t, await req('POST', '/features/evaluate', { feature: 'doomed', environment: 'dev' }), 404, 'no longer evaluates')

    const history = await eventually(async () => {
      const res = await req('GET', '/features/doomed/audit')
      const items = res.json().items as Array<{ action: string }>
      return items.length >= 3 ? items : undefined
    }, { what: 'the deleted flag\'s audit history' })
    t.same(history.map((i) => i.action), ['FEATURE_CREATED', 'ENVIRONMENT_DELETED', 'FEATURE_DELETED'], 'history readable after delete; failed attempts not audited')
  })

  t.test('a deleted flag can be created again', async (t) => {
    t.equal((await create({ name: 'phoenix', environments: { dev: true } })).statusCode, 201)
    t.equal((await req('DELETE', '/features/phoenix', undefined, { 'if-match': '*' })).statusCode, 204)
    const again = await create({ name: 'phoenix', environments: { prod: true } })
    t.equal(again.statusCode, 201, again.body)
    t.same(Object.keys(again.json().environments), ['prod'])
    t.equal(await envItem('phoenix', 'dev'), undefined)
  })
})
