/**
 * @module Typed errors of Hookline's database package. Every class has an explicit `name` (so
 * checks survive duplicate package copies) and a namespaced string `code`.
 */

/** Base class of every error this package raises on purpose. */
export class DbError extends Error {
  /** Namespaced, stable identifier of the failure, e.g. `hookline.db.migration_failed`. */
  readonly code: string

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = 'DbError'
  }
}

/** The database URL cannot be used (unparsable, or it names no database). */
export class DatabaseUrlError extends DbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('hookline.db.database_url_invalid', message, options)
    this.name = 'DatabaseUrlError'
  }
}

/** The migrations directory is missing or holds a migration folder without `migration.sql`. */
export class MigrationsDirectoryError extends DbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('hookline.db.migrations_directory_invalid', message, options)
    this.name = 'MigrationsDirectoryError'
  }
}

/**
 * `_prisma_migrations` records a migration that started and neither finished nor was rolled
 * back. Nothing more is applied until someone repairs the database and marks the row rolled back
 * (`prisma migrate resolve --rolled-back <name>`, or set `rolled_back_at`).
 */
export class PreviousMigrationFailedError extends DbError {
  /** Names of the failed migrations, oldest first. */
  readonly migrationNames: readonly string[]

  constructor(migrationNames: readonly string[]) {
    super(
      'hookline.db.previous_migration_failed',
      `migration ${migrationNames.map((name) => `"${name}"`).join(', ')} failed earlier; ` +
        'repair the database and mark it rolled back before migrating again',
    )
    this.name = 'PreviousMigrationFailedError'
    this.migrationNames = migrationNames
  }
}

/** An applied migration's `migration.sql` was edited afterwards: its checksum no longer matches. */
export class MigrationChecksumMismatchError extends DbError {
  /** Folder name of the edited migration. */
  readonly migrationName: string
  /** Checksum recorded in `_prisma_migrations` when it was applied. */
  readonly recordedChecksum: string
  /** Checksum of the file as it is now. */
  readonly fileChecksum: string

  constructor(migrationName: string, recordedChecksum: string, fileChecksum: string) {
    super(
      'hookline.db.migration_checksum_mismatch',
      `migration "${migrationName}" was modified after it was applied ` +
        `(recorded checksum ${recordedChecksum}, file checksum ${fileChecksum})`,
    )
    this.name = 'MigrationChecksumMismatchError'
    this.migrationName = migrationName
    this.recordedChecksum = recordedChecksum
    this.fileChecksum = fileChecksum
  }
}

/** A migration's script failed; the error is recorded in the row's `logs` and the run stops. */
export class MigrationFailedError extends DbError {
  /** Folder name of the migration that failed. */
  readonly migrationName: string

  constructor(migrationName: string, options: { cause: unknown }) {
    const reason = options.cause instanceof Error ? options.cause.message : String(options.cause)
    super('hookline.db.migration_failed', `migration "${migrationName}" failed: ${reason}`, options)
    this.name = 'MigrationFailedError'
    this.migrationName = migrationName
  }
}
