// What a 412 looks like to the user: who changed the flag, what changed, and a retry that applies
// the user's intent to the new version (never a silent overwrite).
import { DiffView } from '../diff'
import { when } from '../ui'
import type { Feature } from '../model'

export interface Conflict { ours: Feature; theirs: Feature; env: string; enabled: boolean; problem: string }

export function ConflictPanel ({ conflict, onRetry, onDismiss }: { conflict: Conflict; onRetry: () => void; onDismiss: () => void }) {
  const { ours, theirs, env, enabled } = conflict
  return (
    <div class='banner conflict' role='alert' aria-labelledby='conflict-title'>
      <h2 id='conflict-title'>{`${theirs.name} changed since you loaded it`}</h2>
      <p>{`${theirs.updatedBy} changed it at ${when(theirs.updatedAt)} (version ${ours.version} → ${theirs.version}). Nothing was written.`}</p>
      <DiffView before={ours} after={theirs} label='Changes made meanwhile' />
      <div class='actions'>
        <button type='button' class='primary' onClick={onRetry}>{`Turn ${enabled ? 'on' : 'off'} in ${env} on the new version`}</button>
        <button type='button' onClick={onDismiss}>Keep their version</button>
      </div>
    </div>
  )
}
