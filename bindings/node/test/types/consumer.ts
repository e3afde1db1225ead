// A consumer of the package, compiled with `tsc --strict` by test/types.test.js: every method
// with its types. The lines marked @ts-expect-error must fail to compile (tsc fails on an
// unused directive), so types that are too loose fail the test.
import { open, openSync, validateData, type Store, type StatevaultError, type OpenOptions } from 'statevault';
import type {
  BackupInfo,
  BatchOperation,
  ConversationHistoryState,
  GridLayoutState,
  SchemaValidator,
  StatePersistenceAPI,
  UserPreferencesState,
} from 'statevault';
import { exposeStore } from 'statevault/electron';
import { rendererApi, type RendererStore } from 'statevault/preload';

declare const layout: GridLayoutState;
declare const preferences: UserPreferencesState;

const isLayout: SchemaValidator<GridLayoutState> = {
  validate: (data: unknown): data is GridLayoutState => typeof data === 'object' && data !== null,
};

export async function everyMethod(): Promise<void> {
  const options: OpenOptions = {
    appName: 'my-app',
    durability: 'full',
    quotaBytes: 512 * 1024 * 1024,
    encryption: { key: Buffer.alloc(32) },
    policies: { 'layout.*': { compression: true, backup: true } },
    documents: [
      {
        name: 'PluginState',
        pattern: 'plugins.*',
        version: '2.0.0',
        schema: { type: 'object' },
        migrations: [{ from: '1.0.0', to: '2.0.0', migrate: (doc) => ({ ...doc, version: '2.0.0' }) }],
      },
    ],
  };
  const store: Store = await open(options);
  const api: StatePersistenceAPI = store;
  await api.save('layout.default', layout, { encrypt: false, compression: true, backup: true });
  const loaded: GridLayoutState | null = await store.load('layout.default', isLayout);
  const typed: UserPreferencesState | null = await store.load<UserPreferencesState>('settings.preferences');
  await store.delete('layout.old');
  const present: boolean = await store.exists('layout.default');
  const batch: BatchOperation[] = [
    { type: 'save', key: 'settings.preferences', data: preferences },
    { type: 'delete', key: 'layout.old' },
  ];
  await store.saveBatch(batch);
  const many: Map<string, ConversationHistoryState> = await store.loadBatch<ConversationHistoryState>(['history.conversations']);
  const id: string = await store.createBackup('nightly');
  await store.createBackup();
  await store.restoreBackup(id);
  const list: BackupInfo[] = await store.listBackups();
  const first: { id: string; name: string; timestamp: number; size: number; compressed: boolean; encrypted: boolean } = list[0];
  const valid: boolean = store.validateData(layout, { type: 'object' });
  const migrated: unknown = store.migrateData({}, '1.0.0', '2.0.0');
  store.saveSync('settings.preferences', preferences);
  const sync: UserPreferencesState | null = store.loadSync<UserPreferencesState>('settings.preferences');
  store.deleteSync('layout.old');
  store.saveBatchSync(batch);
  const off: () => void = store.onDidChange<GridLayoutState>('layout.default', (next, previous) => {
    const t: number | undefined = next?.timestamp ?? previous?.timestamp;
    void t;
  });
  off();
  store.onDidAnyChange((key: string, next: unknown, previous: unknown) => void [key, next, previous])();
  const file: string = store.path('layout.default');
  const keys: string[] = store.keys('layout.');
  await store.close();
  openSync({ dir: '/tmp/x', encryption: false }).closeSync();
  const ok: boolean = validateData({}, { type: 'object' });
  try {
    await store.load('layout.default');
  } catch (e) {
    const error = e as StatevaultError;
    const code: 'E_CLOSED' | string = error.code;
    const pointer: string | undefined = error.violations?.[0]?.pointer;
    void [code, pointer, error.key, error.path];
  }
  void [loaded, typed, present, many, first, valid, migrated, sync, file, keys, ok];

  // @ts-expect-error a key is a string
  await store.save(42, {});
  // @ts-expect-error the options are the specification's SaveOptions
  await store.save('layout.a', {}, { zip: true });
  // @ts-expect-error a batch operation has a type
  await store.saveBatch([{ key: 'layout.a', data: {} }]);
  // @ts-expect-error durability is one of three
  await open({ dir: '/x', durability: 'sometimes' });
  // @ts-expect-error validateData is synchronous
  const notAPromise: Promise<boolean> = store.validateData({}, {});
  void notAPromise;
}

export function electronMain(ipcMain: Parameters<typeof exposeStore>[0], store: Store): () => void {
  return exposeStore(ipcMain, store, { allow: ['layout.*', 'settings.preferences'] });
}

export function preload(ipcRenderer: Parameters<typeof rendererApi>[0]): StatePersistenceAPI {
  const api: RendererStore = rendererApi(ipcRenderer);
  api.onDidChange<GridLayoutState>('layout.default', (next) => void next?.layout);
  return api;
}
