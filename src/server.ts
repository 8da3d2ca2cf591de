// `npm run dev` / `npm start`: listen, print where things are, shut down cleanly on a signal.
import './lib/tick-maps.js' // first: see there
import { startDevServer, type DevServer } from './local/dev.js'
import { describeStartupError } from './local/startup-errors.js'

/** A foreseen failure is one line and exit 1; anything else keeps its stack (it is a bug). */
function failToStart (err: unknown): never {
  const line = describeStartupError(err, process.env)
  process.stderr.write(line !== undefined ? `switchyard: ${line}\n` : `switchyard: could not start\n${(err as Error)?.stack ?? String(err)}\n`)
  process.exit(1)
}
// dynalite reports a locked LevelDB by throwing from a callback, outside any promise.
process.on('uncaughtException', failToStart)
let dev: DevServer
try {
  dev = await startDevServer(process.env)
} catch (err) {
  failToStart(err)
}
process.off('uncaughtException', failToStart)
const admin = process.env.ADMIN_EMAIL !== undefined
  ? `admin account: ${process.env.ADMIN_EMAIL} (from ADMIN_EMAIL)`
  : 'no admin yet: restart with ADMIN_EMAIL=you@example.com ADMIN_PASSWORD=\'a long passphrase\' npm run dev, or run npm run create-admin -- --email … --password …'
process.stdout.write([
  '',
  `Switchyard is listening on ${dev.url}`,
  `  API docs:   ${dev.url}/docs   (OpenAPI: ${dev.url}/openapi.json)`,
  `  console:    ${dev.url}/console`,
  `  ${admin}`,
  `  data:       ${dev.app.config.DATA_DIR}`,
  // Node 20 runs (the tests run on it) but is past end of life; the AWS SDK says so too.
  ...(Number(process.versions.node.split('.')[0]) < 22 ? [`  node:       ${process.version} is not supported: use Node 22 or 24`] : []),
  ''
].join('\n') + '\n')

let closing = false
async function shutdown (signal: string) {
  if (closing) {
    process.stderr.write(`second ${signal}: exiting now\n`)
    process.exit(1)
  }
  closing = true
  dev.app.log.info({ signal }, 'shutting down: finishing in-flight requests')
  await dev.close()
  process.exit(0)
}
process.on('SIGINT', () => { void shutdown('SIGINT') })
process.on('SIGTERM', () => { void shutdown('SIGTERM') })
