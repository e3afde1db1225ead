// statevault for Node.js and Electron's main process: the module specification's
// StatePersistenceAPI over the native addon (native.js loads the platform's binary).
//
// Values cross into Rust as JSON text; every asynchronous call does its work on the libuv
// thread pool. Errors carry `code` (from statevault's one table of error kinds), and `key`,
// `path` and `violations` where they apply.
'use strict';

const native = require('./native.js');

const CODES = native.errorCodes();
const ERROR_MARK = 'statevault-error:';
/** The policy the module specification asks for sensitive data: history encrypted at rest. */
const SENSITIVE_POLICY = { pattern: 'history.*', options: { encrypt: true, compression: true } };
const OPEN_OPTIONS = new Set([
  'dir',
  'appName',
  'durability',
  'quotaBytes',
  'encryption',
  'documents',
  'policies',
  'readOnly',
]);

/** An Error with statevault's `code` (and `key`, `path`, `violations` where they apply). */
function makeError(code, message, details) {
  const error = new Error(message);
  error.code = code;
  if (details) {
    for (const name of ['key', 'path', 'violations']) {
      if (details[name] !== undefined) error[name] = details[name];
    }
  }
  return error;
}

/** Turns the addon's error (a JSON payload in its message) into a statevault Error. */
function fromNative(error) {
  if (error && typeof error.message === 'string' && error.message.startsWith(ERROR_MARK)) {
    const payload = JSON.parse(error.message.slice(ERROR_MARK.length));
    return makeError(payload.code, payload.message, payload);
  }
  return error;
}

function invalid(message) {
  return makeError(CODES.invalidInput, message);
}

/** JSON text of a value to store; `undefined`, functions and symbols are refused. */
function encode(data, what = 'data') {
  let json;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    throw invalid(`${what} cannot be stored as JSON: ${error.message}`);
  }
  if (json === undefined) throw invalid(`${what} must be a JSON value, not ${typeof data}`);
  return json;
}

/** The JSON Patch that appends `value` to the array at the JSON pointer `pointer`. */
function appendPatch(pointer, value) {
  if (typeof pointer !== 'string') throw invalid('a JSON pointer is a string');
  return [{ op: 'add', path: `${pointer}/-`, value }];
}

const decode = (json) => (json === undefined || json === null ? undefined : JSON.parse(json));

function checkKey(key) {
  if (typeof key !== 'string') throw makeError(CODES.invalidKey, `a key is a string, not ${typeof key}`);
}

function encodeOptions(options) {
  if (options === undefined || options === null) return undefined;
  if (typeof options !== 'object') throw invalid('save options must be an object');
  return JSON.stringify(options);
}

/** The native open's arguments from the public options. */
function prepare(options) {
  if (!options || typeof options !== 'object') throw invalid('open needs an options object');
  for (const name of Object.keys(options)) {
    if (!OPEN_OPTIONS.has(name)) throw invalid(`unknown open option ${JSON.stringify(name)}`);
  }
  const { dir, appName, durability, quotaBytes, encryption, readOnly } = options;
  let mode = 'keychain';
  let key;
  if (encryption === false) {
    mode = 'off';
  } else if (encryption !== undefined && encryption !== true) {
    if (!encryption || !(encryption.key instanceof Uint8Array)) {
      throw invalid('encryption is true, false or { key: Buffer } (32 bytes)');
    }
    mode = 'key';
    key = Buffer.from(encryption.key);
  }
  const policies = [];
  const given = options.policies ?? {};
  const entries = Array.isArray(given)
    ? given.map(({ pattern, ...rest }) => [pattern, rest])
    : Object.entries(given);
  for (const [pattern, { encrypt, compress, compression, backup }] of entries) {
    policies.push({
      pattern,
      options: { encrypt, compression: compression ?? compress, backup },
    });
  }
  if (mode !== 'off') policies.push(SENSITIVE_POLICY);
  const functions = [];
  const documents = (options.documents ?? []).map((document) => {
    const { name, pattern, version, schema, migrations = [] } = document;
    return {
      name,
      patterns: Array.isArray(pattern) ? pattern : [pattern],
      version,
      schema,
      migrations: migrations.map((migration) => {
        if (typeof migration.migrate !== 'function') {
          throw invalid(`${name} ${migration.from} -> ${migration.to}: migrate must be a function`);
        }
        const index = functions.push(migration.migrate) - 1;
        return { from: migration.from, to: migration.to, index, description: migration.description };
      }),
    };
  });
  const json = JSON.stringify({
    dir,
    appName,
    durability,
    quotaBytes,
    readOnly,
    encryption: mode,
    policies,
    documents,
  });
  return [json, functions.length > 0 ? dispatcher(functions) : undefined, key];
}

/**
 * The one function the addon calls for every JavaScript migration: `"<index>:<json>"` in,
 * `"o<json>"` or `"e<message>"` out. It never throws, so a failing migration is an error of
 * the load that ran it, never an uncaught exception.
 */
function dispatcher(functions) {
  return (request) => {
    const colon = request.indexOf(':');
    const migrate = functions[Number(request.slice(0, colon))];
    try {
      const result = migrate(JSON.parse(request.slice(colon + 1)));
      if (result && typeof result.then === 'function') {
        return 'ea migration must return the migrated document, not a Promise';
      }
      const json = JSON.stringify(result);
      if (json === undefined) return 'ea migration must return the migrated document';
      return `o${json}`;
    } catch (error) {
      return `e${error && error.message ? error.message : String(error)}`;
    }
  };
}

/** Checks a loaded value with the specification's `SchemaValidator` (`validate(data)`). */
function checkWithValidator(store, key, value, schema) {
  if (schema === undefined || schema === null) return;
  if (typeof schema.validate !== 'function') {
    throw invalid('schema must be an object with a validate(data) method');
  }
  if (!schema.validate(value)) {
    throw makeError(CODES.validation, `${key}: the value was rejected by the schema validator`, {
      key,
      path: store.path(key),
      violations: [{ pointer: '', message: 'rejected by the schema validator' }],
    });
  }
}

/** Calls every listener; one that throws does not stop the others (its error is rethrown later). */
function notify(listeners, args) {
  for (const listener of [...listeners]) {
    try {
      listener(...args);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

/** An open store: the specification's StatePersistenceAPI, plus sync calls and change events. */
class Store {
  #native;
  #closed = false;
  #pending = new Set();
  #listeners = new Map();
  #any = new Set();

  constructor(handle) {
    if (!(handle instanceof native.NativeStore)) throw invalid('use open() or openSync()');
    this.#native = handle;
  }

  /** The store's folder. */
  get dir() {
    return this.#call(() => this.#native.dir());
  }

  #checkOpen() {
    if (this.#closed) throw makeError(CODES.closed, 'the store is closed');
  }

  /** Runs a native asynchronous call, tracked so that close() waits for it. */
  async #run(start) {
    this.#checkOpen();
    let promise;
    try {
      promise = start();
    } catch (error) {
      throw fromNative(error);
    }
    this.#pending.add(promise);
    try {
      return await promise;
    } catch (error) {
      throw fromNative(error);
    } finally {
      this.#pending.delete(promise);
    }
  }

  #call(fn) {
    this.#checkOpen();
    try {
      return fn();
    } catch (error) {
      throw fromNative(error);
    }
  }

  #watching(key) {
    return this.#any.size > 0 || (this.#listeners.get(key)?.size ?? 0) > 0;
  }

  #emit(key, newValue, oldValue) {
    const listeners = this.#listeners.get(key);
    if (listeners) notify(listeners, [newValue, oldValue]);
    notify(this.#any, [key, newValue, oldValue]);
  }

  async save(key, data, options) {
    checkKey(key);
    const json = encode(data);
    const opts = encodeOptions(options);
    const watching = this.#watching(key);
    const reply = await this.#run(() => this.#native.save(key, json, opts, watching));
    if (watching) this.#emit(key, JSON.parse(json), decode(reply.old));
  }

  saveSync(key, data, options) {
    checkKey(key);
    const json = encode(data);
    const opts = encodeOptions(options);
    const watching = this.#watching(key);
    const reply = this.#call(() => this.#native.saveSync(key, json, opts, watching));
    if (watching) this.#emit(key, JSON.parse(json), decode(reply.old));
  }

  async load(key, schema) {
    checkKey(key);
    const reply = await this.#run(() => this.#native.load(key, this.#watching(key)));
    return this.#loaded(key, reply, schema);
  }

  loadSync(key, schema) {
    checkKey(key);
    const reply = this.#call(() => this.#native.loadSync(key, this.#watching(key)));
    return this.#loaded(key, reply, schema);
  }

  #loaded(key, reply, schema) {
    if (reply.value === undefined || reply.value === null) return null;
    const value = JSON.parse(reply.value);
    // A load that migrated an older document wrote it back: that is a change.
    if (reply.flag) this.#emit(key, JSON.parse(reply.value), undefined);
    checkWithValidator(this, key, value, schema);
    return value;
  }

  async delete(key) {
    checkKey(key);
    const watching = this.#watching(key);
    const reply = await this.#run(() => this.#native.delete(key, watching));
    if (watching && reply.flag) this.#emit(key, undefined, decode(reply.old));
  }

  deleteSync(key) {
    checkKey(key);
    const watching = this.#watching(key);
    const reply = this.#call(() => this.#native.deleteSync(key, watching));
    if (watching && reply.flag) this.#emit(key, undefined, decode(reply.old));
  }

  /**
   * Applies an RFC 6902 JSON Patch to the value of `key`, all of it or none; the commit is a
   * journal record of the patch, so it costs the change, not the document.
   */
  async patch(key, operations) {
    const [json, watching] = this.#patchArgs(key, operations);
    const reply = await this.#run(() => this.#native.patch(key, json, watching));
    this.#patched(key, reply, watching);
  }

  patchSync(key, operations) {
    const [json, watching] = this.#patchArgs(key, operations);
    const reply = this.#call(() => this.#native.patchSync(key, json, watching));
    this.#patched(key, reply, watching);
  }

  /** Appends `value` to the array at the JSON pointer `pointer` in the value of `key`. */
  async append(key, pointer, value) {
    await this.patch(key, appendPatch(pointer, value));
  }

  appendSync(key, pointer, value) {
    this.patchSync(key, appendPatch(pointer, value));
  }

  #patchArgs(key, operations) {
    checkKey(key);
    if (!Array.isArray(operations)) throw invalid('a patch is an array of operations');
    return [encode(operations, 'the patch'), this.#watching(key)];
  }

  #patched(key, reply, watching) {
    if (watching) this.#emit(key, decode(reply.value), decode(reply.old));
  }

  async exists(key) {
    checkKey(key);
    const reply = await this.#run(() => this.#native.exists(key));
    return reply.flag === true;
  }

  /** Writes every saved value into its key's file now (see `checkpoint` in index.d.ts). */
  async checkpoint() {
    await this.#run(() => this.#native.checkpoint());
  }

  checkpointSync() {
    this.#call(() => this.#native.checkpointSync());
  }

  #batch(operations) {
    if (!Array.isArray(operations)) throw invalid('saveBatch takes an array of operations');
    for (const operation of operations) {
      if (!operation || typeof operation !== 'object') throw invalid('a batch operation is an object');
      checkKey(operation.key);
    }
    const json = encode(operations, 'the batch');
    const watching = operations.some((operation) => this.#watching(operation.key));
    return [json, watching];
  }

  #batchDone(operations, reply, watching) {
    if (!watching) return;
    operations.forEach((operation, i) => {
      const old = decode(reply.list?.[i]);
      if (operation.type === 'save') {
        this.#emit(operation.key, JSON.parse(JSON.stringify(operation.data)), old);
      } else if (operation.type === 'patch') {
        // The patched value is the store's now: read once for the listeners.
        this.#emit(operation.key, this.loadSync(operation.key) ?? undefined, old);
      } else if (old !== undefined) {
        this.#emit(operation.key, undefined, old);
      }
    });
  }

  async saveBatch(operations) {
    const [json, watching] = this.#batch(operations);
    const reply = await this.#run(() => this.#native.saveBatch(json, watching));
    this.#batchDone(operations, reply, watching);
  }

  saveBatchSync(operations) {
    const [json, watching] = this.#batch(operations);
    const reply = this.#call(() => this.#native.saveBatchSync(json, watching));
    this.#batchDone(operations, reply, watching);
  }

  async loadBatch(keys) {
    if (!Array.isArray(keys)) throw invalid('loadBatch takes an array of keys');
    keys.forEach(checkKey);
    const reply = await this.#run(() => this.#native.loadBatch(keys));
    const map = new Map();
    const list = reply.list ?? [];
    for (let i = 0; i < list.length; i += 2) map.set(list[i], JSON.parse(list[i + 1]));
    return map;
  }

  async createBackup(name) {
    if (name !== undefined && typeof name !== 'string') throw invalid('a backup name is a string');
    const reply = await this.#run(() => this.#native.createBackup(name));
    return reply.value;
  }

  async restoreBackup(backupId) {
    if (typeof backupId !== 'string') throw invalid('a backup id is a string');
    const watching = this.#any.size > 0 || this.#listeners.size > 0;
    const reply = await this.#run(() => this.#native.restoreBackup(backupId, watching));
    const list = reply.list ?? [];
    for (let i = 0; i < list.length; i += 3) {
      this.#emit(list[i], decode(list[i + 2]), decode(list[i + 1]));
    }
  }

  async listBackups() {
    const reply = await this.#run(() => this.#native.listBackups());
    return JSON.parse(reply.value);
  }

  validateData(data, schema) {
    return validateData(data, schema);
  }

  /**
   * Migrates `data` from one version to another along the registered migrations (the
   * application's JavaScript ones run here, on this thread). `document` names the document
   * when several have a path between the two versions.
   */
  migrateData(data, fromVersion, toVersion, document) {
    const json = encode(data);
    const out = this.#call(() =>
      this.#native.migrateData(json, String(fromVersion), String(toVersion), document),
    );
    return JSON.parse(out);
  }

  /** Calls `callback(newValue, oldValue)` after each durable change of `key`; returns an unsubscribe function. */
  onDidChange(key, callback) {
    checkKey(key);
    if (typeof callback !== 'function') throw invalid('onDidChange needs a function');
    let listeners = this.#listeners.get(key);
    if (!listeners) this.#listeners.set(key, (listeners = new Set()));
    listeners.add(callback);
    return () => {
      listeners.delete(callback);
      if (listeners.size === 0 && this.#listeners.get(key) === listeners) this.#listeners.delete(key);
    };
  }

  /** Calls `callback(key, newValue, oldValue)` after each durable change of any key; returns an unsubscribe function. */
  onDidAnyChange(callback) {
    if (typeof callback !== 'function') throw invalid('onDidAnyChange needs a function');
    this.#any.add(callback);
    return () => this.#any.delete(callback);
  }

  /** The file of `key`. */
  path(key) {
    checkKey(key);
    return this.#call(() => this.#native.path(key));
  }

  /** Every key starting with `prefix` (all keys by default), sorted. */
  keys(prefix = '') {
    return this.#call(() => this.#native.keys(prefix));
  }

  /** Waits for the calls in flight, then releases the store (and its writer lock). */
  async close() {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#pending]);
    await this.#native.close();
  }

  /** Releases the store now; calls still in flight finish first, then the lock is released. */
  closeSync() {
    if (this.#closed) return;
    this.#closed = true;
    this.#native.closeSync();
  }

  get closed() {
    return this.#closed;
  }
}

/** Opens (creating if needed) a store, on the libuv pool. */
async function open(options) {
  const args = prepare(options);
  try {
    return new Store(await native.open(...args));
  } catch (error) {
    throw fromNative(error);
  }
}

/** Opens (creating if needed) a store on the calling thread. */
function openSync(options) {
  const args = prepare(options);
  try {
    return new Store(native.openSync(...args));
  } catch (error) {
    throw fromNative(error);
  }
}

/** Whether `data` is valid against `schema`, a JSON Schema (draft 2020-12). */
function validateData(data, schema) {
  try {
    return native.validateData(encode(data), encode(schema, 'schema'));
  } catch (error) {
    throw fromNative(error);
  }
}

module.exports = { open, openSync, Store, validateData, codes: Object.freeze({ ...CODES }) };
