import { Type } from '@sinclair/typebox'

/** Query fields of every cursor-paged list. */
export const pageFields = {
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 25, description: 'Items per page' }),
  cursor: Type.Optional(Type.String({ maxLength: 4096, description: 'nextCursor of the previous page, with the same filters' })),
}

/** Free text for pickers; quotes and backslashes cannot be expressed in a Graph $search phrase. */
export const SearchText = Type.String({ minLength: 1, maxLength: 100, pattern: '^[^"\\\\]*$' })

export const SearchPageQuery = Type.Object({ search: Type.Optional(SearchText), ...pageFields }, { additionalProperties: false })
