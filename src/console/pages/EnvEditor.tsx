// A flag's targeting in one environment. Saved with If-Match on the version the editor loaded;
// on a 412 the user sees what changed meanwhile and chooses: apply their edit on the new version,
// or drop it and load the new one. API validation errors land beside their fields.
import { useState } from 'preact/hooks'
import { ApiError, FieldErrors } from '../api/client'
import { DiffView } from '../diff'
import { ErrorBanner, Field, Notice, Toggle, when } from '../ui'
import { envConfig, getFeature, newEnvConfig, putBody, putEnv, type EnvConfig, type Feature, type Target } from '../model'
import { RulesEditor } from './RuleEditor'
import { ServeEditor } from './ServeEditor'

interface Pending { theirs: Feature; problem: string }

const FIELDS = ['enabled', 'offVariant', 'defaultServe', 'targets', 'rules', 'prerequisites', 'schedule'] as const
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

/**
 * My edit replayed on their version, field by field: what I did not touch comes from theirs, what
 * I changed comes from mine. `overlap` names the fields we both changed (mine replaces theirs).
 */
export function rebase (base: EnvConfig | undefined, mine: EnvConfig, theirs: EnvConfig | undefined): { merged: EnvConfig; overlap: string[] } {
  if (theirs === undefined || base === undefined) return { merged: mine, overlap: [] }
  const merged = { ...theirs }
  const overlap: string[] = []
  for (const f of FIELDS) {
    if (same(mine[f], base[f])) continue
    if (!same(theirs[f], base[f]) && !same(theirs[f], mine[f])) overlap.push(f)
    ;(merged as Record<string, unknown>)[f] = mine[f]
  }
  return { merged, overlap }
}

const CLAIMED = ['/body/enabled', '/body/offVariant', '/body/defaultServe', '/body/targets', '/body/rules', '/body/prerequisites', '/body/schedule']

export function EnvEditor ({ feature, env, onSaved }: { feature: Feature; env: string; onSaved: (f: Feature) => void }) {
  const base = envConfig(feature, env)
  const [draft, setDraft] = useState<EnvConfig>(() => structuredClone(base ?? newEnvConfig(feature)))
  const [errors, setErrors] = useState(new FieldErrors())
  const [error, setError] = useState<unknown>(null)
  const [saved, setSaved] = useState(false)
  const [conflict, setConflict] = useState<Pending | null>(null)
  const [saving, setSaving] = useState(false)
  const set = (patch: Partial<EnvConfig>) => { setDraft({ ...draft, ...patch }); setSaved(false) }

  async function save (on: Feature, body: EnvConfig = draft) {
    setSaving(true)
    setError(null)
    setErrors(new FieldErrors())
    try {
      const res = await putEnv(on.name, env, putBody(body), envConfig(on, env) === undefined ? undefined : on.version)
      setConflict(null)
      setSaved(true)
      onSaved({ ...on, version: res.version, environments: { ...on.environments, [env]: res.config } })
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) setConflict({ theirs: await getFeature(on.name), problem: e.problem.detail })
      else {
        if (e instanceof ApiError) setErrors(e.fieldErrors)
        setError(e)
      }
    } finally {
      setSaving(false)
    }
  }

  const retry = conflict === null ? null : rebase(base, draft, envConfig(conflict.theirs, env))
  const unclaimed = errors.unclaimed((p) => CLAIMED.some((c) => p === c || p.startsWith(c + '/')))
  const variants = feature.variants
  return (
    <form class='env-editor' onSubmit={(e) => { e.preventDefault(); void save(feature) }} aria-label={`Targeting in ${env}`}>
      {conflict !== null && (
        <div class='banner conflict' role='alert' aria-labelledby='env-conflict'>
          <h2 id='env-conflict'>{`Someone changed ${feature.name} meanwhile`}</h2>
          <p>{`${conflict.theirs.updatedBy} saved version ${conflict.theirs.version} at ${when(conflict.theirs.updatedAt)}; your edit was not written. Their changes in ${env}:`}</p>
          <DiffView before={base} after={envConfig(conflict.theirs, env)} label='Changes made meanwhile' />
          {retry !== null && retry.overlap.length > 0 && <p>{`You both changed: ${retry.overlap.join(', ')}. Applying yours replaces theirs there; everything else of theirs is kept.`}</p>}
          {retry !== null && retry.overlap.length === 0 && <p>Applying your changes keeps all of theirs: you changed different things.</p>}
          <div class='actions'>
            <button type='button' class='primary' onClick={() => { if (retry !== null) { setDraft(retry.merged); void save(conflict.theirs, retry.merged) } }}>Apply my changes on the new version</button>
            <button type='button' onClick={() => { setConflict(null); onSaved(conflict.theirs); setDraft(structuredClone(envConfig(conflict.theirs, env) ?? newEnvConfig(feature))) }}>Discard mine, load theirs</button>
          </div>
        </div>
      )}
      {error !== null && <ErrorBanner error={error} title='Not saved:' />}
      {unclaimed.length > 0 && <ul class='field-error'>{unclaimed.map((u) => <li key={u.path}>{`${u.path}: ${u.message}`}</li>)}</ul>}
      {saved && <Notice>{`Saved: ${feature.name} is at version ${feature.version}.`}</Notice>}
      {base === undefined && <Notice>{`${feature.name} has no configuration in ${env} yet; saving creates it.`}</Notice>}

      <div class='row'>
        <Toggle checked={draft.enabled} label={`Enabled in ${env}`} onChange={(v) => set({ enabled: v })} />
        <span>{draft.enabled ? `On in ${env}` : `Off in ${env}`}</span>
      </div>
      <div class='grid2'>
        <Field label='Off variant (served while off)' errors={errors.at('/body/offVariant')}>
          {(id, d) => (
            <select id={id} aria-describedby={d} value={draft.offVariant} onChange={(e) => set({ offVariant: e.currentTarget.value })}>
              {variants.map((v) => <option key={v.key} value={v.key}>{v.key}</option>)}
            </select>
          )}
        </Field>
      </div>

      <h3>Individual targets</h3>
      <TargetsEditor targets={draft.targets} variants={variants.map((v) => v.key)} errors={errors} onChange={(t) => set({ targets: t })} />

      <h3>Rules <span class='muted small'>(in order; the first match wins)</span></h3>
      <RulesEditor rules={draft.rules} variants={variants} path='/body/rules' errors={errors} onChange={(r) => set({ rules: r })} />

      <h3>Default</h3>
      <ServeEditor label='When no target or rule matches, serve' serve={draft.defaultServe} variants={variants} path='/body/defaultServe' errors={errors} onChange={(s) => set({ defaultServe: s })} />

      <h3>Prerequisites</h3>
      {draft.prerequisites.map((p, i) => (
        <div class='row' key={i}>
          <Field label={`Prerequisite ${i + 1}: flag`} errors={errors.at(`/body/prerequisites/${i}/flag`)}>
            {(id, d) => <input id={id} aria-describedby={d} value={p.flag} onInput={(e) => set({ prerequisites: draft.prerequisites.map((x, j) => (j === i ? { ...x, flag: e.currentTarget.value } : x)) })} />}
          </Field>
          <Field label='must serve variant' errors={errors.at(`/body/prerequisites/${i}/variant`)}>
            {(id, d) => <input id={id} aria-describedby={d} value={p.variant} onInput={(e) => set({ prerequisites: draft.prerequisites.map((x, j) => (j === i ? { ...x, variant: e.currentTarget.value } : x)) })} />}
          </Field>
          <button type='button' class='link' onClick={() => set({ prerequisites: draft.prerequisites.filter((_, j) => j !== i) })}>Remove</button>
        </div>
      ))}
      <button type='button' onClick={() => set({ prerequisites: [...draft.prerequisites, { flag: '', variant: 'on' }] })}>Add prerequisite</button>

      <h3>Schedule</h3>
      {draft.schedule.map((s, i) => (
        <div class='row' key={i}>
          <Field label={`Change ${i + 1} id`} errors={errors.at(`/body/schedule/${i}/id`)}>
            {(id, d) => <input id={id} aria-describedby={d} value={s.id} onInput={(e) => set({ schedule: draft.schedule.map((x, j) => (j === i ? { ...x, id: e.currentTarget.value } : x)) })} />}
          </Field>
          <Field label='At (ISO 8601, with offset)' errors={errors.at(`/body/schedule/${i}/at`)}>
            {(id, d) => <input id={id} aria-describedby={d} value={s.at} placeholder='2030-01-01T09:00:00Z' onInput={(e) => set({ schedule: draft.schedule.map((x, j) => (j === i ? { ...x, at: e.currentTarget.value } : x)) })} />}
          </Field>
          <Field label='Then' errors={errors.at(`/body/schedule/${i}/change`)}>
            {(id, d) => (
              <select id={id} aria-describedby={d} value={s.change.enabled === undefined ? '' : String(s.change.enabled)} onChange={(e) => { const v = e.currentTarget.value; set({ schedule: draft.schedule.map((x, j) => (j === i ? { ...x, change: { ...x.change, enabled: v === '' ? undefined : v === 'true' } } : x)) }) }}>
                <option value='true'>turn on</option><option value='false'>turn off</option><option value=''>leave on/off as is</option>
              </select>
            )}
          </Field>
          <button type='button' class='link' onClick={() => set({ schedule: draft.schedule.filter((_, j) => j !== i) })}>Remove</button>
        </div>
      ))}
      <button type='button' onClick={() => set({ schedule: [...draft.schedule, { id: `change-${draft.schedule.length + 1}`, at: new Date(Date.now() + 86_400_000).toISOString().slice(0, 19) + 'Z', change: { enabled: true } }] })}>Add scheduled change</button>

      <div class='actions sticky'>
        <button type='submit' class='primary' disabled={saving}>{`Save ${env}`}</button>
        <button type='button' onClick={() => { setDraft(structuredClone(base ?? newEnvConfig(feature))); setErrors(new FieldErrors()); setError(null) }}>Revert</button>
      </div>
    </form>
  )
}

function TargetsEditor ({ targets, variants, onChange, errors }: { targets: Target[]; variants: string[]; onChange: (t: Target[]) => void; errors: FieldErrors }) {
  // One list of targeting keys per variant; empty lists are dropped on save.
  const byVariant = (v: string) => targets.find((t) => t.variant === v)?.values ?? []
  function set (variant: string, text: string) {
    const values = text.split(/[\n,]/).map((s) => s.trim()).filter((s) => s !== '')
    const others = targets.filter((t) => t.variant !== variant)
    onChange(values.length === 0 ? others : [...others, { variant, values }])
  }
  return (
    <div class='grid2'>
      {variants.map((v) => {
        const i = targets.findIndex((t) => t.variant === v)
        return (
          <Field key={v} label={`Serve ${v} to these targeting keys`} hint='One per line' errors={i < 0 ? [] : errors.at(`/body/targets/${i}`)}>
            {(id, d) => <textarea id={id} aria-describedby={d} rows={2} value={byVariant(v).join('\n')} onChange={(e) => set(v, e.currentTarget.value)} />}
          </Field>
        )
      })}
    </div>
  )
}
