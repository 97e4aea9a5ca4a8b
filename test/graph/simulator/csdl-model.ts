// A small reader for the Graph v1.0 CSDL slice (EntityType, ComplexType, EnumType with their
// Property and NavigationProperty elements, BaseType inheritance), and a checker that says
// where a JSON body uses a property or a JSON type that the slice does not define.
import { readFileSync } from 'node:fs'

export interface CsdlProperty {
  name: string
  /** Element type without the Collection(...) wrapper: Edm.String, or a type name like user. */
  type: string
  collection: boolean
  nullable: boolean
  navigation: boolean
}

interface CsdlStructuredType {
  name: string
  baseType?: string
  properties: Map<string, CsdlProperty>
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const DATE_TIME_OFFSET = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/

/** graph.user and microsoft.graph.user are both "user"; Edm types keep their prefix. */
const localName = (type: string): string => type.replace(/^(microsoft\.graph|graph)\./, '')

function attributes(tag: string): Record<string, string> {
  return Object.fromEntries([...tag.matchAll(/([\w:]+)="([^"]*)"/g)].map(([, name = '', value = '']) => [name, value]))
}

export class CsdlModel {
  private constructor(
    private readonly types: Map<string, CsdlStructuredType>,
    private readonly enums: Map<string, Set<string>>,
  ) {}

  static read(path: string): CsdlModel {
    return CsdlModel.parse(readFileSync(path, 'utf8'))
  }

  static parse(xml: string): CsdlModel {
    const source = xml.replace(/<!--[\s\S]*?-->/g, '')
    const types = new Map<string, CsdlStructuredType>()
    for (const [, element, tag = '', body = ''] of source.matchAll(/<(EntityType|ComplexType)\s([^>]*?)(?:\/>|>([\s\S]*?)<\/\1>)/g)) {
      const { Name: name, BaseType: baseType } = attributes(tag)
      if (!name) throw new Error(`${element} without Name`)
      const properties = new Map<string, CsdlProperty>()
      // "<Property " (with the space) skips PropertyRef and PropertyValue.
      for (const [, kind, propertyTag = ''] of body.matchAll(/<(Property|NavigationProperty)\s([^>]*?)\/?>/g)) {
        const { Name: propertyName, Type: rawType, Nullable: nullable } = attributes(propertyTag)
        if (!propertyName || !rawType) throw new Error(`${name}: property without Name or Type`)
        const collection = /^Collection\((.+)\)$/.exec(rawType)
        properties.set(propertyName, {
          name: propertyName,
          type: localName(collection?.[1] ?? rawType),
          collection: collection !== null,
          nullable: nullable !== 'false',
          navigation: kind === 'NavigationProperty',
        })
      }
      types.set(name, { name, ...(baseType ? { baseType: localName(baseType) } : {}), properties })
    }
    const enums = new Map<string, Set<string>>()
    for (const [, tag = '', body = ''] of source.matchAll(/<EnumType\s([^>]*?)>([\s\S]*?)<\/EnumType>/g)) {
      const members = [...body.matchAll(/<Member\s([^>]*?)\/?>/g)].map(([, memberTag = '']) => attributes(memberTag).Name ?? '')
      enums.set(attributes(tag).Name ?? '', new Set(members))
    }
    return new CsdlModel(types, enums)
  }

  hasType(name: string): boolean {
    return this.types.has(name)
  }

  /** The property as declared on the type or one of its base types. */
  property(typeName: string, propertyName: string): CsdlProperty | undefined {
    for (let type = this.types.get(typeName); type; type = type.baseType ? this.types.get(type.baseType) : undefined) {
      const property = type.properties.get(propertyName)
      if (property) return property
    }
    return undefined
  }

  /** Every problem found in `value` read as an instance of `typeName` (empty when it conforms). */
  check(typeName: string, value: unknown, path = typeName): string[] {
    return this.checkValue({ type: typeName, collection: false, nullable: false }, value, path)
  }

  private checkValue(declared: Pick<CsdlProperty, 'type' | 'collection' | 'nullable'>, value: unknown, path: string): string[] {
    if (declared.collection) {
      if (!Array.isArray(value)) return [`${path}: expected an array (Collection(${declared.type})), got ${JSON.stringify(value)}`]
      return value.flatMap((item, index) => this.checkValue({ ...declared, collection: false }, item, `${path}[${index}]`))
    }
    if (value === null) return declared.nullable ? [] : [`${path}: null, but the property is not nullable`]
    const problem = (expected: string) => [`${path}: expected ${expected} (${declared.type}), got ${JSON.stringify(value)}`]
    switch (declared.type) {
      case 'Edm.String':
        return typeof value === 'string' ? [] : problem('a string')
      case 'Edm.Guid':
        return typeof value === 'string' && GUID.test(value) ? [] : problem('a GUID string')
      case 'Edm.DateTimeOffset':
        return typeof value === 'string' && DATE_TIME_OFFSET.test(value) && !Number.isNaN(Date.parse(value)) ? [] : problem('an ISO 8601 date-time')
      case 'Edm.Boolean':
        return typeof value === 'boolean' ? [] : problem('a boolean')
      case 'Edm.Int32':
      case 'Edm.Int64':
        return Number.isInteger(value) ? [] : problem('an integer')
      case 'Edm.Double':
        return typeof value === 'number' ? [] : problem('a number')
    }
    const members = this.enums.get(declared.type)
    if (members) return typeof value === 'string' && members.has(value) ? [] : problem(`one of ${[...members].join(', ')}`)
    if (!this.types.has(declared.type)) return [`${path}: type ${declared.type} is not in the slice`]
    if (typeof value !== 'object' || Array.isArray(value)) return problem('an object')

    return Object.entries(value).flatMap(([name, propertyValue]) => {
      if (name === '@odata.type') {
        return propertyValue === `#microsoft.graph.${declared.type}` ? [] : [`${path}: @odata.type ${JSON.stringify(propertyValue)} is not #microsoft.graph.${declared.type}`]
      }
      if (name.startsWith('@odata.')) return []
      const property = this.property(declared.type, name)
      if (!property) return [`${path}.${name}: not a property of ${declared.type}`]
      return this.checkValue(property, propertyValue, `${path}.${name}`)
    })
  }
}
