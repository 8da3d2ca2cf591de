// Description, tags and variants (PATCH with If-Match). JSON variant values get the JSON editor,
// loaded only when a JSON flag is opened.
import { useState } from 'preact/hooks'
import { api, ApiError, etagOf, FieldErrors, ok } from '../api/client'
import { isAdmin } from '../session'
import { ErrorBanner, Field, Notice } from '../ui'
import { lazy } from '../lazy'
import type { Feature, Variant } from '../model'

const JsonEditor = lazy(() => import('../JsonEditor').then((m) => m.default))

function valueText (v: unknown): string { return typeof v === 'string' ? v : JSON.stringify(v) }

export function FlagSettings ({ feature, onSaved }: { feature: Feature; onSaved: (f: Feature) => void }) {
  const [description, setDescription] = useState(feature.description)
  const [tags, setTags] = useState(feature.tags.join(', '))
  const [variants, setVariants] = useState<Variant[]>(structuredClone(feature.variants))
  const [errors, setErrors] = useState(new FieldErrors())
  const [error, setError] = useState<unknown>(null)
  const [saved, setSaved] = useState(false)
  const admin = isAdmin()

  async function save (e: Event) {
    e.preventDefault()
    setError(null)
    setErrors(new FieldErrors())
    setSaved(false)
    try {
      const f = ok(await api.PATCH('/features/{flag}', {
        params: { path: { flag: feature.name }, header: { 'if-match': etagOf(feature.version) } },
        body: { description, tags: tags.split(',').map((t) => t.trim()).filter((t) => t !== ''), variants: feature.type === 'boolean' ? undefined : variants }
      }))
      setSaved(true)
      onSaved(f)
    } catch (err) {
      if (err instanceof ApiError) setErrors(err.fieldErrors)
      setError(err)
    }
  }

  const setVariant = (i: number, v: Variant) => setVariants(variants.map((x, j) => (j === i ? v : x)))
  if (!admin) {
    return (
      <dl class='readonly'>
        <dt>Description</dt><dd>{feature.description || '—'}</dd>
        <dt>Tags</dt><dd>{feature.tags.join(', ') || '—'}</dd>
        <dt>Variants</dt><dd><ul>{feature.variants.map((v) => <li key={v.key}><code>{v.key}</code>{` = ${JSON.stringify(v.value)}`}</li>)}</ul></dd>
      </dl>
    )
  }
  return (
    <form onSubmit={save} aria-label='Flag settings'>
      <ErrorBanner error={error} title='Not saved:' />
      {saved && <Notice>Saved.</Notice>}
      <Field label='Description' errors={errors.at('/body/description')}>
        {(id, d) => <textarea id={id} aria-describedby={d} rows={2} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />}
      </Field>
      <Field label='Tags' hint='Comma-separated' errors={errors.at('/body/tags')}>
        {(id, d) => <input id={id} aria-describedby={d} value={tags} onInput={(e) => setTags(e.currentTarget.value)} />}
      </Field>
      <fieldset>
        <legend>Variants</legend>
        {feature.type === 'boolean' && <p class='muted'>Boolean flags serve <code>on</code> (true) and <code>off</code> (false).</p>}
        {feature.type !== 'boolean' && variants.map((v, i) => (
          <div class='row' key={i}>
            <Field label={`Variant ${i + 1} key`} errors={errors.at(`/body/variants/${i}/key`)}>
              {(id, d) => <input id={id} aria-describedby={d} value={v.key} onInput={(e) => setVariant(i, { ...v, key: e.currentTarget.value })} />}
            </Field>
            <Field label='Value' errors={errors.at(`/body/variants/${i}/value`)}>
              {(id, d) => feature.type === 'json'
                ? <JsonEditor id={id} describedBy={d} value={v.value} onChange={(value: unknown) => setVariant(i, { ...v, value })} />
                : <input id={id} aria-describedby={d} value={valueText(v.value)} onInput={(e) => setVariant(i, { ...v, value: feature.type === 'number' ? Number(e.currentTarget.value) : e.currentTarget.value })} />}
            </Field>
            <button type='button' class='link' onClick={() => setVariants(variants.filter((_, j) => j !== i))}>Remove</button>
          </div>
        ))}
        {feature.type !== 'boolean' && <button type='button' onClick={() => setVariants([...variants, { key: `variant-${variants.length + 1}`, value: feature.type === 'number' ? 0 : feature.type === 'json' ? {} : '' }])}>Add variant</button>}
      </fieldset>
      <div class='actions'><button type='submit' class='primary'>Save settings</button></div>
    </form>
  )
}
