// A history-API router for the console's few pages; every /console/* URL is index.html on the
// server (routes/console.ts), so deep links and reloads work.
import { useEffect, useState } from 'preact/hooks'

export const BASE = '/console'
const listeners = new Set<() => void>()

export function currentPath (): string {
  const p = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : '/'
  return p === '' ? '/' : p
}

export function navigate (path: string, replace = false) {
  const url = BASE + path
  if (replace) history.replaceState(null, '', url)
  else history.pushState(null, '', url)
  for (const l of listeners) l()
  window.scrollTo(0, 0)
}

export function usePath (): { path: string; query: URLSearchParams } {
  const [, force] = useState(0)
  useEffect(() => {
    const l = () => force((n) => n + 1)
    listeners.add(l)
    window.addEventListener('popstate', l)
    return () => { listeners.delete(l); window.removeEventListener('popstate', l) }
  }, [])
  return { path: currentPath(), query: new URLSearchParams(location.search) }
}

/** `<a>` clicks inside the console stay in the page (modifier clicks open tabs as usual). */
export function onLinkClick (e: MouseEvent) {
  const a = (e.target as HTMLElement).closest('a')
  if (a === null || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
  const href = a.getAttribute('href')
  if (href === null || !href.startsWith(BASE + '/') || a.target === '_blank') return
  e.preventDefault()
  const url = new URL(href, location.origin)
  history.pushState(null, '', url.pathname + url.search)
  for (const l of listeners) l()
  window.scrollTo(0, 0)
}

export const href = (path: string) => BASE + path
