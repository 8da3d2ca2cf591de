// Users and roles (admin only): the list from GET /users and a role per user (PUT /users/{email}/role).
import { useState } from 'preact/hooks'
import { api, ApiError, ok } from '../api/client'
import { session } from '../session'
import { ErrorBanner, Field, Loading, Notice, PageTitle, useAsync, when } from '../ui'

type Role = 'ADMIN' | 'CLIENT'
interface User { email: string; username: string; role: Role; createdAt?: string }

async function listUsers (): Promise<{ items: User[]; nextCursor: string | null }> {
  // GET /users answers {items, nextCursor}; called directly until its schema is in schema.d.ts.
  const res = await fetch('/users?limit=100', { headers: { authorization: `Bearer ${session()?.token ?? ''}` } })
  const body = await res.json()
  if (!res.ok) throw new ApiError({ type: body.type ?? 'about:blank', title: body.title ?? res.statusText, status: res.status, detail: body.detail ?? `The server answered ${res.status}` })
  return body
}

export function UsersPage () {
  const { data, error, reload } = useAsync(listUsers, [])
  const [email, setEmail] = useState('')
  const [role, setRole] = useState<Role>('ADMIN')
  const [done, setDone] = useState<string | null>(null)
  const [actionError, setActionError] = useState<unknown>(null)

  async function setUserRole (who: string, to: Role) {
    setActionError(null)
    setDone(null)
    try {
      const u = ok(await api.PUT('/users/{email}/role', { params: { path: { email: who } }, body: { role: to } }))
      setDone(`${u.email} is now ${u.role}.`)
      reload()
    } catch (e) { setActionError(e) }
  }
  const me = session()?.email
  const noList = error instanceof ApiError && error.status === 404

  return (
    <section>
      <PageTitle>Users and roles</PageTitle>
      <p class='muted'>ADMIN: everything. CLIENT: reads flags, segments and environments, evaluates. People sign up as CLIENT.</p>
      {done !== null && <Notice>{done}</Notice>}
      <ErrorBanner error={actionError} />
      {!noList && <ErrorBanner error={error} />}
      {data === undefined && error === null && <Loading what='users' />}
      {data !== undefined && (
        <table aria-label='Users'>
          <thead><tr><th scope='col'>User</th><th scope='col'>Email</th><th scope='col'>Since</th><th scope='col'>Role</th></tr></thead>
          <tbody>
            {data.items.map((u) => (
              <tr key={u.email}>
                <td>{u.username}</td><td>{u.email}</td><td class='small'>{when(u.createdAt)}</td>
                <td>
                  {u.email === me
                    ? <span>{`${u.role} (you)`}</span>
                    : (
                      <select aria-label={`Role of ${u.email}`} value={u.role} onChange={(e) => { void setUserRole(u.email, e.currentTarget.value as Role) }}>
                        <option value='ADMIN'>ADMIN</option><option value='CLIENT'>CLIENT</option>
                      </select>
                      )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {noList && (
        <form class='card' onSubmit={(e) => { e.preventDefault(); void setUserRole(email, role) }} aria-labelledby='set-role'>
          <h2 id='set-role'>Change a user's role</h2>
          <p class='muted'>This server does not list users; change a role by email.</p>
          <div class='grid2'>
            <Field label='Email'>{(id) => <input id={id} type='email' value={email} required onInput={(e) => setEmail(e.currentTarget.value)} />}</Field>
            <Field label='Role'>{(id) => <select id={id} value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}><option value='ADMIN'>ADMIN</option><option value='CLIENT'>CLIENT</option></select>}</Field>
          </div>
          <div class='actions'><button type='submit' class='primary'>Set role</button></div>
        </form>
      )}
    </section>
  )
}
