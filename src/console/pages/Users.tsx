// Users and roles (admin only): the list from GET /users and a role per user (PUT /users/{email}/role).
import { useState } from 'preact/hooks'
import { api, ok } from '../api/client'
import { session } from '../session'
import { ErrorBanner, Loading, Notice, PageTitle, useAsync, when } from '../ui'

type Role = 'ADMIN' | 'CLIENT'

const listUsers = async () => ok(await api.GET('/users', { params: { query: { limit: 100 } } }))

export function UsersPage () {
  const { data, error, reload } = useAsync(listUsers, [])
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

  return (
    <section>
      <PageTitle>Users and roles</PageTitle>
      <p class='muted'>ADMIN: everything. CLIENT: reads flags, segments and environments, evaluates. People sign up as CLIENT.</p>
      {done !== null && <Notice>{done}</Notice>}
      <ErrorBanner error={actionError} />
      <ErrorBanner error={error} />
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
    </section>
  )
}
