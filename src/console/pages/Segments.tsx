// Segments: reusable audiences. Admins create and edit them (If-Match on PUT); CLIENT users read.
import { useState } from 'preact/hooks'
import { api, ApiError, etagOf, FieldErrors, ok } from '../api/client'
import { isAdmin } from '../session'
import { ErrorBanner, Field, Loading, Notice, PageTitle, useAsync, when } from '../ui'
import type { Clause, Segment } from '../model'
import { ClauseEditor } from './RuleEditor'

type Rules = Array<{ clauses: Clause[] }>
const lines = (s: string) => s.split(/[\n,]/).map((x) => x.trim()).filter((x) => x !== '')

export function SegmentsPage () {
  const { data, error, reload } = useAsync(async () => ok(await api.GET('/segments')).items, [])
  const [editing, setEditing] = useState<Segment | 'new' | null>(null)
  const admin = isAdmin()
  return (
    <section>
      <PageTitle actions={admin && editing === null && <button type='button' class='primary' onClick={() => setEditing('new')}>New segment</button>}>Segments</PageTitle>
      {editing !== null && <SegmentForm segment={editing === 'new' ? undefined : editing} onDone={() => { setEditing(null); reload() }} />}
      <ErrorBanner error={error} />
      {data === undefined
        ? error === null && <Loading what='segments' />
        : (
          <table aria-label='Segments'>
            <thead><tr><th scope='col'>Segment</th><th scope='col'>Included</th><th scope='col'>Excluded</th><th scope='col'>Rules</th><th scope='col'>Updated</th>{admin && <th scope='col'><span class='sr-only'>Actions</span></th>}</tr></thead>
            <tbody>
              {data.length === 0 && <tr><td colSpan={6} class='muted'>No segment yet.</td></tr>}
              {data.map((s) => (
                <tr key={s.key}>
                  <td><strong>{s.key}</strong><div class='muted small'>{s.description ?? ''}</div></td>
                  <td>{s.included.join(', ') || '—'}</td>
                  <td>{s.excluded.join(', ') || '—'}</td>
                  <td>{s.rules.length}</td>
                  <td class='small'>{`${when(s.updatedAt)} by ${s.updatedBy}`}</td>
                  {admin && <td><button type='button' onClick={() => setEditing(s)} aria-label={`Edit ${s.key}`}>Edit</button></td>}
                </tr>
              ))}
            </tbody>
          </table>
          )}
    </section>
  )
}

function SegmentForm ({ segment, onDone }: { segment?: Segment; onDone: () => void }) {
  const [key, setKey] = useState(segment?.key ?? '')
  const [description, setDescription] = useState(segment?.description ?? '')
  const [included, setIncluded] = useState((segment?.included ?? []).join('\n'))
  const [excluded, setExcluded] = useState((segment?.excluded ?? []).join('\n'))
  const [rules, setRules] = useState<Rules>(structuredClone((segment?.rules ?? []) as unknown as Rules))
  const [errors, setErrors] = useState(new FieldErrors())
  const [error, setError] = useState<unknown>(null)

  async function save (e: Event) {
    e.preventDefault()
    setError(null)
    const body = { description, included: lines(included), excluded: lines(excluded), rules }
    try {
      if (segment === undefined) ok(await api.POST('/segments', { body: { key, ...body } }))
      else ok(await api.PUT('/segments/{key}', { params: { path: { key: segment.key }, header: { 'if-match': etagOf(segment.version) } }, body }))
      onDone()
    } catch (err) {
      if (err instanceof ApiError) setErrors(err.fieldErrors)
      setError(err)
    }
  }
  const setRule = (i: number, r: { clauses: Clause[] }) => setRules(rules.map((x, j) => (j === i ? r : x)))
  return (
    <form class='card' onSubmit={save} aria-label={segment === undefined ? 'New segment' : `Edit ${segment.key}`}>
      <h2>{segment === undefined ? 'New segment' : `Edit ${segment.key}`}</h2>
      <ErrorBanner error={error} title='Not saved:' />
      {segment !== undefined && <Notice>{`Flags using ${segment.key} see the change on their next evaluation.`}</Notice>}
      {segment === undefined && <Field label='Key' errors={errors.at('/body/key')}>{(id, d) => <input id={id} aria-describedby={d} value={key} required onInput={(e) => setKey(e.currentTarget.value)} />}</Field>}
      <Field label='Description' errors={errors.at('/body/description')}>{(id) => <input id={id} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />}</Field>
      <div class='grid2'>
        <Field label='Always included (targeting keys)' hint='One per line' errors={errors.at('/body/included')}>{(id, d) => <textarea id={id} aria-describedby={d} rows={3} value={included} onInput={(e) => setIncluded(e.currentTarget.value)} />}</Field>
        <Field label='Always excluded (targeting keys)' hint='One per line' errors={errors.at('/body/excluded')}>{(id, d) => <textarea id={id} aria-describedby={d} rows={3} value={excluded} onInput={(e) => setExcluded(e.currentTarget.value)} />}</Field>
      </div>
      <p class='muted small'>A context is in the segment when any rule matches (and all of that rule's clauses do).</p>
      {rules.map((r, i) => (
        <fieldset class='rule' key={i}>
          <legend>{`Rule ${i + 1}`}</legend>
          {r.clauses.map((c, j) => (
            <ClauseEditor
              key={j} n={`${i + 1}.${j + 1}`} clause={c} path={`/body/rules/${i}/clauses/${j}`} errors={errors}
              onChange={(nc) => setRule(i, { clauses: r.clauses.map((x, k) => (k === j ? nc : x)) })}
              onRemove={() => setRule(i, { clauses: r.clauses.filter((_, k) => k !== j) })}
            />
          ))}
          <div class='actions'>
            <button type='button' onClick={() => setRule(i, { clauses: [...r.clauses, { attribute: '', operator: 'in', values: [] }] })}>Add clause</button>
            <button type='button' class='danger' onClick={() => setRules(rules.filter((_, j) => j !== i))}>Delete rule</button>
          </div>
        </fieldset>
      ))}
      <div class='actions'>
        <button type='button' onClick={() => setRules([...rules, { clauses: [{ attribute: 'email', operator: 'endsWith', values: [] }] }])}>Add rule</button>
        <button type='submit' class='primary'>Save segment</button>
        <button type='button' onClick={onDone}>Cancel</button>
      </div>
    </form>
  )
}
