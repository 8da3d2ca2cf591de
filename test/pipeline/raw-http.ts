// A raw HTTP/1.1 client over one TCP connection, for the tests that need to control what is sent
// when (half-sent requests, pipelining, a connection kept open across a shutdown) and to see
// exactly what the server does with the connection (Connection: close, the socket's end).
import { connect, type Socket } from 'node:net'

export interface RawResponse { status: number; headers: Record<string, string>; body: string }

export interface RawConnection {
  socket: Socket
  /** Responses parsed so far, in order. */
  responses: RawResponse[]
  /** Resolves when the server ends or resets the connection (or it could not be made). */
  closed: Promise<{ error?: string }>
  isClosed(): boolean
  write(text: string): void
}

export async function rawConnection (url: string): Promise<RawConnection> {
  const { hostname, port } = new URL(url)
  const socket = connect({ host: hostname, port: Number(port) })
  const responses: RawResponse[] = []
  let buffer = ''
  let closedFlag = false
  const closed = new Promise<{ error?: string }>((resolve) => {
    let error: string | undefined
    socket.on('error', (err: NodeJS.ErrnoException) => { error = err.code ?? err.message })
    socket.on('close', () => { closedFlag = true; resolve({ error }) })
  })
  socket.setEncoding('latin1')
  socket.on('data', (chunk: string) => {
    buffer += chunk
    for (;;) {
      const end = buffer.indexOf('\r\n\r\n')
      if (end < 0) return
      const [statusLine, ...lines] = buffer.slice(0, end).split('\r\n')
      const headers: Record<string, string> = {}
      for (const l of lines) {
        const i = l.indexOf(':')
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim()
      }
      const length = Number(headers['content-length'] ?? 0)
      if (buffer.length < end + 4 + length) return
      responses.push({ status: Number(statusLine.split(' ')[1]), headers, body: buffer.slice(end + 4, end + 4 + length) })
      buffer = buffer.slice(end + 4 + length)
    }
  })
  await new Promise<void>((resolve) => {
    socket.once('connect', () => resolve())
    void closed.then(() => resolve())
  })
  return { socket, responses, closed, isClosed: () => closedFlag, write: (text) => { if (!socket.destroyed) socket.write(text) } }
}

/** An HTTP/1.1 request as text (keep-alive by default, as HTTP/1.1 is). */
export function httpRequest (method: string, path: string, opts: { body?: string; headers?: Record<string, string> } = {}): string {
  const headers: Record<string, string> = { host: 'localhost', ...opts.headers }
  if (opts.body !== undefined) {
    headers['content-type'] ??= 'application/json'
    headers['content-length'] = String(Buffer.byteLength(opts.body))
  }
  return `${method} ${path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${opts.body ?? ''}`
}
