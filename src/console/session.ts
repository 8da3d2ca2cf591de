// The signed-in session. The token lives in sessionStorage (this tab only, gone when it closes),
// never in localStorage. The role and expiry are read from the JWT's claims for the UI only: the
// API enforces both on every request.
import { useEffect, useState } from 'preact/hooks'

const KEY = 'switchyard.session'

export interface Session { token: string; email: string; role: 'ADMIN' | 'CLIENT'; expiresAt: number }

let current: Session | null = load()
let notice: string | null = null
const listeners = new Set<() => void>()
let expiryTimer: ReturnType<typeof setTimeout> | undefined

function load (): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY)
    const s = raw === null ? null : JSON.parse(raw) as Session
    if (s !== null && s.expiresAt > Date.now()) return s
    sessionStorage.removeItem(KEY)
    return null
  } catch {
    return null
  }
}

function claims (token: string): { sub?: string; role?: string; exp?: number } {
  const part = token.split('.')[1] ?? ''
  const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'))
  return JSON.parse(json)
}

function emit () {
  clearTimeout(expiryTimer)
  if (current !== null) {
    expiryTimer = setTimeout(() => signOut('Your session expired. Sign in again.'), Math.max(0, current.expiresAt - Date.now()))
  }
  for (const l of listeners) l()
}

export function signIn (token: string, expiresInSeconds: number): Session {
  const c = claims(token)
  const expiresAt = Math.min(Date.now() + expiresInSeconds * 1000, (c.exp ?? Infinity) * 1000)
  current = { token, email: String(c.sub ?? ''), role: c.role === 'ADMIN' ? 'ADMIN' : 'CLIENT', expiresAt }
  sessionStorage.setItem(KEY, JSON.stringify(current))
  notice = null
  emit()
  return current
}

export function signOut (message: string | null = null) {
  current = null
  notice = message
  sessionStorage.removeItem(KEY)
  emit()
}

export function session (): Session | null { return current }
export function takeNotice (): string | null { return notice }
export const isAdmin = () => current?.role === 'ADMIN'

export function useSession (): Session | null {
  const [, force] = useState(0)
  useEffect(() => {
    const l = () => force((n) => n + 1)
    listeners.add(l)
    return () => { listeners.delete(l) }
  }, [])
  return current
}

if (current !== null) emit()
