// The console's shell: sign-in gate, navigation, pages. Pages other than the flag list are
// separate chunks, loaded when first visited.
import { render } from 'preact'
import { useEffect } from 'preact/hooks'
import './styles.css'
import { api, ok } from './api/client'
import { isAdmin, signOut, useSession } from './session'
import { href, navigate, onLinkClick, usePath } from './router'
import { ErrorBanner, Loading, useAsync } from './ui'
import { lazy } from './lazy'
import { SignInPage } from './pages/SignIn'
import { FlagsPage } from './pages/Flags'

const FlagPage = lazy(() => import('./pages/Flag').then((m) => m.FlagPage))
const SegmentsPage = lazy(() => import('./pages/Segments').then((m) => m.SegmentsPage))
const EnvironmentsPage = lazy(() => import('./pages/Environments').then((m) => m.EnvironmentsPage))
const ApiKeysPage = lazy(() => import('./pages/ApiKeys').then((m) => m.ApiKeysPage))
const UsersPage = lazy(() => import('./pages/Users').then((m) => m.UsersPage))

function Shell () {
  const s = useSession()
  const { path } = usePath()
  const envs = useAsync(async () => (s === null ? [] : ok(await api.GET('/environments')).items), [s?.token])
  useEffect(() => {
    // After a navigation, move focus to the page's heading so keyboard and screen-reader users start there.
    const h1 = document.querySelector<HTMLElement>('main h1')
    if (h1 !== null && document.activeElement === document.body) h1.focus()
  })
  if (s === null) return <SignInPage />
  const admin = isAdmin()
  const nav: Array<[string, string, boolean]> = [
    ['/flags', 'Flags', true], ['/segments', 'Segments', true], ['/environments', 'Environments', true],
    ['/api-keys', 'API keys', admin], ['/users', 'Users', admin]
  ]
  const environments = envs.data
  const flag = /^\/flags\/([^/]+)(?:\/(settings|why|history))?$/.exec(path)
  let page
  if (environments === undefined) page = envs.error !== null ? <ErrorBanner error={envs.error} /> : <Loading what='environments' />
  else if (path === '/' || path === '/flags') page = <FlagsPage environments={environments} />
  else if (flag !== null) page = <FlagPage key={flag[1]} name={decodeURIComponent(flag[1])} tab={flag[2] ?? ''} environments={environments} />
  else if (path === '/segments') page = <SegmentsPage />
  else if (path === '/environments') page = <EnvironmentsPage environments={environments} onChange={() => envs.reload()} />
  else if (path === '/api-keys' && admin) page = <ApiKeysPage environments={environments} />
  else if (path === '/users' && admin) page = <UsersPage />
  else page = <p>Nothing here. <a href={href('/flags')}>Back to the flags</a>.</p>
  return (
    <>
      <a class='skip' href='#main'>Skip to content</a>
      <header class='top'>
        <a class='brand' href={href('/flags')}><span class='logo' aria-hidden='true'>⇄</span> Switchyard</a>
        <nav aria-label='Main'>
          {nav.filter(([, , show]) => show).map(([p, label]) => <a key={p} href={href(p)} aria-current={path === p || (p === '/flags' && path.startsWith('/flags')) ? 'page' : undefined}>{label}</a>)}
        </nav>
        <div class='who'>
          <span>{s.email}</span><span class='badge'>{s.role}</span>
          <button type='button' onClick={() => { signOut(); navigate('/flags', true) }}>Sign out</button>
        </div>
      </header>
      <main id='main' tabIndex={-1}>{page}</main>
    </>
  )
}

document.addEventListener('click', onLinkClick)
render(<Shell />, document.getElementById('app') as HTMLElement)
