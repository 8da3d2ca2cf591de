/**
 * Scheduled changes (DESIGN.md §5 step 2): which entries are due at an instant and the definition
 * with them applied. Pure functions of `now`, shared by the engine and the maintenance worker.
 */
import type { FlagDefinition, ScheduledChange } from './model.js'
import { parseIsoDateTime } from './values.js'

/** The instant of an entry, epoch ms; NaN when `at` does not parse (never due). */
export function scheduleInstant (s: ScheduledChange): number {
  return typeof s.at === 'string' ? parseIsoDateTime(s.at) : NaN
}

/** Scheduled changes due at `now` (at ≤ now), in `at` order (ties keep their declared order). */
export function dueScheduledChanges (flag: Pick<FlagDefinition, 'schedule'>, now: number): ScheduledChange[] {
  const due: Array<{ s: ScheduledChange; at: number }> = []
  for (const s of flag.schedule ?? []) {
    const at = scheduleInstant(s)
    if (at <= now) due.push({ s, at })
  }
  return due.sort((a, b) => a.at - b.at).map((d) => d.s)
}

/** `flag` with `changes` applied in the given order and removed from `schedule`. */
export function applyChanges<T extends FlagDefinition> (flag: T, changes: readonly ScheduledChange[]): T {
  if (changes.length === 0) return flag
  const next = { ...flag, schedule: flag.schedule.filter((s) => !changes.includes(s)) }
  for (const { change } of changes) {
    if (change.enabled !== undefined) next.enabled = change.enabled
    if (change.defaultServe !== undefined) next.defaultServe = change.defaultServe
    if (change.rules !== undefined) next.rules = change.rules
  }
  return next
}

/**
 * The definition with every scheduled change due at `now` applied in `at` order and removed from
 * `schedule` — what the maintenance worker persists. Returns `flag` itself when nothing is due.
 * Entries with an unparsable `at` are never due (write validation rejects them).
 */
export function applySchedule<T extends FlagDefinition> (flag: T, now: number): T {
  return applyChanges(flag, dueScheduledChanges(flag, now))
}
