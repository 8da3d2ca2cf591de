// `npm run dev` / `npm start`: listen, print where things are, shut down cleanly on a signal.
import { startDevServer } from './local/dev.js'

const dev = await startDevServer(process.env)
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
