// "Why this value?": a context editor that calls the explain route and shows its trace.
import { useState } from 'preact/hooks'
import { api, ok } from '../api/client'
import { ErrorBanner, Field } from '../ui'
import type { Environment, Feature } from '../model'

type Attr = { name: string; type: 'string' | 'number' | 'boolean'; value: string }
interface TraceEntry { step: string; message: string; matched?: boolean; clauses?: Array<{ attribute: string; operator: string; matched: boolean; why: string }> }
interface Explanation { result: { value?: unknown; variant?: string; reason?: string; ruleId?: string; errorCode?: string }; trace: TraceEntry[] }

function contextOf (key: string, attrs: Attr[]): Record<string, unknown> {
  const ctx: Record<string, unknown> = {}
  if (key !== '') ctx.targetingKey = key
  for (const a of attrs) {
    if (a.name === '') continue
    ctx[a.name] = a.type === 'number' ? Number(a.value) : a.type === 'boolean' ? a.value === 'true' : a.value
  }
  return ctx
}

export function WhyPage ({ feature, environments, env: initialEnv }: { feature: Feature; environments: Environment[]; env: string }) {
  const [env, setEnv] = useState(initialEnv)
  const [key, setKey] = useState('user-1')
  const [attrs, setAttrs] = useState<Attr[]>([{ name: 'country', type: 'string', value: '' }])
  const [out, setOut] = useState<Explanation | null>(null)
  const [error, setError] = useState<unknown>(null)

  async function explain (e: Event) {
    e.preventDefault()
    setError(null)
    try {
      const res = ok(await api.POST('/features/{flag}/env/{env}/explain', { params: { path: { flag: feature.name, env } }, body: { context: contextOf(key, attrs) as never } }))
      setOut(res as unknown as Explanation)
    } catch (err) {
      setOut(null)
      setError(err)
    }
  }
  const setAttr = (i: number, a: Attr) => setAttrs(attrs.map((x, j) => (j === i ? a : x)))

  return (
    <div class='why'>
      <form onSubmit={explain} aria-label='Evaluation context'>
        <div class='grid2'>
          <Field label='Environment'>
            {(id) => <select id={id} value={env} onChange={(e) => setEnv(e.currentTarget.value)}>{environments.map((x) => <option key={x.name} value={x.name}>{x.name}</option>)}</select>}
          </Field>
          <Field label='targetingKey'>
            {(id) => <input id={id} value={key} onInput={(e) => setKey(e.currentTarget.value)} />}
          </Field>
        </div>
        {attrs.map((a, i) => (
          <div class='row' key={i}>
            <Field label={`Attribute ${i + 1}`}>{(id) => <input id={id} value={a.name} onInput={(e) => setAttr(i, { ...a, name: e.currentTarget.value })} />}</Field>
            <Field label='Type'>
              {(id) => <select id={id} value={a.type} onChange={(e) => setAttr(i, { ...a, type: e.currentTarget.value as Attr['type'] })}><option>string</option><option>number</option><option>boolean</option></select>}
            </Field>
            <Field label='Value'>{(id) => <input id={id} value={a.value} onInput={(e) => setAttr(i, { ...a, value: e.currentTarget.value })} />}</Field>
            <button type='button' class='link' onClick={() => setAttrs(attrs.filter((_, j) => j !== i))} aria-label={`Remove attribute ${i + 1}`}>Remove</button>
          </div>
        ))}
        <div class='actions'>
          <button type='button' onClick={() => setAttrs([...attrs, { name: '', type: 'string', value: '' }])}>Add attribute</button>
          <button type='submit' class='primary'>Explain</button>
        </div>
      </form>
      <ErrorBanner error={error} />
      {out !== null && (
        <section aria-labelledby='why-result' class='card'>
          <h2 id='why-result'>Result</h2>
          <p class='result' data-testid='why-result'>
            <span>{'Value '}<code>{JSON.stringify(out.result.value)}</code></span>
            <span>{`Variant ${out.result.variant ?? '—'}`}</span>
            <span>{`Reason ${out.result.reason ?? '—'}`}</span>
            {out.result.ruleId !== undefined && <span>{`Rule ${out.result.ruleId}`}</span>}
            {out.result.errorCode !== undefined && <span class='field-error'>{out.result.errorCode}</span>}
          </p>
          <h3>Trace</h3>
          <ol class='trace'>
            {out.trace.map((t, i) => (
              <li key={i} class={t.matched === true ? 'matched' : t.matched === false ? 'missed' : ''}>
                <strong>{t.step}</strong>{` ${t.message}`}
                {t.clauses !== undefined && (
                  <ul>{t.clauses.map((c, j) => <li key={j}>{`${c.matched ? '✓' : '✗'} ${c.attribute} ${c.operator}: ${c.why}`}</li>)}</ul>
                )}
              </li>
            ))}
          </ol>
        </section>
      )}
    </div>
  )
}
