// Alarms watch metrics that exist: every AWS/* namespace, metric name and set of dimension names an
// alarm names (alone or inside a metric-math alarm) must be one the service publishes, per the
// metric database of @aws-cdk/aws-service-spec. A misspelled metric or a dimension the service does
// not publish it with would leave an alarm that never fires. Custom namespaces (the app's own
// metrics, e.g. Switchyard/OutboxBacklog) are the code's business and are checked elsewhere.
import { metricSpecification } from './cfn-spec.js'
import { isObject, propsOf, resourcesOf, type Json } from './json.js'

export function checkAlarmMetrics (template: Json): string[] {
  const problems: string[] = []
  const known = metricSpecification()
  for (const [name, r] of Object.entries(resourcesOf(template)).filter(([, x]) => x.Type === 'AWS::CloudWatch::Alarm')) {
    const p = propsOf(r)
    const watched: Array<{ path: string; metric: Json }> = []
    if (p.MetricName !== undefined) watched.push({ path: `Resources.${name}.Properties`, metric: p })
    ;((p.Metrics ?? []) as Json[]).forEach((m, i) => {
      const metric = (m.MetricStat as Json | undefined)?.Metric
      if (isObject(metric)) watched.push({ path: `Resources.${name}.Properties.Metrics[${i}].MetricStat.Metric`, metric })
    })
    for (const { path, metric } of watched) {
      const namespace = String(metric.Namespace)
      if (!namespace.startsWith('AWS/')) continue
      const sets = known.get(`${namespace} ${String(metric.MetricName)}`)
      if (sets === undefined) {
        problems.push(`${path}: ${namespace} publishes no metric ${String(metric.MetricName)}`)
        continue
      }
      const dims = ((metric.Dimensions ?? []) as Json[]).map((d) => String(d.Name)).sort()
      if (sets.length > 0 && !sets.some((s) => s.join('+') === dims.join('+'))) {
        problems.push(`${path}: ${namespace} ${String(metric.MetricName)} is not published with dimensions [${dims.join(', ')}] (it is with: ${sets.map((s) => `[${s.join(', ')}]`).join(', ')})`)
      }
    }
  }
  return problems
}
