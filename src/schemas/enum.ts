// Closed sets as OpenAPI enums: `{ type: 'string', enum: [...] }` is what generated clients turn
// into a union of literals. For a value read from Microsoft Graph the response serializer writes
// the string as it is (a union of literals would make it refuse an undocumented value with a 500).
import { Type, type SchemaOptions, type TUnsafe } from '@sinclair/typebox'

export const StringEnum = <const T extends readonly string[]>(values: T, options: SchemaOptions = {}): TUnsafe<T[number]> =>
  Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] })

/** The set or null (OpenAPI 3.0: nullable, with null among the values). */
export const NullableStringEnum = <const T extends readonly string[]>(values: T, options: SchemaOptions = {}): TUnsafe<T[number] | null> =>
  Type.Unsafe<T[number] | null>({ ...options, type: 'string', nullable: true, enum: [...values, null] })
