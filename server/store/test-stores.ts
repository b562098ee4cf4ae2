/**
 * Fresh stores of every kind for tests: a SQLite file in a temp dir, and a Postgres database of its own on the
 * throwaway cluster that `server/postgres-global-setup.ts` starts for the run. A test file runs its cases over
 * `storeKinds` (`describe.each(storeKinds)`), so both engines are held to the same behaviour.
 */
import path from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import { inject } from 'vitest'
import { tempDir } from '../test-helpers.ts'
import { openPostgresStore } from './postgres.ts'
import { openSqliteStore } from './sqlite.ts'
import type { Store } from './types.ts'

export type StoreKind = 'sqlite' | 'postgres'

export interface OpenedStore {
  store: Store
  /** Another store on the same database (as a second hub would open it); closed with this one. */
  another(): Promise<Store>
  /** Runs raw SQL on the same database, beside the store (to show what the tables themselves refuse). */
  exec(sql: string): Promise<void>
  /** Closes every store opened here and removes the database. */
  close(): Promise<void>
}

export interface StoreKindEntry {
  kind: StoreKind
  open(): Promise<OpenedStore>
}

/** A database of its own on the test cluster, dropped by `drop()`. */
export interface TestPostgresDatabase {
  url: string
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<R[]>
  drop(): Promise<void>
}

/** The test cluster's admin URL; throws (failing the test) when the run has no cluster, saying how to get one. */
export function postgresAdminUrl(): string {
  const provided = inject('postgres')
  if (!provided) throw new Error('No Postgres test cluster: vitest.config.ts must list server/postgres-global-setup.ts in globalSetup.')
  if ('error' in provided) throw new Error(provided.error)
  return provided.url
}

/** Creates an empty database on the test cluster. */
export async function freshPostgresDatabase(): Promise<TestPostgresDatabase> {
  const admin = new URL(postgresAdminUrl())
  const name = `meshwork_test_${crypto.randomUUID().replaceAll('-', '')}`
  const withAdmin = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: admin.href })
    await client.connect()
    try {
      return await work(client)
    } finally {
      await client.end()
    }
  }
  await withAdmin((c) => c.query(`CREATE DATABASE ${name}`))
  const url = new URL(admin.href)
  url.pathname = `/${name}`
  return {
    url: url.href,
    async query(sql, values) {
      const client = new pg.Client({ connectionString: url.href })
      await client.connect()
      try {
        return (await client.query(sql, values)).rows
      } finally {
        await client.end()
      }
    },
    async drop() {
      await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
    },
  }
}

async function openSqlite(): Promise<OpenedStore> {
  const tmp = tempDir()
  const file = path.join(tmp.dir, 'store.sqlite')
  const stores: Store[] = [openSqliteStore(file)]
  return {
    store: stores[0],
    async another() {
      const store = openSqliteStore(file)
      stores.push(store)
      return store
    },
    async exec(sql) {
      const db = new Database(file)
      try {
        db.exec(sql)
      } finally {
        db.close()
      }
    },
    async close() {
      for (const s of stores) await s.close()
      tmp.remove()
    },
  }
}

async function openPostgres(): Promise<OpenedStore> {
  const database = await freshPostgresDatabase()
  // Few connections each: a test file may open many stores one after another on the one cluster.
  const stores: Store[] = [await openPostgresStore(database.url, { maxConnections: 4 })]
  return {
    store: stores[0],
    async another() {
      const store = await openPostgresStore(database.url, { maxConnections: 4 })
      stores.push(store)
      return store
    },
    async exec(sql) {
      await database.query(sql)
    },
    async close() {
      for (const s of stores) await s.close()
      await database.drop()
    },
  }
}

/** Every store engine, each with a way to open a fresh, empty store. */
export const storeKinds: readonly StoreKindEntry[] = [
  { kind: 'sqlite', open: openSqlite },
  { kind: 'postgres', open: openPostgres },
]
