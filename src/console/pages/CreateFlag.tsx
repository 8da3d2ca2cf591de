// New flag: name, description, tags, type; non-boolean flags list their variants. The flag is
// created off in every registered environment, serving its first variant once turned on.
import { useState } from 'preact/hooks'
import { api, ApiError, FieldErrors, ok } from '../api/client'
import { ErrorBanner, Field } from '../ui'
import { newEnvConfig, putBody, type Environment, type Feature, type FlagType, type Variant } from '../model'

/** `key = value` per line; the value is JSON for number and json flags, text for strings. */
export function parseVariants (text: string, type: FlagType): Variant[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '').map((line) => {
    const eq = line.indexOf('=')
    const key = (eq < 0 ? line : line.slice(0, eq)).trim()
    const raw = eq < 0 ? key : line.slice(eq + 1).trim()
    let value: unknown = raw
    if (type === 'number') value = Number(raw)
    if (type === 'json') { try { value = JSON.parse(raw) } catch { value = raw } }
    return { key, value }
  })
}

export function CreateFlag ({ environments, onCreated, onCancel }: { environments: Environment[]; onCreated: (f: Feature) => void; onCancel: () => void }) {
  const [name, setName] = useState('')
  const [description, setDescription] = useState('')
  const [tags, setTags] = useState('')
  const [type, setType] = useState<FlagType>('boolean')
  const [variants, setVariants] = useState('')
  const [errors, setErrors] = useState(new FieldErrors())
  const [error, setError] = useState<unknown>(null)

  async function submit (e: Event) {
    e.preventDefault()
    setError(null)
    setErrors(new FieldErrors())
    const vs = type === 'boolean' ? undefined : parseVariants(variants, type)
    const base = newEnvConfig({ type, variants: vs ?? [] })
    try {
      const created = ok(await api.POST('/features', {
        body: {
          name,
          description,
          type,
          variants: vs,
          tags: tags.split(',').map((t) => t.trim()).filter((t) => t !== ''),
          environments: Object.fromEntries(environments.map((env) => [env.name, type === 'boolean' ? false : putBody(base)]))
        }
      }))
      onCreated(created)
    } catch (err) {
      if (err instanceof ApiError) setErrors(err.fieldErrors)
      setError(err)
    }
  }

  return (
    <form class='card' onSubmit={submit} aria-labelledby='new-flag-title'>
      <h2 id='new-flag-title'>New flag</h2>
      <ErrorBanner error={error} title='Not created:' />
      <div class='grid2'>
        <Field label='Name' errors={errors.at('/body/name')} hint="Lowercase: a-z, 0-9, '.', '_', '-'">
          {(id, d) => <input id={id} aria-describedby={d} value={name} required maxLength={64} onInput={(e) => setName(e.currentTarget.value)} />}
        </Field>
        <Field label='Type' errors={errors.at('/body/type')}>
          {(id) => (
            <select id={id} value={type} onChange={(e) => setType(e.currentTarget.value as FlagType)}>
              <option value='boolean'>boolean</option><option value='string'>string</option><option value='number'>number</option><option value='json'>json</option>
            </select>
          )}
        </Field>
      </div>
      <Field label='Description' errors={errors.at('/body/description')}>
        {(id) => <input id={id} value={description} maxLength={1000} onInput={(e) => setDescription(e.currentTarget.value)} />}
      </Field>
      <Field label='Tags' hint='Comma-separated' errors={errors.at('/body/tags')}>
        {(id, d) => <input id={id} aria-describedby={d} value={tags} onInput={(e) => setTags(e.currentTarget.value)} />}
      </Field>
      {type !== 'boolean' && (
        <Field label='Variants' hint='One per line: key = value' errors={errors.at('/body/variants')}>
          {(id, d) => <textarea id={id} aria-describedby={d} rows={4} value={variants} onInput={(e) => setVariants(e.currentTarget.value)} />}
        </Field>
      )}
      <div class='actions'>
        <button type='submit' class='primary'>Create flag</button>
        <button type='button' onClick={onCancel}>Cancel</button>
      </div>
    </form>
  )
}
