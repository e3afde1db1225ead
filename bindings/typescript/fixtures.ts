// Type tests for statevault.d.ts, run by `npm test` (tsc --strict --noEmit).
//
// The valid samples must typecheck. Each invalid sample is preceded by `// @ts-expect-error`:
// tsc fails on a directive that has no error to suppress, so if the generated types were too
// loose to reject the sample, the test fails.

import type {
  AppConfig,
  BackupInfo,
  BatchOperation,
  ConversationContext,
  ConversationHistoryState,
  EnvironmentConfig,
  GridLayoutState,
  Keybinding,
  KeybindingsState,
  LayoutItem,
  Message,
  SaveOptions,
  StatePersistenceAPI,
  ThemesState,
  UserPreferencesState,
} from "./statevault";

// ---- valid samples -------------------------------------------------------------------------

export const layout: GridLayoutState = {
  version: "1.0.0",
  timestamp: 1764126784000,
  layout: {
    chat: { i: "chat", x: 0, y: 0, w: 6, h: 4, minW: 2, static: false },
    terminal: { i: "terminal", x: 6, y: 0, w: 6, h: 4, moved: false, resizeHandles: ["se", "e"] },
  },
  instances: {
    chat: { id: "chat", widgetType: "chat", title: "Assistant", config: { model: "local" }, state: {} },
    terminal: { id: "terminal", widgetType: "terminal", config: {}, state: { cwd: "/home" } },
  },
  metadata: { name: "Default", description: "Two columns", tags: ["work"] },
};

export const preferences: UserPreferencesState = {
  version: "1.0.0",
  theme: "dark",
  language: "en-GB",
  keyBindings: { "palette.open": "CmdOrCtrl+K" },
  ui: { sidebarCollapsed: false, gridDensity: "compact", showGridLines: true },
  privacy: { telemetryEnabled: false, crashReportingEnabled: true },
};

export const history: ConversationHistoryState = {
  version: "1.0.0",
  conversations: [
    {
      id: "c1",
      title: "Planning",
      createdAt: 1764126000000,
      updatedAt: 1764126784000,
      messages: [
        { id: "m1", role: "system", content: "Be brief.", timestamp: 1764126000000 },
        { id: "m2", role: "user", content: "Plan my week", timestamp: 1764126001000, tokens: 4 },
        { id: "m3", role: "assistant", content: "Monday: …", timestamp: 1764126002000, tokens: 120 },
        { id: "m4", role: "tool", content: "{\"ok\":true}", timestamp: 1764126003000 },
      ],
      tags: ["planning"],
    },
    { id: "c2", createdAt: 1764126784000, updatedAt: 1764126784000, messages: [] },
  ],
  metadata: { totalCount: 2, lastUpdated: 1764126784000, totalTokens: 124 },
};

export const config: AppConfig = {
  version: "1.0.0",
  window: {
    bounds: { x: -1200, y: 40, width: 1280, height: 800 },
    maximized: false,
    fullscreen: false,
    displayId: 2528732444,
  },
  paths: { dataDir: "C:\\Users\\ada\\AppData\\Roaming\\app" },
  featureFlags: { newGrid: true },
  logLevel: "debug",
  updates: { channel: "beta", checkAutomatically: true },
};

export const firstRunConfig: AppConfig = {
  version: "1.0.0",
  window: { maximized: false, fullscreen: false },
  paths: {},
  featureFlags: {},
  logLevel: "info",
  updates: { channel: "stable", checkAutomatically: true },
};

export const themes: ThemesState = {
  version: "1.0.0",
  active: "solarized-night",
  themes: {
    "solarized-night": {
      label: "Solarized Night",
      base: "dark",
      colors: { "editor.background": "#002b36", "accent-strong": "#268bd2cc" },
    },
    contrast: { label: "Contrast", base: "high-contrast", colors: {} },
  },
};

export const keybindings: KeybindingsState = {
  version: "1.0.0",
  bindings: [
    { command: "palette.open", keys: "Ctrl+Shift+P" },
    { command: "workbench:toggle-sidebar", keys: "CmdOrCtrl+B", when: "!inputFocus" },
    { command: "settings.open", keys: "Ctrl+K Ctrl+S" },
    { command: "editor.save", keys: "CmdOrCtrl+S", disabled: true },
  ],
};

export const environment: EnvironmentConfig = {
  version: "1.0.0",
  name: "staging",
  variables: { NODE_ENV: "production", LOG_FORMAT: "json" },
  endpoints: { api: "https://api.staging.example.com/v2" },
};

export const productionEnvironment: EnvironmentConfig = {
  version: "1.0.0",
  name: "production",
  variables: {},
};

export const context: ConversationContext = {
  version: "1.0.0",
  conversationId: "c1",
  summary: "Planning the week.",
  pinnedMessages: [{ messageId: "m1", role: "system", content: "Be brief.", pinnedAt: 1764126000000 }],
  entities: [
    { name: "src/main.rs", kind: "file" },
    { name: "Ada", kind: "person", description: "Release manager" },
  ],
  tags: ["planning"],
  updatedAt: 1764126790000,
  tokenBudget: 8000,
};

export const options: SaveOptions = { encrypt: true, compression: true, backup: false };

export const batch: BatchOperation[] = [
  { type: "save", key: "layout.default", data: layout, options: { compression: true } },
  { type: "save", key: "settings.preferences", data: preferences },
  { type: "delete", key: "layout.old" },
];

export const backups: BackupInfo[] = [
  {
    id: "2025-11-26T03-38-00Z",
    name: "before upgrade",
    timestamp: 1764126784000,
    size: 40960,
    compressed: true,
    encrypted: false,
    kind: "manual",
    fileCount: 4,
  },
  // Taken by the store itself, without a name: the name is "", never null.
  {
    id: "2025-11-26T03-39-00Z",
    name: "",
    timestamp: 1764126840000,
    size: 1024,
    compressed: false,
    encrypted: false,
    kind: "auto",
    fileCount: 1,
  },
];

// The API as an application calls it.
export async function roundTrip(api: StatePersistenceAPI): Promise<string | undefined> {
  await api.save("layout.default", layout, { encrypt: true });
  const loaded: GridLayoutState | null = await api.load<GridLayoutState>("layout.default");
  await api.saveBatch(batch);
  const many: Map<string, UserPreferencesState> = await api.loadBatch<UserPreferencesState>([
    "settings.preferences",
  ]);
  const id: string = await api.createBackup("nightly");
  const list: BackupInfo[] = await api.listBackups();
  await api.restoreBackup(id);
  const exists: boolean = await api.exists("config.app");
  const valid: boolean = api.validateData(config, { type: "object" });
  await api.delete("layout.old");
  return loaded?.metadata.name ?? (exists && valid ? list[0]?.name : many.get("x")?.language);
}

// Narrowing on the batch operation's `type` gives the save its data.
export function keysWithData(ops: BatchOperation[]): string[] {
  return ops.flatMap((op) => (op.type === "save" && op.data !== undefined ? [op.key] : []));
}

// ---- invalid samples: each line after a directive must be an error ---------------------------

export const wrongTheme: UserPreferencesState = {
  ...preferences,
  // @ts-expect-error "neon" is not a theme
  theme: "neon",
};

export const wrongDensity: UserPreferencesState = {
  ...preferences,
  // @ts-expect-error "dense" is not a grid density
  ui: { sidebarCollapsed: true, gridDensity: "dense", showGridLines: true },
};

// @ts-expect-error metadata is required
export const missingMetadata: GridLayoutState = {
  version: "1.0.0",
  timestamp: 0,
  layout: {},
  instances: {},
};

// @ts-expect-error h is required
export const missingHeight: LayoutItem = { i: "a", x: 0, y: 0, w: 1 };

export const wrongType: LayoutItem = {
  i: "a",
  x: 0,
  y: 0,
  // @ts-expect-error w is a number, not a string
  w: "2",
  h: 1,
};

export const unknownRole: Message = {
  id: "m",
  // @ts-expect-error "moderator" is not a role
  role: "moderator",
  content: "hi",
  timestamp: 0,
};

export const nullDescription: GridLayoutState = {
  ...layout,
  // @ts-expect-error an absent description is left out, never null
  metadata: { name: "x", description: null, tags: [] },
};

export const wrongThemeBase: ThemesState = {
  ...themes,
  // @ts-expect-error "sepia" is not a theme base
  themes: { paper: { label: "Paper", base: "sepia", colors: {} } },
};

// @ts-expect-error a key binding names its command
export const bindingWithoutCommand: Keybinding = { keys: "Ctrl+P" };

export const wrongEnvironment: EnvironmentConfig = {
  ...environment,
  // @ts-expect-error "test" is not an environment
  name: "test",
};

export const wrongPinnedMessage: ConversationContext = {
  ...context,
  // @ts-expect-error "moderator" is not a role
  pinnedMessages: [{ messageId: "m1", role: "moderator", content: "hi", pinnedAt: 0 }],
};

export const wrongLogLevel: AppConfig = {
  ...config,
  // @ts-expect-error "verbose" is not a log level
  logLevel: "verbose",
};

export const wrongFlag: AppConfig = {
  ...config,
  // @ts-expect-error feature flags are booleans
  featureFlags: { newGrid: "yes" },
};

export const oldOptionName: SaveOptions = {
  // @ts-expect-error the wire name is `compression`
  compress: true,
};

// @ts-expect-error a save carries its data
export const saveWithoutData: BatchOperation = { type: "save", key: "layout.default" };

export const deleteWithData: BatchOperation = {
  type: "delete",
  key: "layout.old",
  // @ts-expect-error a delete carries no data
  data: {},
};

// @ts-expect-error "rename" is not a batch operation
export const unknownOperation: BatchOperation = { type: "rename", key: "layout.old" };

export const wrongBackupKind: BackupInfo = {
  ...backups[0]!,
  // @ts-expect-error "weekly" is not a backup kind
  kind: "weekly",
};

export const nullBackupName: BackupInfo = {
  ...backups[0]!,
  // @ts-expect-error a backup without a name has name "", not null
  name: null,
};

export async function wrongApiUse(api: StatePersistenceAPI): Promise<void> {
  // @ts-expect-error createBackup resolves to the backup id, a string
  const id: number = await api.createBackup();
  // @ts-expect-error save takes options, not a boolean
  await api.save("layout.default", layout, true);
  void id;
}
