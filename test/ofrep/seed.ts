// Flags of every type, created through the admin API, shared by the OFREP and end-to-end tests.
export const FLAGS = [
  // boolean: on for everyone in dev (STATIC), switched off in prod (DISABLED)
  { name: 'dark-mode', environments: { dev: true, prod: false } },
  // string: one targeted user sees green
  {
    name: 'banner-color',
    type: 'string',
    variants: [{ key: 'blue', value: 'blue' }, { key: 'green', value: 'green' }],
    environments: { dev: { enabled: true, offVariant: 'blue', defaultServe: { variant: 'blue' }, targets: [{ variant: 'green', values: ['vip-user'] }] } }
  },
  // number: a rule on an attribute, a float default
  {
    name: 'max-items',
    type: 'number',
    variants: [{ key: 'few', value: 10 }, { key: 'many', value: 2.5 }],
    environments: {
      dev: {
        enabled: true,
        offVariant: 'few',
        defaultServe: { variant: 'many' },
        rules: [{ id: 'beta-plan', clauses: [{ attribute: 'plan', operator: 'in', values: ['beta'] }], serve: { variant: 'few' } }]
      }
    }
  },
  // object
  {
    name: 'checkout-config',
    type: 'json',
    variants: [{ key: 'v1', value: { layout: 'single', steps: 3 } }, { key: 'v2', value: { layout: 'multi', steps: 5, extras: ['gift'] } }],
    environments: { dev: { enabled: true, offVariant: 'v1', defaultServe: { variant: 'v1' }, targets: [{ variant: 'v2', values: ['vip-user'] }] } }
  },
  // a 50/50 rollout: without a targetingKey it is TARGETING_KEY_MISSING
  {
    name: 'gradual',
    environments: { dev: { enabled: true, defaultServe: { rollout: { variants: [{ variant: 'on', weight: 50_000 }, { variant: 'off', weight: 50_000 }] } } } }
  }
] as const

export const DEV_FLAG_KEYS = FLAGS.map((f) => f.name).sort()

export type Call = (method: string, url: string, opts?: { headers?: Record<string, string>; body?: unknown }) => Promise<{ status: number; body: any }>

export async function seedFlags (call: Call, admin: string): Promise<void> {
  for (const f of FLAGS) {
    const res = await call('POST', '/features', { headers: { authorization: admin }, body: f })
    if (res.status !== 201) throw new Error(`creating ${f.name}: ${res.status} ${JSON.stringify(res.body)}`)
  }
}

export async function createApiKey (call: Call, admin: string, environment: string, name = `${environment}-service`): Promise<{ id: string; key: string }> {
  const res = await call('POST', '/api-keys', { headers: { authorization: admin }, body: { name, environment } })
  if (res.status !== 201) throw new Error(`creating an API key: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body
}
