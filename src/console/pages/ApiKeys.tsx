// API keys for services: created for one environment, the secret shown once (with a copy button),
// revocable. Admin only (the API's rule).
import { useState } from 'preact/hooks'
import { api, ApiError, FieldErrors, ok } from '../api/client'
import { ErrorBanner, Field, Loading, PageTitle, useAsync, when } from '../ui'
import type { Environment } from '../model'

export function ApiKeysPage ({ environments }: { environments: Environment[] }) {
  const { data, error, reload } = useAsync(async () => ok(await api.GET('/api-keys', { params: { query: { limit: 100 } } })), [])
  const [name, setName] = useState('')
  const [env, setEnv] = useState(environments[0]?.name ?? 'dev')
  const [kind, setKind] = useState<'client' | 'server'>('client')
  const [secret, setSecret] = useState<{ name: string; key: string } | null>(null)
  const [copied, setCopied] = useState(false)
  const [errors, setErrors] = useState(new FieldErrors())
  const [actionError, setActionError] = useState<unknown>(null)
  const [confirming, setConfirming] = useState<string | null>(null)

  async function create (e: Event) {
    e.preventDefault()
    setActionError(null)
    setErrors(new FieldErrors())
    try {
      const created = ok(await api.POST('/api-keys', { body: { name, environment: env, kind } }))
      setSecret({ name: created.name, key: created.key })
      setCopied(false)
      setName('')
      reload()
    } catch (err) {
      if (err instanceof ApiError) setErrors(err.fieldErrors)
      setActionError(err)
    }
  }
  async function revoke (id: string) {
    setActionError(null)
    setConfirming(null)
    try {
      ok(await api.DELETE('/api-keys/{id}', { params: { path: { id } } }))
      reload()
    } catch (err) { setActionError(err) }
  }
  async function copy () {
    if (secret === null) return
    await navigator.clipboard.writeText(secret.key)
    setCopied(true)
  }

  return (
    <section>
      <PageTitle>API keys</PageTitle>
      <form class='card' onSubmit={create} aria-labelledby='new-key'>
        <h2 id='new-key'>Create an API key</h2>
        <div class='grid2'>
          <Field label='What it is for' hint='e.g. checkout-service' errors={errors.at('/body/name')}>{(id, d) => <input id={id} aria-describedby={d} value={name} required onInput={(e) => setName(e.currentTarget.value)} />}</Field>
          <Field label='Environment' errors={errors.at('/body/environment')}>
            {(id) => <select id={id} value={env} onChange={(e) => setEnv(e.currentTarget.value)}>{environments.map((x) => <option key={x.name} value={x.name}>{x.name}</option>)}</select>}
          </Field>
          <Field label='Kind' hint='client: evaluation results only (safe in a browser); server: may also download the rules' errors={errors.at('/body/kind')}>
            {(id, d) => (
              <select id={id} aria-describedby={d} value={kind} onChange={(e) => setKind(e.currentTarget.value as 'client' | 'server')}>
                <option value='client'>client</option><option value='server'>server</option>
              </select>
            )}
          </Field>
        </div>
        <div class='actions'><button type='submit' class='primary'>Create key</button></div>
      </form>
      {secret !== null && (
        <div class='banner secret' role='status' aria-labelledby='secret-title'>
          <h2 id='secret-title'>{`Secret of ${secret.name}`}</h2>
          <p>Copy it now: it is shown once and cannot be shown again.</p>
          <div class='row'><code class='secret-value' data-testid='api-key-secret'>{secret.key}</code><button type='button' onClick={() => { void copy() }}>{copied ? 'Copied' : 'Copy'}</button></div>
          <button type='button' class='link' onClick={() => setSecret(null)}>I have stored it; hide the secret</button>
        </div>
      )}
      <ErrorBanner error={actionError} />
      <ErrorBanner error={error} />
      {data === undefined
        ? error === null && <Loading what='API keys' />
        : (
          <table aria-label='API keys'>
            <thead><tr><th scope='col'>Name</th><th scope='col'>Id</th><th scope='col'>Environment</th><th scope='col'>Kind</th><th scope='col'>Created</th><th scope='col'>Status</th><th scope='col'><span class='sr-only'>Actions</span></th></tr></thead>
            <tbody>
              {data.items.length === 0 && <tr><td colSpan={7} class='muted'>No API key yet.</td></tr>}
              {data.items.map((k) => (
                <tr key={k.id}>
                  <td>{k.name}</td><td><code>{k.id}</code></td><td>{k.environment}</td><td>{k.kind}</td>
                  <td class='small'>{`${when(k.createdAt)} by ${k.createdBy}`}</td>
                  <td>{k.revokedAt !== undefined ? <span class='state off'>{`revoked ${when(k.revokedAt)}`}</span> : <span class='state on'>active</span>}</td>
                  <td>
                    {k.revokedAt === undefined && confirming !== k.id && <button type='button' class='danger' onClick={() => setConfirming(k.id)} aria-label={`Revoke ${k.name}`}>Revoke</button>}
                    {k.revokedAt === undefined && confirming === k.id && (
                      <span class='row'>
                        <button type='button' class='danger' onClick={() => { void revoke(k.id) }} aria-label={`Confirm revoke of ${k.name} (services using it stop being answered)`}>Confirm revoke</button>
                        <button type='button' onClick={() => setConfirming(null)}>Keep</button>
                      </span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          )}
    </section>
  )
}
