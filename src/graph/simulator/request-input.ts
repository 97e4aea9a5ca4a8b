// Reading path ids and JSON bodies the way Graph validates them: unknown properties and
// wrong types are refused, so a typo in a caller's request fails here as it would in Graph.
import { graphErrors } from './graph-error-bodies.js'
import { isGuid } from './odata-query.js'

/** A directory object id from the path: a GUID, compared in lower case. */
export function objectId(value: string): string {
  if (!isGuid(value)) throw graphErrors.invalidObjectId(value)
  return value.toLowerCase()
}

export type BodyPropertyType = 'Edm.String' | 'Edm.Boolean' | 'Edm.Guid' | 'object' | 'array'

export type GraphBody = Record<string, unknown>

const isPlainObject = (value: unknown): value is GraphBody => typeof value === 'object' && value !== null && !Array.isArray(value)

function hasType(value: unknown, type: BodyPropertyType): boolean {
  switch (type) {
    case 'Edm.String': return typeof value === 'string'
    case 'Edm.Boolean': return typeof value === 'boolean'
    case 'Edm.Guid': return typeof value === 'string' && isGuid(value)
    case 'object': return isPlainObject(value)
    case 'array': return Array.isArray(value)
  }
}

/** Checks a JSON object against the properties `typeName` declares (null is always allowed; @odata.* annotations pass). */
export function readBody(body: unknown, typeName: string, properties: Record<string, BodyPropertyType>): GraphBody {
  if (!isPlainObject(body)) throw graphErrors.unreadableJson()
  for (const [name, value] of Object.entries(body)) {
    if (name.startsWith('@odata.')) continue
    const type = properties[name]
    if (type === undefined) throw graphErrors.unknownBodyProperty(name, typeName)
    if (value !== null && !hasType(value, type)) throw graphErrors.wrongBodyType(name, type)
  }
  return body
}

export function requiredString(body: GraphBody, name: string, typeName: string): string {
  const value = body[name]
  if (typeof value !== 'string' || value === '') throw graphErrors.missingBodyProperty(name, typeName)
  return value
}

export function optionalString(body: GraphBody, name: string): string | undefined {
  const value = body[name]
  return typeof value === 'string' ? value : undefined
}

export function optionalBoolean(body: GraphBody, name: string): boolean | undefined {
  const value = body[name]
  return typeof value === 'boolean' ? value : undefined
}

/**
 * The object id in a reference body {"@odata.id": "https://graph.microsoft.com/v1.0/{set}/{id}"}
 * (any host), where {set} is one of `entitySets`.
 */
export function referencedObjectId(body: unknown, entitySets: readonly string[]): string {
  const reference = readBody(body, 'microsoft.graph.directoryObject', {})['@odata.id']
  if (typeof reference !== 'string') throw graphErrors.invalidReference(String(reference))
  const match = /^https?:\/\/[^/]+\/v1\.0\/([^/?#]+)\/([^/?#]+)$/i.exec(reference)
  const [, set, id] = match ?? []
  if (set === undefined || id === undefined || !entitySets.some((name) => name.toLowerCase() === set.toLowerCase())) throw graphErrors.invalidReference(reference)
  let decoded: string
  try {
    decoded = decodeURIComponent(id)
  } catch {
    throw graphErrors.invalidReference(reference)
  }
  return objectId(decoded)
}
