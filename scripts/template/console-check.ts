// The admin console on AWS (docs/CONSOLE.md, scripts/console-layer.ts): one layer whose ContentUri
// is the directory `npm run build` writes, attached to the function that serves /console (the
// api surface) and to no other, and CONSOLE_DIR on that function naming where Lambda extracts it.
import { CONSOLE_LAYER_CONTENT_URI, CONSOLE_LAYER_MOUNT } from '../console-layer.js'
import { isObject, propsOf, resourcesOf, type Json } from './json.js'

const API_ENTRY = 'src/lambda/api.ts'

function entryOf (fn: Json): string | undefined {
  const entries = ((fn.Metadata as Json | undefined)?.BuildProperties as Json | undefined)?.EntryPoints
  return Array.isArray(entries) ? String(entries[0]).replace(/^\.\//, '') : undefined
}

function layerIds (fn: Json): string[] {
  const layers = (propsOf(fn).Layers ?? []) as unknown[]
  return layers.flatMap((l) => isObject(l) && typeof l.Ref === 'string' ? [l.Ref] : [])
}

export function checkConsole (template: Json): string[] {
  const problems: string[] = []
  const resources = resourcesOf(template)
  const layers = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Serverless::LayerVersion' &&
    String(propsOf(r).ContentUri ?? '').replace(/\/$/, '') === CONSOLE_LAYER_CONTENT_URI)
  if (layers.length !== 1) {
    problems.push(`console: expected one AWS::Serverless::LayerVersion with ContentUri ${CONSOLE_LAYER_CONTENT_URI} (what \`npm run build\` writes), found ${layers.length}`)
    return problems
  }
  const [layerId, layer] = layers[0]!
  if ((layer.Metadata as Json | undefined)?.BuildMethod !== undefined) problems.push(`${layerId}: has a BuildMethod; the console layer is static files SAM must zip as they are`)
  const functions = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Serverless::Function')
  for (const [name, fn] of functions) {
    const serves = entryOf(fn) === API_ENTRY
    const carries = layerIds(fn).includes(layerId)
    const dir = ((propsOf(fn).Environment as Json | undefined)?.Variables as Json | undefined)?.CONSOLE_DIR
    if (serves && !carries) problems.push(`${name}: serves /console but does not carry ${layerId} (a deployed console would answer 503)`)
    if (serves && dir !== CONSOLE_LAYER_MOUNT) problems.push(`${name}: CONSOLE_DIR is ${JSON.stringify(dir)}, expected ${CONSOLE_LAYER_MOUNT} (where Lambda extracts ${layerId}'s console/)`)
    if (!serves && carries) problems.push(`${name}: carries ${layerId}, but only the ${API_ENTRY} function serves /console`)
  }
  return problems
}
