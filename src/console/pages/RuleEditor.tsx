// Ordered rules (first match wins), each an AND of clauses over the API's operators, serving a
// variant or a rollout. API field errors are shown beside the field their JSON pointer names.
import type { FieldErrors } from '../api/client'
import { Field } from '../ui'
import { NUMERIC_OPERATORS, OPERATORS, type Clause, type Rule, type Variant } from '../model'
import { ServeEditor } from './ServeEditor'

function parseValues (text: string, operator: string): Clause['values'] {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '')
  return NUMERIC_OPERATORS.has(operator) ? lines.map((l) => (Number.isNaN(Number(l)) ? l : Number(l))) : lines
}

export function ClauseEditor ({ clause, onChange, onRemove, path, errors, n }: { clause: Clause; onChange: (c: Clause) => void; onRemove: () => void; path: string; errors: FieldErrors; n: string }) {
  return (
    <div class='clause'>
      <Field label={`Attribute (clause ${n})`} errors={errors.at(`${path}/attribute`)}>
        {(id, d) => <input id={id} aria-describedby={d} value={clause.attribute} onInput={(e) => onChange({ ...clause, attribute: e.currentTarget.value })} />}
      </Field>
      <Field label='Operator' errors={errors.at(`${path}/operator`)}>
        {(id, d) => (
          <select id={id} aria-describedby={d} value={clause.operator} onChange={(e) => onChange({ ...clause, operator: e.currentTarget.value as Clause['operator'], values: parseValues(clause.values.join('\n'), e.currentTarget.value) })}>
            {OPERATORS.map((op) => <option key={op} value={op}>{op}</option>)}
          </select>
        )}
      </Field>
      <Field label='Values' hint='One per line' errors={errors.at(`${path}/values`)}>
        {(id, d) => <textarea id={id} aria-describedby={d} rows={2} value={clause.values.join('\n')} onInput={(e) => onChange({ ...clause, values: parseValues(e.currentTarget.value, clause.operator) })} />}
      </Field>
      <div class='checks'>
        <label><input type='checkbox' checked={clause.negate === true} onChange={(e) => onChange({ ...clause, negate: e.currentTarget.checked || undefined })} /> not</label>
        <label><input type='checkbox' checked={clause.caseInsensitive === true} onChange={(e) => onChange({ ...clause, caseInsensitive: e.currentTarget.checked || undefined })} /> ignore case</label>
        <button type='button' class='link' onClick={onRemove} aria-label={`Remove clause ${n}`}>Remove</button>
      </div>
    </div>
  )
}

export function RulesEditor ({ rules, variants, onChange, path, errors }: { rules: Rule[]; variants: Variant[]; onChange: (r: Rule[]) => void; path: string; errors: FieldErrors }) {
  const set = (i: number, r: Rule) => onChange(rules.map((x, j) => (j === i ? r : x)))
  const move = (i: number, by: number) => {
    const next = [...rules]
    const [r] = next.splice(i, 1)
    next.splice(i + by, 0, r)
    onChange(next)
  }
  function add () {
    let k = rules.length + 1
    while (rules.some((r) => r.id === `rule-${k}`)) k++
    onChange([...rules, { id: `rule-${k}`, clauses: [{ attribute: 'targetingKey', operator: 'in', values: [] }], serve: { variant: variants[0]?.key ?? 'on' } }])
  }
  return (
    <div class='rules'>
      {rules.map((rule, i) => {
        const rp = `${path}/${i}`
        return (
          <fieldset class='rule' key={i}>
            <legend>{`Rule ${i + 1}`}</legend>
            <div class='grid2'>
              <Field label={`Rule ${i + 1} id`} errors={errors.at(`${rp}/id`)}>
                {(id, d) => <input id={id} aria-describedby={d} value={rule.id} onInput={(e) => set(i, { ...rule, id: e.currentTarget.value })} />}
              </Field>
              <Field label='Description' errors={errors.at(`${rp}/description`)}>
                {(id) => <input id={id} value={rule.description ?? ''} onInput={(e) => set(i, { ...rule, description: e.currentTarget.value === '' ? undefined : e.currentTarget.value })} />}
              </Field>
            </div>
            <p class='muted small'>All clauses must match.</p>
            {rule.clauses.map((c, j) => (
              <ClauseEditor
                key={j} n={`${i + 1}.${j + 1}`} clause={c} path={`${rp}/clauses/${j}`} errors={errors}
                onChange={(nc) => set(i, { ...rule, clauses: rule.clauses.map((x, k) => (k === j ? nc : x)) })}
                onRemove={() => set(i, { ...rule, clauses: rule.clauses.filter((_, k) => k !== j) })}
              />
            ))}
            <button type='button' onClick={() => set(i, { ...rule, clauses: [...rule.clauses, { attribute: '', operator: 'in', values: [] }] })}>Add clause</button>
            <ServeEditor label={`Rule ${i + 1} serves`} serve={rule.serve} variants={variants} path={`${rp}/serve`} errors={errors} onChange={(s) => set(i, { ...rule, serve: s })} />
            <div class='actions'>
              <button type='button' disabled={i === 0} onClick={() => move(i, -1)} aria-label={`Move up: rule ${i + 1}`}>Move up</button>
              <button type='button' disabled={i === rules.length - 1} onClick={() => move(i, 1)} aria-label={`Move down: rule ${i + 1}`}>Move down</button>
              <button type='button' class='danger' onClick={() => onChange(rules.filter((_, j) => j !== i))} aria-label={`Delete rule ${i + 1}`}>Delete rule</button>
            </div>
          </fieldset>
        )
      })}
      <button type='button' onClick={add}>Add rule</button>
    </div>
  )
}
