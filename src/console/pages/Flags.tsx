// Flags: search by name prefix and tag, paginated; each flag's on/off per environment as a switch
// that sends If-Match. A 412 shows what changed and offers to retry on the new version.
import { useEffect, useRef, useState } from 'preact/hooks'
import { api, ApiError, ok, type paths } from '../api/client'
import { isAdmin } from '../session'
import { href, navigate } from '../router'
import { ErrorBanner, Loading, PageTitle, Tags, Toggle } from '../ui'
import { envConfig, getFeature, newEnvConfig, putBody, putEnv, type Environment, type Feature } from '../model'
import { ConflictPanel, type Conflict } from './Conflict'
import { CreateFlag } from './CreateFlag'

const PAGE = 50

interface Page { items: Feature[]; nextCursor: string | null }
type ListPage = paths['/features']['get']['responses'][200]['content']['application/json']

/**
 * One page of flags with their environments (include=environments: one request per page). With a
 * tag, API pages are read until PAGE matches or the end: the API filters by name prefix only.
 */
async function loadPage (prefix: string, tag: string, cursor: string | undefined): Promise<Page> {
  const items: Feature[] = []
  let next: string | null | undefined = cursor
  for (;;) {
    const res: ListPage = ok(await api.GET('/features', { params: { query: { limit: tag === '' ? PAGE : 100, cursor: next ?? undefined, prefix: prefix === '' ? undefined : prefix, include: 'environments' } } }))
    const full = res.items.map((f) => ({ ...f, environments: f.environments ?? {} }))
    items.push(...(tag === '' ? full : full.filter((f) => f.tags.includes(tag))))
    next = res.nextCursor
    if (tag === '' || items.length >= PAGE || next === null) break
  }
  return { items, nextCursor: next ?? null }
}

export function FlagsPage ({ environments }: { environments: Environment[] }) {
  const params = new URLSearchParams(location.search)
  const [prefix, setPrefix] = useState(params.get('prefix') ?? '')
  const [tag, setTag] = useState(params.get('tag') ?? '')
  const [query, setQuery] = useState({ prefix, tag })
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined])
  const [page, setPage] = useState<Page | undefined>(undefined)
  const [details, setDetails] = useState<Record<string, Feature>>({})
  const [error, setError] = useState<unknown>(null)
  const [conflict, setConflict] = useState<Conflict | null>(null)
  const [busy, setBusy] = useState<string | null>(null)
  const [creating, setCreating] = useState(false)
  const live = useRef(0)
  const admin = isAdmin()

  useEffect(() => {
    const run = ++live.current
    setPage(undefined)
    setError(null)
    loadPage(query.prefix, query.tag, cursors[cursors.length - 1]).then((p) => {
      if (run !== live.current) return
      setDetails(Object.fromEntries(p.items.map((f) => [f.name, f])))
      setPage(p)
    }).catch((e) => { if (run === live.current) setError(e) })
  }, [query, cursors])

  function search (e: Event) {
    e.preventDefault()
    const q = new URLSearchParams()
    if (prefix !== '') q.set('prefix', prefix)
    if (tag !== '') q.set('tag', tag)
    history.replaceState(null, '', href('/flags') + (q.size > 0 ? `?${q}` : ''))
    setCursors([undefined])
    setQuery({ prefix, tag })
  }

  async function toggle (seen: Feature, env: string, enabled: boolean) {
    const key = `${seen.name}/${env}`
    setBusy(key)
    setError(null)
    try {
      const cfg = envConfig(seen, env) ?? newEnvConfig(seen)
      // No config yet in this environment: create one (the API refuses a create with If-Match).
      const res = await putEnv(seen.name, env, putBody({ ...cfg, enabled }), envConfig(seen, env) === undefined ? undefined : seen.version)
      setDetails((d) => ({ ...d, [seen.name]: { ...seen, version: res.version, environments: { ...seen.environments, [env]: res.config } } }))
    } catch (e) {
      if (e instanceof ApiError && (e.status === 412 || e.status === 409 || e.status === 428)) {
        const theirs = await getFeature(seen.name)
        setDetails((d) => ({ ...d, [seen.name]: theirs }))
        setConflict({ ours: seen, theirs, env, enabled, problem: e.problem.detail })
      } else setError(e)
    } finally {
      setBusy(null)
    }
  }

  async function retry (c: Conflict) {
    setConflict(null)
    await toggle(c.theirs, c.env, c.enabled)
  }

  return (
    <section>
      <PageTitle actions={admin && !creating && <button type='button' class='primary' onClick={() => setCreating(true)}>New flag</button>}>Flags</PageTitle>
      {creating && <CreateFlag environments={environments} onCancel={() => setCreating(false)} onCreated={(f) => navigate(`/flags/${f.name}`)} />}
      <form class='search' role='search' onSubmit={search}>
        <label>Name starts with <input type='search' name='prefix' value={prefix} onInput={(e) => setPrefix(e.currentTarget.value)} maxLength={64} /></label>
        <label>Tag <input type='search' name='tag' value={tag} onInput={(e) => setTag(e.currentTarget.value)} maxLength={64} /></label>
        <button type='submit'>Search</button>
      </form>
      {conflict !== null && <ConflictPanel conflict={conflict} onRetry={() => { void retry(conflict) }} onDismiss={() => setConflict(null)} />}
      <ErrorBanner error={error} />
      {page === undefined && error === null && <Loading what='flags' />}
      {page !== undefined && (
        <>
          <table class='flags' aria-label='Flags'>
            <thead>
              <tr><th scope='col'>Flag</th><th scope='col'>Tags</th>{environments.map((e) => <th scope='col' key={e.name} class='env'>{e.name}</th>)}</tr>
            </thead>
            <tbody>
              {page.items.length === 0 && <tr><td colSpan={2 + environments.length} class='muted'>No flag matches.</td></tr>}
              {page.items.map((f) => {
                const full = details[f.name]
                return (
                  <tr key={f.name}>
                    <td><a href={href(`/flags/${encodeURIComponent(f.name)}`)} class='flag-name'>{f.name}</a><div class='muted small'>{f.description}</div></td>
                    <td><Tags tags={f.tags} /></td>
                    {environments.map((e) => {
                      const cfg = full === undefined ? undefined : envConfig(full, e.name)
                      const label = `${f.name} in ${e.name}`
                      return (
                        <td key={e.name} class='env'>
                          {full === undefined
                            ? <span class='muted'><span aria-hidden='true'>…</span><span class='sr-only'>{`${label}: loading`}</span></span>
                            : admin
                              ? <Toggle checked={cfg?.enabled === true} label={label} disabled={busy === `${f.name}/${e.name}`} onChange={(v) => { void toggle(full, e.name, v) }} />
                              : <span class={cfg?.enabled === true ? 'state on' : 'state off'}><span class='sr-only'>{`${label}: `}</span>{cfg === undefined ? 'not set' : cfg.enabled ? 'on' : 'off'}</span>}
                        </td>
                      )
                    })}
                  </tr>
                )
              })}
            </tbody>
          </table>
          <nav class='pager' aria-label='Pages'>
            <button type='button' disabled={cursors.length === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>Previous page</button>
            <span class='muted'>Page {cursors.length}</span>
            <button type='button' disabled={page.nextCursor === null} onClick={() => setCursors((c) => [...c, page.nextCursor ?? undefined])}>Next page</button>
          </nav>
        </>
      )}
    </section>
  )
}
