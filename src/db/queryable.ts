import type pg from 'pg'

/** A pool or a checked-out client: what hand-written SQL runs on. */
export type Queryable = Pick<pg.ClientBase, 'query'>
