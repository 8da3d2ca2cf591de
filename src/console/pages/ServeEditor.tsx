// A serve: one variant, or a weighted rollout whose weights must total 100 % (the API counts in
// 1/1000 %, 100 000 in all); the sum is checked live as the user types.
import type { FieldErrors } from '../api/client'
import { Field } from '../ui'
import { ROLLOUT_TOTAL, type Serve, type Variant } from '../model'

const pct = (w: number) => Math.round(w) / 1000
const weight = (p: number) => Math.round(p * 1000)

export function ServeEditor ({ serve, variants, onChange, path, errors, label }: { serve: Serve; variants: Variant[]; onChange: (s: Serve) => void; path: string; errors: FieldErrors; label: string }) {
  const isRollout = 'rollout' in serve
  const name = `${path}-kind`
  function setKind (rollout: boolean) {
    if (rollout === isRollout) return
    if (rollout) {
      const even = Math.floor(ROLLOUT_TOTAL / Math.max(1, variants.length))
      onChange({ rollout: { variants: variants.map((v, i) => ({ variant: v.key, weight: i === 0 ? ROLLOUT_TOTAL - even * (variants.length - 1) : even })) } })
    } else onChange({ variant: variants[0]?.key ?? 'on' })
  }
  return (
    <fieldset class='serve'>
      <legend>{label}</legend>
      <div class='radios'>
        <label><input type='radio' name={name} checked={!isRollout} onChange={() => setKind(false)} /> One variant</label>
        <label><input type='radio' name={name} checked={isRollout} onChange={() => setKind(true)} /> Percentage rollout</label>
      </div>
      {'variant' in serve && (
        <Field label='Variant' errors={errors.at(`${path}/variant`)}>
          {(id, d) => (
            <select id={id} aria-describedby={d} value={serve.variant} onChange={(e) => onChange({ variant: e.currentTarget.value })}>
              {variants.map((v) => <option key={v.key} value={v.key}>{v.key}</option>)}
            </select>
          )}
        </Field>
      )}
      {'rollout' in serve && <RolloutEditor serve={serve} variants={variants} onChange={onChange} path={`${path}/rollout`} errors={errors} />}
    </fieldset>
  )
}

function RolloutEditor ({ serve, variants, onChange, path, errors }: { serve: Extract<Serve, { rollout: unknown }>; variants: Variant[]; onChange: (s: Serve) => void; path: string; errors: FieldErrors }) {
  const r = serve.rollout
  const sum = r.variants.reduce((s, v) => s + v.weight, 0)
  const set = (i: number, w: number) => onChange({ rollout: { ...r, variants: r.variants.map((v, j) => (j === i ? { ...v, weight: w } : v)) } })
  const unused = variants.filter((v) => !r.variants.some((w) => w.variant === v.key))
  return (
    <div class='rollout'>
      {r.variants.map((w, i) => (
        <div class='row' key={w.variant}>
          <Field label={`Weight of ${w.variant} (%)`} errors={errors.at(`${path}/variants/${i}`)}>
            {(id, d) => <input id={id} aria-describedby={d} type='number' min={0} max={100} step={0.001} value={pct(w.weight)} onInput={(e) => set(i, weight(Number(e.currentTarget.value)))} />}
          </Field>
          <button type='button' class='link' aria-label={`Remove ${w.variant} from the rollout`} onClick={() => onChange({ rollout: { ...r, variants: r.variants.filter((_, j) => j !== i) } })}>Remove</button>
        </div>
      ))}
      <p class={sum === ROLLOUT_TOTAL ? 'sum ok' : 'sum bad'} role='status' aria-live='polite'>
        {sum === ROLLOUT_TOTAL ? 'Total 100 %' : `Total ${pct(sum)} %: the weights must add up to 100 %`}
      </p>
      {errors.at(`${path}/variants`).length > 0 && <p class='field-error' role='alert'>{errors.at(`${path}/variants`).join('; ')}</p>}
      {unused.length > 0 && (
        <div class='actions'>{unused.map((v) => <button type='button' key={v.key} onClick={() => onChange({ rollout: { ...r, variants: [...r.variants, { variant: v.key, weight: 0 }] } })}>{`Add ${v.key}`}</button>)}</div>
      )}
      <Field label='Bucket by (context attribute)' hint='Default: targetingKey' errors={errors.at(`${path}/bucketBy`)}>
        {(id, d) => <input id={id} aria-describedby={d} value={r.bucketBy ?? ''} onInput={(e) => { const b = e.currentTarget.value; onChange({ rollout: { ...r, bucketBy: b === '' ? undefined : b } }) }} />}
      </Field>
    </div>
  )
}

export function describeServe (s: Serve): string {
  return 'variant' in s ? s.variant : s.rollout.variants.map((v) => `${v.variant} ${pct(v.weight)} %`).join(', ')
}
