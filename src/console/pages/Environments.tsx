// The environment registry: everyone reads it, admins add environments.
import { useState } from 'preact/hooks'
import { api, ApiError, FieldErrors, ok } from '../api/client'
import { isAdmin } from '../session'
import { ErrorBanner, Field, PageTitle, when } from '../ui'
import type { Environment } from '../model'

export function EnvironmentsPage ({ environments, onChange }: { environments: Environment[]; onChange: () => void }) {
  const [name, setName] = useState('')
  const [description, setDescription] = useState('')
  const [errors, setErrors] = useState(new FieldErrors())
  const [error, setError] = useState<unknown>(null)
  async function create (e: Event) {
    e.preventDefault()
    setError(null)
    setErrors(new FieldErrors())
    try {
      ok(await api.POST('/environments', { body: { name, description } }))
      setName('')
      setDescription('')
      onChange()
    } catch (err) {
      if (err instanceof ApiError) setErrors(err.fieldErrors)
      setError(err)
    }
  }
  return (
    <section>
      <PageTitle>Environments</PageTitle>
      <table aria-label='Environments'>
        <thead><tr><th scope='col'>Name</th><th scope='col'>Description</th><th scope='col'>Created</th></tr></thead>
        <tbody>{environments.map((env) => <tr key={env.name}><td><strong>{env.name}</strong></td><td>{env.description}</td><td class='small'>{`${when(env.createdAt)} by ${env.createdBy}`}</td></tr>)}</tbody>
      </table>
      {isAdmin() && (
        <form class='card' onSubmit={create} aria-labelledby='new-env'>
          <h2 id='new-env'>Add an environment</h2>
          <ErrorBanner error={error} title='Not added:' />
          <div class='grid2'>
            <Field label='Name' hint="Lowercase: a-z, 0-9 and '-'" errors={errors.at('/body/name')}>{(id, d) => <input id={id} aria-describedby={d} value={name} required onInput={(e) => setName(e.currentTarget.value)} />}</Field>
            <Field label='Description' errors={errors.at('/body/description')}>{(id) => <input id={id} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />}</Field>
          </div>
          <div class='actions'><button type='submit' class='primary'>Add environment</button></div>
        </form>
      )}
    </section>
  )
}
