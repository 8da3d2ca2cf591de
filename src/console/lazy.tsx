// Code-split components: the chunk loads the first time the component renders.
import type { ComponentType } from 'preact'
import { useEffect, useState } from 'preact/hooks'

export function lazy<P extends object> (load: () => Promise<ComponentType<P>>): ComponentType<P> {
  let loaded: ComponentType<P> | undefined
  return function Lazy (props: P) {
    const [C, setC] = useState<ComponentType<P> | undefined>(() => loaded)
    useEffect(() => {
      if (C === undefined) void load().then((c) => { loaded = c; setC(() => c) })
    }, [])
    return C === undefined ? <span class='muted' role='status'>Loading editor…</span> : <C {...props} />
  }
}
