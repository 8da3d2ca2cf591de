// Sign in with email and password (POST /auth/login). The token goes to sessionStorage only.
import { useState } from 'preact/hooks'
import { api, ok } from '../api/client'
import { signIn, takeNotice } from '../session'
import { ErrorBanner, Notice } from '../ui'

export function SignInPage () {
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const notice = takeNotice()
  async function submit (e: Event) {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      const t = ok(await api.POST('/auth/login', { body: { email, password } }))
      signIn(t.access_token, t.expires_in)
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  return (
    <main class='signin'>
      <form class='card' onSubmit={submit} aria-labelledby='signin-title'>
        <h1 id='signin-title'><span class='logo' aria-hidden='true'>⇄</span> Switchyard</h1>
        <p class='muted'>Sign in to manage feature flags.</p>
        {notice !== null && <Notice>{notice}</Notice>}
        <ErrorBanner error={error} />
        <div class='field'><label for='email'>Email</label><input id='email' type='email' autocomplete='username' required value={email} onInput={(e) => setEmail(e.currentTarget.value)} /></div>
        <div class='field'><label for='password'>Password</label><input id='password' type='password' autocomplete='current-password' required value={password} onInput={(e) => setPassword(e.currentTarget.value)} /></div>
        <button type='submit' class='primary wide' disabled={busy}>Sign in</button>
      </form>
    </main>
  )
}
