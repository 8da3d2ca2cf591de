// Template values as parsed from YAML/JSON, and the intrinsic functions whose value is only known
// at deploy time.
export type Json = Record<string, unknown>

export const INTRINSICS = ['Ref', 'Condition', 'Fn::Base64', 'Fn::Cidr', 'Fn::FindInMap', 'Fn::GetAtt', 'Fn::GetAZs', 'Fn::ImportValue', 'Fn::Join', 'Fn::Length', 'Fn::Select', 'Fn::Split', 'Fn::Sub', 'Fn::ToJsonString', 'Fn::If', 'Fn::Transform', 'Fn::And', 'Fn::Equals', 'Fn::Not', 'Fn::Or']

export function isObject (v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** An intrinsic function or condition call: its value is only known at deploy time. */
export function isIntrinsic (v: unknown): boolean {
  if (!isObject(v)) return false
  const keys = Object.keys(v)
  return keys.length === 1 && INTRINSICS.includes(keys[0]!)
}

/** A resource's Properties (an empty object when absent). */
export function propsOf (r: Json | undefined): Json {
  return ((r?.Properties ?? {}) as Json)
}

/** The template's resources by logical id. */
export function resourcesOf (template: Json): Record<string, Json> {
  return (template.Resources ?? {}) as Record<string, Json>
}
