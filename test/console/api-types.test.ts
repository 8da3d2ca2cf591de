// The console's API types are generated from the app's own OpenAPI document; this fails while the
// checked-in src/console/api/schema.d.ts differs from what the routes describe now, so a route
// change reaches the console's typecheck (npm run typecheck) instead of its users.
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { API_TYPES_FILE, generateApiTypes } from '../../scripts/console-api-types.js'

t.test('src/console/api/schema.d.ts matches the API', async (t) => {
  const checkedIn = await readFile(API_TYPES_FILE, 'utf8')
  const generated = await generateApiTypes()
  t.ok(checkedIn === generated, 'the console\'s API types are stale: run `npm run console:types`, then `npm run typecheck`')
})
