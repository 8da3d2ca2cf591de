// Lookups over the template for the operations check (operations.ts): functions, queues and who
// consumes them, dead-letter pairs, and alarms by the metric they watch.
import { isObject, propsOf, resourcesOf, type Json } from './json.js'

/** The logical id a !Ref or !GetAtt points at, else undefined. */
export function refTo (v: unknown): string | undefined {
  if (!isObject(v)) return undefined
  if (typeof v.Ref === 'string') return v.Ref
  const att = v['Fn::GetAtt']
  if (Array.isArray(att)) return String(att[0])
  if (typeof att === 'string') return att.split('.')[0]
  return undefined
}

export function functionsOf (template: Json): Array<[string, Json]> {
  return Object.entries(resourcesOf(template)).filter(([, r]) => r.Type === 'AWS::Serverless::Function')
}

export function alarmsOf (template: Json): Array<[string, Json]> {
  return Object.entries(resourcesOf(template)).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm').map(([n, r]) => [n, propsOf(r)])
}

/** Queue logical id → the functions whose SQS event sources read it. */
export function queueConsumers (template: Json): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const [fn, r] of functionsOf(template)) {
    for (const e of Object.values((propsOf(r).Events ?? {}) as Record<string, Json>)) {
      if (e.Type !== 'SQS') continue
      const q = refTo(propsOf(e).Queue)
      if (q !== undefined) out.set(q, [...(out.get(q) ?? []), fn])
    }
  }
  return out
}

/** Each queue with a RedrivePolicy and the dead-letter queue it names. */
export function deadLetterPairs (template: Json): Array<{ source: string; dlq: string }> {
  const out: Array<{ source: string; dlq: string }> = []
  for (const [name, r] of Object.entries(resourcesOf(template)).filter(([, x]) => x.Type === 'AWS::SQS::Queue')) {
    const dlq = refTo((propsOf(r).RedrivePolicy as Json | undefined)?.deadLetterTargetArn)
    if (dlq !== undefined) out.push({ source: name, dlq })
  }
  return out
}

/** The fixed part of a queue's name, when it has one (the text a Sub'd ARN of it must contain). */
export function queueNameOf (props: Json): string | undefined {
  const name = props.QueueName
  if (typeof name === 'string') return name
  const sub = isObject(name) ? name['Fn::Sub'] : undefined
  const text = Array.isArray(sub) ? String(sub[0]) : typeof sub === 'string' ? sub : undefined
  return text?.replace(/\$\{[^}]*\}$/, '')
}

export interface Alarm { name: string; props: Json }

function dimensionsMatch (dimensions: unknown, want: Record<string, string>): boolean {
  const list = (Array.isArray(dimensions) ? dimensions : []) as Json[]
  if (list.length !== Object.keys(want).length) return false
  return list.every((d) => {
    const expected = want[String(d.Name)]
    return expected !== undefined && (d.Value === expected || refTo(d.Value) === expected)
  })
}

/**
 * An alarm watching `namespace` `metric` with exactly these dimensions (values: the logical id a
 * Ref/GetAtt points at, or a literal), alone or as one of the metrics of a metric-math alarm.
 */
export function findAlarm (template: Json, namespace: string, metric: string, dimensions: Record<string, string>): Alarm | undefined {
  for (const [name, props] of alarmsOf(template)) {
    if (props.Namespace === namespace && props.MetricName === metric && dimensionsMatch(props.Dimensions, dimensions)) return { name, props }
    for (const m of (props.Metrics ?? []) as Json[]) {
      const stat = (m.MetricStat as Json | undefined)?.Metric as Json | undefined
      if (stat?.Namespace === namespace && stat.MetricName === metric && dimensionsMatch(stat.Dimensions, dimensions)) return { name, props }
    }
  }
  return undefined
}
