// One flag: its settings, its targeting per environment, "Why this value?" and its history.
// CLIENT users get the same information as text, without any control that would change it.
import { isAdmin } from '../session'
import { href } from '../router'
import { ErrorBanner, Loading, PageTitle, Tags, useAsync, when } from '../ui'
import { envConfig, getFeature, type EnvConfig, type Environment, type Feature } from '../model'
import { EnvEditor } from './EnvEditor'
import { FlagSettings } from './FlagSettings'
import { describeServe } from './ServeEditor'
import { WhyPage } from './Why'
import { HistoryPage } from './History'

export function FlagPage ({ name, tab, environments }: { name: string; tab: string; environments: Environment[] }) {
  const { data: feature, error, setData } = useAsync(() => getFeature(name), [name])
  const admin = isAdmin()
  const env = new URLSearchParams(location.search).get('env') ?? environments.find((e) => e.name === 'prod')?.name ?? environments[0]?.name ?? 'dev'
  const tabs: Array<[string, string]> = [['', 'Targeting'], ['settings', 'Settings'], ...(admin ? [['why', 'Why this value?'], ['history', 'History']] as Array<[string, string]> : [])]
  if (error !== null) return <ErrorBanner error={error} />
  if (feature === undefined) return <Loading what={name} />
  const base = `/flags/${encodeURIComponent(name)}`
  return (
    <section>
      <PageTitle>{feature.name}</PageTitle>
      <p class='meta'><span class='badge'>{feature.type}</span> <Tags tags={feature.tags} /> <span class='muted'>{`version ${feature.version} · updated ${when(feature.updatedAt)} by ${feature.updatedBy}`}</span></p>
      {feature.description !== '' && <p>{feature.description}</p>}
      <nav class='tabs' aria-label='Flag sections'>
        {tabs.map(([t, label]) => <a key={t} href={href(t === '' ? base : `${base}/${t}`)} aria-current={tab === t ? 'page' : undefined}>{label}</a>)}
      </nav>
      {tab === '' && (
        <>
          <nav class='tabs envs' aria-label='Environments'>
            {environments.map((e) => {
              const c = envConfig(feature, e.name)
              return <a key={e.name} href={href(`${base}?env=${encodeURIComponent(e.name)}`)} aria-current={e.name === env ? 'page' : undefined}>{e.name} <span class={c?.enabled === true ? 'dot on' : 'dot'} aria-hidden='true' /><span class='sr-only'>{c === undefined ? ' (not set)' : c.enabled ? ' (on)' : ' (off)'}</span></a>
            })}
          </nav>
          {admin
            ? <EnvEditor key={env} feature={feature} env={env} onSaved={setData} />
            : <ReadOnlyTargeting config={envConfig(feature, env)} env={env} />}
        </>
      )}
      {tab === 'settings' && <FlagSettings feature={feature} onSaved={setData} />}
      {tab === 'why' && admin && <WhyPage feature={feature} environments={environments} env={env} />}
      {tab === 'history' && admin && <HistoryPage name={feature.name} />}
    </section>
  )
}

function ReadOnlyTargeting ({ config, env }: { config: EnvConfig | undefined; env: string }) {
  if (config === undefined) return <p class='muted'>{`Not configured in ${env}.`}</p>
  return (
    <dl class='readonly'>
      <dt>State</dt><dd>{config.enabled ? `On in ${env}` : `Off in ${env}`}</dd>
      <dt>Off variant</dt><dd>{config.offVariant}</dd>
      <dt>Individual targets</dt>
      <dd>{config.targets.length === 0 ? 'none' : config.targets.map((t) => <div key={t.variant}>{`${t.variant}: ${t.values.join(', ')}`}</div>)}</dd>
      <dt>Rules</dt>
      <dd>{config.rules.length === 0 ? 'none' : <ol>{config.rules.map((r) => <li key={r.id}>{`${r.id}: if ${r.clauses.map((c) => `${c.negate === true ? 'not ' : ''}${c.attribute} ${c.operator} ${JSON.stringify(c.values)}`).join(' and ') || 'always'} → ${describeServe(r.serve)}`}</li>)}</ol>}</dd>
      <dt>Default</dt><dd>{describeServe(config.defaultServe)}</dd>
      <dt>Prerequisites</dt><dd>{config.prerequisites.length === 0 ? 'none' : config.prerequisites.map((p) => `${p.flag} = ${p.variant}`).join(', ')}</dd>
      <dt>Schedule</dt><dd>{config.schedule.length === 0 ? 'none' : config.schedule.map((s) => <div key={s.id}>{`${s.at}: ${JSON.stringify(s.change)}`}</div>)}</dd>
    </dl>
  )
}

export type { Feature }
