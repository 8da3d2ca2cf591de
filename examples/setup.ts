// Creates demo flags (one of each type) and a `dev` API key on a running Switchyard, and prints
// the key. Run once against `npm run dev`:
//
//   SWITCHYARD_URL=http://127.0.0.1:3000 ADMIN_EMAIL=you@example.com ADMIN_PASSWORD='…' npx tsx examples/setup.ts
//
// Prints `export SWITCHYARD_API_KEY=sy_dev_…` for the other examples. Flags that already exist are kept.
const baseUrl = process.env.SWITCHYARD_URL ?? 'http://127.0.0.1:3000'
const email = process.env.ADMIN_EMAIL
const password = process.env.ADMIN_PASSWORD
if (email === undefined || password === undefined) {
  console.error('Set ADMIN_EMAIL and ADMIN_PASSWORD (the admin account of the running server).')
  process.exit(1)
}

async function api (method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(baseUrl + path, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined
  })
  const text = await res.text()
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) }
}

const login = await api('POST', '/auth/login', undefined, { email, password })
if (login.status !== 200) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`)
const token = login.body.access_token as string

const flags = [
  { name: 'dark-mode', environments: { dev: true, prod: false } },
  {
    name: 'banner-color',
    type: 'string',
    variants: [{ key: 'blue', value: 'blue' }, { key: 'green', value: 'green' }],
    environments: { dev: { enabled: true, offVariant: 'blue', defaultServe: { variant: 'blue' }, targets: [{ variant: 'green', values: ['vip-user'] }] } }
  },
  {
    name: 'max-items',
    type: 'number',
    variants: [{ key: 'few', value: 10 }, { key: 'many', value: 50 }],
    environments: { dev: { enabled: true, offVariant: 'few', defaultServe: { variant: 'few' }, rules: [{ id: 'pro-plan', clauses: [{ attribute: 'plan', operator: 'in', values: ['pro'] }], serve: { variant: 'many' } }] } }
  },
  {
    name: 'checkout-config',
    type: 'json',
    variants: [{ key: 'classic', value: { layout: 'single-page', steps: 1 } }, { key: 'wizard', value: { layout: 'wizard', steps: 3 } }],
    environments: { dev: { enabled: true, offVariant: 'classic', defaultServe: { rollout: { variants: [{ variant: 'classic', weight: 50_000 }, { variant: 'wizard', weight: 50_000 }] } } } }
  }
]
for (const flag of flags) {
  const res = await api('POST', '/features', token, flag)
  if (res.status === 201) console.error(`created flag ${flag.name}`)
  else if (res.status === 409) console.error(`flag ${flag.name} already exists`)
  else throw new Error(`creating ${flag.name}: ${res.status} ${JSON.stringify(res.body)}`)
}

const key = await api('POST', '/api-keys', token, { name: 'openfeature-examples', environment: 'dev' })
if (key.status !== 201) throw new Error(`creating the API key: ${key.status} ${JSON.stringify(key.body)}`)
console.error(`created API key ${key.body.id as string} for 'dev' (the secret below is shown only once)`)
console.log(`export SWITCHYARD_API_KEY=${key.body.key as string}`)
