// The CloudFormation resource specification, from @aws-cdk/aws-service-spec (the database the AWS
// CDK generates its L1 constructs from, rebuilt from CloudFormation's resource provider schemas
// with every release), converted to the shape of the old CloudFormation specification JSON that
// spec-check.ts reads, with the SAM types (sam-spec.ts) laid over it.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { SAM_SPEC, type PropSpec, type Specification, type TypeSpec } from './sam-spec.js'

interface DbType { type: string; element?: DbType; types?: DbType[]; reference?: { $ref: string } }
interface DbProperty { type: DbType; required?: boolean }
interface DbTypeDefinition { $id: string; name: string; properties: Record<string, DbProperty> }
interface DbResource extends DbTypeDefinition { cloudFormationType: string; attributes: Record<string, unknown> }
interface DbMetric { $id: string; namespace: string; name: string }
interface DbDimensionSet { $id: string; dimensions: Array<{ name: string }> }
interface Db {
  schema: {
    resource: { entities: DbResource[] }
    typeDefinition: { entities: DbTypeDefinition[] }
    metric: { entities: DbMetric[] }
    dimensionSet: { entities: DbDimensionSet[] }
    usesDimensionSet: { forward: Record<string, Array<{ $id: string }>> }
  }
}

let db: Db | undefined

function database (): Db {
  if (db !== undefined) return db
  const require = createRequire(import.meta.url)
  const file = join(dirname(require.resolve('@aws-cdk/aws-service-spec/package.json')), 'db.json.gz')
  db = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as Db
  return db
}

let metrics: Map<string, string[][]> | undefined

/**
 * The CloudWatch metrics AWS services publish, from the same database: "<namespace> <metric>" →
 * the dimension name sets it is published with (each sorted).
 */
export function metricSpecification (): Map<string, string[][]> {
  if (metrics !== undefined) return metrics
  const { metric, dimensionSet, usesDimensionSet } = database().schema
  const sets = new Map(dimensionSet.entities.map((d) => [d.$id, d.dimensions.map((x) => x.name).sort()]))
  metrics = new Map()
  for (const m of metric.entities) {
    const key = `${m.namespace} ${m.name}`
    const own = (usesDimensionSet.forward[m.$id] ?? []).map((r) => sets.get(r.$id) ?? [])
    metrics.set(key, [...(metrics.get(key) ?? []), ...own])
  }
  return metrics
}

const PRIMITIVES: Record<string, string> = { string: 'String', integer: 'Integer', number: 'Double', boolean: 'Boolean', json: 'Json', 'date-time': 'Timestamp' }

/**
 * A property's structured type where its schema widened it to "that or any JSON" (to keep templates
 * valid that the old specification accepted): checking against the structure still finds typos.
 */
function settled (p: DbProperty): DbType {
  if (p.type.type !== 'union') return p.type
  const structured = (p.type.types ?? []).filter((u) => u.type !== 'json')
  return structured.length === 1 && PRIMITIVES[structured[0]!.type] === undefined ? structured[0]! : p.type
}

function itemSpec (t: DbType, name: (ref: string) => string): PropSpec {
  if (PRIMITIVES[t.type] !== undefined) return { PrimitiveItemType: PRIMITIVES[t.type] }
  if (t.type === 'ref') return { ItemType: name(t.reference!.$ref) }
  if (t.type === 'tag') return { ItemType: 'Tag' }
  return { PrimitiveItemType: 'Json' }
}

function propSpec (t: DbType, required: boolean, name: (ref: string) => string): PropSpec {
  const base: PropSpec = required ? { Required: true } : {}
  if (PRIMITIVES[t.type] !== undefined) return { ...base, PrimitiveType: PRIMITIVES[t.type] }
  switch (t.type) {
    case 'ref': return { ...base, Type: name(t.reference!.$ref) }
    case 'tag': return { ...base, Type: 'Tag' }
    case 'array': return { ...base, Type: 'List', ...itemSpec(t.element!, name) }
    case 'map': return { ...base, Type: 'Map', ...itemSpec(t.element!, name) }
    case 'union': {
      const primitives = new Set<string>()
      const types: string[] = []
      for (const u of t.types ?? []) {
        if (PRIMITIVES[u.type] !== undefined) primitives.add(PRIMITIVES[u.type]!)
        else if (u.type === 'ref') types.push(name(u.reference!.$ref))
        else primitives.add('Json')
      }
      return { ...base, PrimitiveTypes: [...primitives], ...(types.length > 0 ? { Types: types } : {}) }
    }
    default: return { ...base, PrimitiveType: 'Json' }
  }
}

let cached: Specification | undefined

/** The CloudFormation specification with the SAM types replaced by SAM_SPEC. */
export function specification (): Specification {
  if (cached !== undefined) return cached
  const db = database()
  // Entities are stored as lists; references name their $id.
  const definitions = new Map(db.schema.typeDefinition.entities.map((d) => [d.$id, d]))
  const resourceTypes: Record<string, TypeSpec> = {}
  const propertyTypes: Specification['PropertyTypes'] = { Tag: { Properties: { Key: { PrimitiveType: 'String', Required: true }, Value: { PrimitiveType: 'String', Required: true } } } }
  for (const r of db.schema.resource.entities) {
    if (r.cloudFormationType in SAM_SPEC.ResourceTypes) continue
    // Property type names as spec-check.ts looks them up: <resource type>.<name>, the prefix its own.
    const name = (ref: string) => definitions.get(ref)?.name ?? ref
    const convert = (props: Record<string, DbProperty>) => Object.fromEntries(Object.entries(props).map(([k, p]) => [k, propSpec(settled(p), p.required === true, name)]))
    resourceTypes[r.cloudFormationType] = { Properties: convert(r.properties), Attributes: r.attributes }
    // The property types this resource reaches, each named <resource type>.<name>.
    const seen = new Set<string>()
    const visit = (t: DbType | undefined) => {
      if (t === undefined) return
      if (t.type === 'ref' && !seen.has(t.reference!.$ref)) {
        seen.add(t.reference!.$ref)
        const def = definitions.get(t.reference!.$ref)
        if (def === undefined) return
        propertyTypes[`${r.cloudFormationType}.${def.name}`] = { Properties: convert(def.properties) }
        for (const p of Object.values(def.properties)) visit(settled(p))
      }
      visit(t.element)
      for (const u of t.types ?? []) visit(u)
    }
    for (const p of Object.values(r.properties)) visit(settled(p))
  }
  cached = {
    ResourceTypes: { ...resourceTypes, ...SAM_SPEC.ResourceTypes },
    PropertyTypes: { ...propertyTypes, ...SAM_SPEC.PropertyTypes }
  }
  return cached
}
