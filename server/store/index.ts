import path from 'node:path'
import { openPostgresStore } from './postgres.ts'
import { openSqliteStore } from './sqlite.ts'
import type { Store } from './types.ts'

export { openSqliteStore, SqliteStore } from './sqlite.ts'
export { openPostgresStore, PostgresStore, type PostgresStoreOptions } from './postgres.ts'
export type {
  Store,
  StoreCounts,
  UnitState,
  JobState,
  NewJob,
  NewUnit,
  UnitCounts,
  JobRecord,
  UnitRecord,
  LeaseUnitsParameters,
  ResultInsert,
  ResultInsertOutcome,
  PendingResult,
  ResultVerdict,
  CreditCandidate,
  LedgerAppend,
  LedgerEntry,
  DeviceSummary,
  DeviceResultRecord,
  PartnerTotals,
  CurrentJob,
} from './types.ts'

export interface OpenStoreParameters {
  /** Folder of the SQLite file `meshwork.sqlite`, used when `databaseUrl` is unset. */
  dataDir: string
  /** A `postgres://` or `postgresql://` URL: the hub keeps its state in that database instead. @default unset (SQLite) */
  databaseUrl?: string
}

/** True for the URLs that select the Postgres store (`postgres://…`, `postgresql://…`). */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url)
}

/** The URL with its password masked, for error messages and logs. */
export function redactDatabaseUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@')
}

/**
 * Opens the hub's store: Postgres when `databaseUrl` is a postgres URL, else the SQLite file in `dataDir` (the
 * default). Kept here rather than in a file of its own: it only chooses between the two engines' own openers.
 */
export async function openStore({ dataDir, databaseUrl }: OpenStoreParameters): Promise<Store> {
  if (databaseUrl === undefined || databaseUrl === '') return openSqliteStore(path.join(dataDir, 'meshwork.sqlite'))
  if (!isPostgresUrl(databaseUrl)) {
    throw new Error(`The database URL must start with postgres:// or postgresql:// (got "${redactDatabaseUrl(databaseUrl)}"); leave it unset for SQLite.`)
  }
  return openPostgresStore(databaseUrl)
}
