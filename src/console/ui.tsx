// Small shared pieces. Every value from the API is rendered as a text child (never as HTML).
import type { ComponentChildren } from 'preact'
import { useEffect, useId, useState } from 'preact/hooks'
import { message } from './api/client'

export function Field ({ label, errors, hint, children }: { label: string; errors?: string[]; hint?: string; children: (id: string, describedBy: string | undefined) => ComponentChildren }) {
  const id = useId()
  const errId = `${id}-err`
  const hintId = `${id}-hint`
  const has = errors !== undefined && errors.length > 0
  const describedBy = [has ? errId : '', hint !== undefined ? hintId : ''].filter(Boolean).join(' ') || undefined
  return (
    <div class={has ? 'field invalid' : 'field'}>
      <label for={id}>{label}</label>
      {children(id, describedBy)}
      {hint !== undefined && <small id={hintId} class='hint'>{hint}</small>}
      {has && <p id={errId} class='field-error' role='alert'>{errors.join('; ')}</p>}
    </div>
  )
}

export function ErrorBanner ({ error, title }: { error: unknown; title?: string }) {
  if (error === null || error === undefined) return null
  return <div class='banner error' role='alert'>{title !== undefined && <strong>{title} </strong>}{message(error)}</div>
}

export function Notice ({ children }: { children: ComponentChildren }) {
  return <div class='banner info' role='status'>{children}</div>
}

export function Loading ({ what }: { what: string }) {
  return <p class='muted' role='status' aria-live='polite'>Loading {what}…</p>
}

/** An on/off switch (a button with role=switch) that says what it controls. */
export function Toggle ({ checked, label, onChange, disabled }: { checked: boolean; label: string; onChange?: (v: boolean) => void; disabled?: boolean }) {
  return (
    <button
      type='button' role='switch' aria-checked={checked} aria-label={label} class='switch' disabled={disabled}
      onClick={() => onChange?.(!checked)}
    >
      <span class='knob' aria-hidden='true' />
    </button>
  )
}

export function useAsync<T> (load: () => Promise<T>, deps: unknown[]): { data: T | undefined; error: unknown; reload: () => void; setData: (d: T) => void } {
  const [data, setData] = useState<T | undefined>(undefined)
  const [error, setError] = useState<unknown>(null)
  const [n, setN] = useState(0)
  useEffect(() => {
    let live = true
    setError(null)
    load().then((d) => { if (live) setData(d) }, (e) => { if (live) setError(e) })
    return () => { live = false }
  }, [...deps, n])
  return { data, error, reload: () => setN((x) => x + 1), setData }
}

export function when (iso: string | undefined): string {
  if (iso === undefined) return ''
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' })
}

export function Tags ({ tags }: { tags: string[] }) {
  return <>{tags.map((t) => <span class='tag' key={t}>{t}</span>)}</>
}

export function PageTitle ({ children, actions }: { children: ComponentChildren; actions?: ComponentChildren }) {
  return <div class='page-title'><h1 tabIndex={-1}>{children}</h1>{actions !== undefined && <div class='actions'>{actions}</div>}</div>
}
