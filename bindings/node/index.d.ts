// Types of the `statevault` package. The specification's API and documents come from
// `statevault.d.ts`, the declarations `cargo xtask codegen` generates from the Rust schemas
// (copied here by `npm run build`); this file adds only what the Node binding has beyond them.
import type {
  BatchOperation,
  BackupInfo,
  PatchOperation,
  SaveOptions,
  Schema,
  SchemaValidator,
  StatePersistenceAPI,
} from './statevault';

export type * from './statevault';

/** Every `code` a statevault error carries (statevault's one table of error kinds). */
export type ErrorCode =
  | 'E_NOT_FOUND'
  | 'E_INVALID_KEY'
  | 'E_INVALID_INPUT'
  | 'E_VALIDATION'
  | 'E_INVALID_JSON'
  | 'E_CORRUPT'
  | 'E_LOCKED'
  | 'E_QUOTA'
  | 'E_WRONG_KEY'
  | 'E_KEY_UNAVAILABLE'
  | 'E_NEWER_VERSION'
  | 'E_NOT_A_STORE'
  | 'E_READ_ONLY'
  | 'E_MIGRATION'
  | 'E_TYPE'
  | 'E_NO_SPACE'
  | 'E_IO'
  | 'E_CLOSED'
  | 'E_FORBIDDEN'
  | 'E_PATCH'
  | 'E_FEATURE_DISABLED'
  | 'E_OTHER';

/** One way a value breaks its schema. */
export interface Violation {
  /** JSON pointer into the value (`''` is the whole value). */
  pointer: string;
  /** What is wrong (values masked). */
  message: string;
}

/** What every rejected call rejects with. */
export interface StatevaultError extends Error {
  code: ErrorCode;
  /** The key the error is about, where there is one. */
  key?: string;
  /** The file or folder the error is about, where there is one. */
  path?: string;
  /** Every schema violation, for `E_VALIDATION`. */
  violations?: Violation[];
}

/** One step of an application document's migrations: a synchronous function on plain JSON. */
export interface MigrationDefinition {
  from: string;
  to: string;
  /** Turns a document of version `from` into one of version `to` (and sets its `version`). */
  migrate(document: any): unknown;
  description?: string;
}

/** An application's own document type: validated on save and load, migrated on load. */
export interface DocumentDefinition {
  /** An identifier, e.g. `"PluginState"`. */
  name: string;
  /** The keys it holds: an exact key or `prefix.*`, or several. */
  pattern: string | string[];
  /** The current version (semver). */
  version: string;
  /** Its JSON Schema (draft 2020-12). */
  schema: Schema;
  migrations?: MigrationDefinition[];
}

/** The save options applied to keys matching a pattern, where a save leaves them unset. */
export interface PolicyOptions {
  encrypt?: boolean;
  compression?: boolean;
  /** Same as `compression`. */
  compress?: boolean;
  backup?: boolean;
}

export interface OpenOptions {
  /** The store's folder. Exactly one of `dir` and `appName`. */
  dir?: string;
  /** The application's name: the store lives in the platform's data folder for it. */
  appName?: string;
  /** How hard each write works to survive power loss (default `'full'`). */
  durability?: 'full' | 'normal' | 'none';
  /** The most bytes the store's keys may take; a save past it fails with `E_QUOTA`. */
  quotaBytes?: number;
  /**
   * Default (`true` or absent): `history.*` is encrypted and compressed with a key kept in the
   * OS keychain. `{ key }`: a 32-byte key the application holds. `false`: nothing is encrypted,
   * and a save asking for encryption fails with `E_KEY_UNAVAILABLE`.
   */
  encryption?: boolean | { key: Uint8Array };
  /** Application documents with their schemas and migrations. */
  documents?: DocumentDefinition[];
  /** Save options per key pattern (`'layout.*'`, `'config.app'`); the first match wins. */
  policies?: Record<string, PolicyOptions> | Array<PolicyOptions & { pattern: string }>;
  /** Open without the writer lock, only to read. */
  readOnly?: boolean;
}

/** An open store. */
export declare class Store implements StatePersistenceAPI {
  private constructor();
  /** The store's folder. */
  readonly dir: string;
  /** Whether close() or closeSync() was called. */
  readonly closed: boolean;

  save(key: string, data: unknown, options?: SaveOptions): Promise<void>;
  load<T>(key: string, schema?: SchemaValidator<T>): Promise<T | null>;
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  saveBatch(operations: BatchOperation[]): Promise<void>;
  /**
   * Applies an RFC 6902 JSON Patch to the value of `key` (which must exist), all of it or none.
   * The commit is a journal record of the patch, so an append to a long history costs the
   * message, not the history. A failing operation rejects with `E_PATCH` naming its index.
   */
  patch(key: string, operations: PatchOperation[]): Promise<void>;
  /** Appends `value` to the array at the JSON pointer `pointer` in the value of `key`. */
  append(key: string, pointer: string, value: unknown): Promise<void>;
  loadBatch<T>(keys: string[]): Promise<Map<string, T>>;
  createBackup(name?: string): Promise<string>;
  restoreBackup(backupId: string): Promise<void>;
  listBackups(): Promise<BackupInfo[]>;
  validateData(data: unknown, schema: Schema): boolean;
  migrateData(data: unknown, fromVersion: string, toVersion: string, document?: string): unknown;

  /** `save` on this thread (it blocks until the write is durable). */
  saveSync(key: string, data: unknown, options?: SaveOptions): void;
  /** `load` on this thread; JavaScript migrations run directly. */
  loadSync<T>(key: string, schema?: SchemaValidator<T>): T | null;
  /** `delete` on this thread. */
  deleteSync(key: string): void;
  /** `saveBatch` on this thread. */
  saveBatchSync(operations: BatchOperation[]): void;
  /** `patch` on this thread. */
  patchSync(key: string, operations: PatchOperation[]): void;
  /** `append` on this thread. */
  appendSync(key: string, pointer: string, value: unknown): void;

  /** Calls `callback` after each durable change of `key`; returns the unsubscribe function. */
  onDidChange<T = unknown>(
    key: string,
    callback: (newValue: T | undefined, oldValue: T | undefined) => void,
  ): () => void;
  /** Calls `callback` after each durable change of any key; returns the unsubscribe function. */
  onDidAnyChange(
    callback: (key: string, newValue: unknown, oldValue: unknown) => void,
  ): () => void;
  /**
   * Writes every saved value into its key's file now. Saves are durable when they resolve
   * (in the store's journal) and reach the keys' files on their own: 2 s after the last save,
   * when the journal is full, and at close. Call this before reading a file directly.
   */
  checkpoint(): Promise<void>;
  /** `checkpoint` on this thread. */
  checkpointSync(): void;
  /** The file of `key` (it holds the latest value once checkpointed; see `checkpoint`). */
  path(key: string): string;
  /** Every key starting with `prefix`, sorted. */
  keys(prefix?: string): string[];
  /** Waits for calls in flight, then releases the store and its writer lock. */
  close(): Promise<void>;
  /** Releases the store now. */
  closeSync(): void;
}

/** Opens (creating if needed) a store; the work runs off the JavaScript thread. */
export declare function open(options: OpenOptions): Promise<Store>;
/** Opens (creating if needed) a store on the calling thread. */
export declare function openSync(options: OpenOptions): Store;
/** Whether `data` is valid against a JSON Schema. */
export declare function validateData(data: unknown, schema: Schema): boolean;
/** The error codes the JavaScript side raises itself. */
export declare const codes: Readonly<Record<string, ErrorCode>>;
