// The OFREP component schemas (test/fixtures/ofrep/) compiled once with Ajv's 2020-12 dialect.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Ajv2020 } from 'ajv/dist/2020.js'

const file = fileURLToPath(new URL('../fixtures/ofrep/ofrep-schemas.json', import.meta.url))
const doc = JSON.parse(readFileSync(file, 'utf8')) as { $id: string; $defs: Record<string, unknown> }
const ajv = new Ajv2020({ strict: false, allErrors: true })
ajv.addSchema(doc)

export type OfrepSchemaName =
  | 'serverEvaluationSuccess' | 'evaluationSuccess' | 'evaluationFailure' | 'flagNotFound'
  | 'bulkEvaluationSuccess' | 'bulkEvaluationFailure' | 'configurationResponse' | 'evaluationRequest'

/** Errors of `body` against the named OFREP schema, as one string; '' when valid. */
export function ofrepErrors (name: OfrepSchemaName, body: unknown): string {
  if (!(name in doc.$defs)) throw new Error(`no OFREP schema ${name}`)
  const validate = ajv.getSchema(`${doc.$id}#/$defs/${name}`)
  if (validate === undefined) throw new Error(`cannot compile ${name}`)
  return validate(body) ? '' : ajv.errorsText(validate.errors)
}
