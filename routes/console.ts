// The admin console (docs/CONSOLE.md): the static files Vite builds from src/console/ into
// dist/console/, served under /console by the same app on the long-running server and on Lambda
// (ApiFunction). The console is a client of the public API; this file serves files, nothing else.
//
// Where the files are: the `dir` option (tests), else CONSOLE_DIR (on AWS the template sets
// /opt/console, where ConsoleLayer puts the build), else dist/console found from this file.
//
// Caching: files under /console/assets/ carry a content hash in their name, so they are cached
// for a year as immutable; every other path under /console answers index.html (client-side
// routes), never cached, so a new build is picked up on the next load.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, extname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AppError, notFound } from '../src/domain/errors.js'

/**
 * Strict policy for the console's pages: scripts and styles only from files of this origin (no
 * inline script, no eval), API calls to this origin only, no framing.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join('; ')

const IMMUTABLE = 'public, max-age=31536000, immutable'
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/
const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8'
}

export interface ConsoleRoutesOptions {
  /** The built console (index.html + assets/); default: CONSOLE_DIR, else the first of consoleDirCandidates() that exists. */
  dir?: string
}

/**
 * Where a local build may be when CONSOLE_DIR is unset: dist/console seen from the sources (tsx)
 * and from the compiled routes (dist/routes → dist/console).
 */
export function consoleDirCandidates (): string[] {
  const here = dirname(fileURLToPath(import.meta.url))
  return [resolve(here, '../dist/console'), resolve(here, '../console')]
}

export default async function consoleRoutes (fastify: FastifyInstance, opts: ConsoleRoutesOptions) {
  const configured = opts.dir ?? fastify.config.CONSOLE_DIR
  const dir = configured ?? consoleDirCandidates().find((d) => existsSync(join(d, 'index.html')))
  // A directory named explicitly but empty is a deployment mistake (on AWS: ApiFunction without
  // ConsoleLayer): say so at start, and in the 503, rather than suggest a local build.
  const notBuilt = () => new AppError(503, 'Service Unavailable', opts.dir === undefined && configured !== undefined
    ? 'The console is not deployed: CONSOLE_DIR has no index.html (on AWS, ApiFunction needs ConsoleLayer: docs/DEPLOY.md)'
    : 'The console is not built: run `npm run build` (`npm run dev` builds it when missing)')
  if (opts.dir === undefined && configured !== undefined && !existsSync(join(configured, 'index.html'))) {
    fastify.log.warn({ CONSOLE_DIR: configured }, 'CONSOLE_DIR has no index.html: /console answers 503')
  }
  // Hashed assets never change under one name: read each once.
  const assets = new Map<string, Buffer>()

  function consoleHeaders (reply: FastifyReply) {
    reply.header('content-security-policy', CONSOLE_CSP).header('x-frame-options', 'DENY')
  }

  async function sendIndex (_request: FastifyRequest, reply: FastifyReply) {
    if (dir === undefined) throw notBuilt()
    // Read per request: small, and a rebuild under a running dev server is served at once.
    const html = await readFile(join(dir, 'index.html')).catch(() => { throw notBuilt() })
    consoleHeaders(reply)
    return reply.header('cache-control', 'no-store').type('text/html; charset=utf-8').send(html)
  }

  async function sendAsset (request: FastifyRequest<{ Params: { name: string } }>, reply: FastifyReply) {
    const name = request.params.name
    const type = TYPES[extname(name)]
    if (dir === undefined) throw notBuilt()
    if (!ASSET_NAME.test(name) || type === undefined) throw notFound(`No console asset '${name}'`)
    let body = assets.get(name)
    if (body === undefined) {
      body = await readFile(join(dir, 'assets', name)).catch(() => { throw notFound(`No console asset '${name}'`) })
      assets.set(name, body)
    }
    consoleHeaders(reply)
    return reply.header('cache-control', IMMUTABLE).type(type).send(body)
  }

  const hidden = { schema: { hide: true } }
  fastify.get('/', hidden, sendIndex)
  fastify.get('/assets/:name', hidden, sendAsset)
  fastify.get('/*', hidden, sendIndex)
}
