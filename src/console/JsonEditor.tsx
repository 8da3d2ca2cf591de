// The JSON editor for JSON flag values (a separate chunk, loaded only for JSON flags): edits the
// text, reports the parse error with its line and column, formats on demand, and passes a value
// up only when the text parses.
import { useState } from 'preact/hooks'

function position (text: string, err: unknown): string {
  const m = /position (\d+)/.exec(String(err))
  if (m === null) return String((err as Error).message ?? err)
  const upTo = text.slice(0, Number(m[1]))
  const line = upTo.split('\n').length
  return `line ${line}, column ${upTo.length - upTo.lastIndexOf('\n')}: ${(err as Error).message}`
}

export default function JsonEditor ({ id, describedBy, value, onChange }: { id: string; describedBy?: string; value: unknown; onChange: (v: unknown) => void }) {
  const [text, setText] = useState(() => JSON.stringify(value, null, 2))
  const [problem, setProblem] = useState<string | null>(null)
  function edit (t: string) {
    setText(t)
    try {
      onChange(JSON.parse(t))
      setProblem(null)
    } catch (e) {
      setProblem(position(t, e))
    }
  }
  const lines = text.split('\n').length
  return (
    <div class='json-editor'>
      <textarea id={id} aria-describedby={describedBy} aria-invalid={problem !== null} spellcheck={false} rows={Math.min(16, Math.max(3, lines))} value={text} onInput={(e) => edit(e.currentTarget.value)} />
      <div class='row'>
        <button type='button' disabled={problem !== null} onClick={() => setText(JSON.stringify(JSON.parse(text), null, 2))}>Format</button>
        {problem !== null && <span class='field-error' role='alert'>{`Not JSON (${problem})`}</span>}
      </div>
    </div>
  )
}
