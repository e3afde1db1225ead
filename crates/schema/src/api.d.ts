/** Checks that unknown data is a `T` (a type guard), e.g. a compiled validator of a schema below. */
export interface SchemaValidator<T> {
  validate(data: unknown): data is T;
}

/** A JSON Schema (draft 2020-12), e.g. one of the `schemas/*.schema.json` files. */
export type Schema = { [keyword: string]: unknown } | boolean;

/**
 * The state store's API, as the module specification defines it, over the types below.
 *
 * Keys are dot-separated segments of `[a-z0-9][a-z0-9_-]{0,63}`, at least two (`layout.default`,
 * `settings.preferences`). Values of the built-in keys are validated against their documents:
 * `layout.*` holds a `GridLayoutState`, `settings.preferences` a `UserPreferencesState`,
 * `history.conversations` and `history.conversations.*` a `ConversationHistoryState`,
 * `config.app` an `AppConfig`.
 */
export interface StatePersistenceAPI {
  /** Saves `data` under `key`, atomically; rejects when it fails validation. */
  save(key: string, data: unknown, options?: SaveOptions): Promise<void>;
  /** Loads `key` (migrated to the current version and validated), or `null` when it does not exist. */
  load<T>(key: string, schema?: SchemaValidator<T>): Promise<T | null>;
  /** Deletes `key`; deleting a key that does not exist is not an error. */
  delete(key: string): Promise<void>;
  /** Whether `key` holds a value. */
  exists(key: string): Promise<boolean>;

  /** Applies every operation or none. */
  saveBatch(operations: BatchOperation[]): Promise<void>;
  /** Loads several keys; keys that do not exist are absent from the map. */
  loadBatch<T>(keys: string[]): Promise<Map<string, T>>;

  /** Takes a manual backup of the whole store and returns its id. */
  createBackup(name?: string): Promise<string>;
  /** Restores the backup with this id (after an automatic backup of the present state). */
  restoreBackup(backupId: string): Promise<void>;
  /** Every backup, newest first. */
  listBackups(): Promise<BackupInfo[]>;

  /** Whether `data` is valid against `schema`. */
  validateData(data: unknown, schema: Schema): boolean;
  /** Migrates `data` from one version of its document to another. */
  migrateData(data: unknown, fromVersion: string, toVersion: string): unknown;
}
