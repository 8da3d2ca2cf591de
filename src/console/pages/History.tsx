// A flag's audit log, newest first: who, when, what, which request (the X-Request-Id the change
// was answered with, and the caller's correlation id) and before/after as a readable diff.
import { useState } from 'preact/hooks'
import { api, ok } from '../api/client'
import { DiffView } from '../diff'
import { ErrorBanner, Loading, useAsync, when } from '../ui'

export function HistoryPage ({ name }: { name: string }) {
  const [cursor, setCursor] = useState<string | undefined>(undefined)
  const { data, error, reload } = useAsync(async () => ok(await api.GET('/features/{flag}/audit', { params: { path: { flag: name }, query: { order: 'desc', limit: 20, cursor } } })), [name, cursor])
  if (error !== null) return <ErrorBanner error={error} />
  if (data === undefined) return <Loading what='history' />
  return (
    <div class='history'>
      <div class='actions'><button type='button' onClick={reload}>Refresh</button><span class='muted small'>The audit log is written within a second of each change.</span></div>
      {data.items.length === 0 && <p class='muted'>No recorded change yet.</p>}
      <ol class='events'>
        {data.items.map((ev) => (
          <li key={ev.eventId} class='card'>
            <h3>{ev.action}{ev.environment !== undefined && <span class='badge'>{ev.environment}</span>}</h3>
            <p class='muted'>{`${ev.actor} · ${when(ev.timestamp)}`}</p>
            <Origin requestId={ev.requestId} correlationId={ev.correlationId} />
            <DiffView before={ev.before} after={ev.after} label={`${ev.action} changes`} />
          </li>
        ))}
      </ol>
      <nav class='pager' aria-label='History pages'>
        {cursor !== undefined && <button type='button' onClick={() => setCursor(undefined)}>Newest</button>}
        {data.nextCursor !== null && <button type='button' onClick={() => setCursor(data.nextCursor ?? undefined)}>Older</button>}
      </nav>
    </div>
  )
}

/** Which request made the change, so it can be found in logs; workers' changes have none. */
function Origin ({ requestId, correlationId }: { requestId?: string; correlationId?: string }) {
  if (requestId === undefined && correlationId === undefined) return null
  return (
    <p class='muted small'>
      {requestId !== undefined && <>Request <code>{requestId}</code></>}
      {requestId !== undefined && correlationId !== undefined && ' · '}
      {correlationId !== undefined && <>Correlation <code>{correlationId}</code></>}
    </p>
  )
}
