// A readable diff of two JSON documents: one line per changed leaf, by path
// (`rules[0].clauses[1].values`), old value struck through, new value beside it.
const IGNORED = new Set(['updatedAt', 'updatedBy', 'version'])

export interface DiffLine { path: string; kind: 'added' | 'removed' | 'changed'; before?: string; after?: string }

function flatten (value: unknown, path: string, out: Map<string, string>) {
  if (Array.isArray(value)) {
    // Arrays of scalars read best as one value (`["a","b"]`); arrays of objects by index.
    if (value.every((v) => v === null || typeof v !== 'object')) out.set(path, JSON.stringify(value))
    else value.forEach((v, i) => flatten(v, `${path}[${i}]`, out))
    if (value.length === 0) out.set(path, '[]')
  } else if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([k]) => !IGNORED.has(k))
    if (entries.length === 0 && path !== '') out.set(path, '{}')
    for (const [k, v] of entries) flatten(v, path === '' ? k : `${path}.${k}`, out)
  } else if (value !== undefined) {
    out.set(path === '' ? '(value)' : path, JSON.stringify(value))
  }
}

export function diff (before: unknown, after: unknown): DiffLine[] {
  const a = new Map<string, string>()
  const b = new Map<string, string>()
  // null before a creation and after a deletion: every field is added, or removed.
  if (before !== null && before !== undefined) flatten(before, '', a)
  if (after !== null && after !== undefined) flatten(after, '', b)
  const lines: DiffLine[] = []
  for (const [path, v] of a) {
    const w = b.get(path)
    if (w === undefined) lines.push({ path, kind: 'removed', before: v })
    else if (w !== v) lines.push({ path, kind: 'changed', before: v, after: w })
  }
  for (const [path, w] of b) if (!a.has(path)) lines.push({ path, kind: 'added', after: w })
  return lines.sort((x, y) => x.path.localeCompare(y.path))
}

export function DiffView ({ before, after, label }: { before: unknown; after: unknown; label?: string }) {
  const lines = diff(before, after)
  if (lines.length === 0) return <p class='muted'>No visible change.</p>
  return (
    <table class='diff' aria-label={label ?? 'Changes'}>
      <thead><tr><th scope='col'>Field</th><th scope='col'>Before</th><th scope='col'>After</th></tr></thead>
      <tbody>
        {lines.map((l) => (
          <tr key={l.path} class={l.kind}>
            <th scope='row'><code>{l.path}</code></th>
            <td>{l.before !== undefined ? <del>{l.before}</del> : <span class='muted'>—</span>}</td>
            <td>{l.after !== undefined ? <ins>{l.after}</ins> : <span class='muted'>removed</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}
