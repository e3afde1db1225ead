// The main process: opens the store (in the platform's data folder for this app), hands it to
// the renderer over IPC for the keys the renderer may use, and closes it on quit.
'use strict';

const path = require('node:path');
const { app, BrowserWindow, ipcMain } = require('electron');
const statevault = require('statevault');
const { exposeStore } = require('statevault/electron');

let store;

async function createWindow() {
  const config = await store.load('config.app');
  const bounds = config?.window.bounds ?? { width: 1100, height: 750 };
  const win = new BrowserWindow({
    ...bounds,
    webPreferences: {
      preload: path.join(__dirname, 'preload.js'),
      contextIsolation: true,
      sandbox: false, // the preload requires statevault/preload
    },
  });
  // Keep the window's placement in config.app (validated against AppConfig on every save).
  win.on('close', () => {
    const next = {
      version: '1.0.0',
      window: { bounds: win.getNormalBounds(), maximized: win.isMaximized(), fullscreen: win.isFullScreen() },
      paths: config?.paths ?? {},
      featureFlags: config?.featureFlags ?? {},
      logLevel: config?.logLevel ?? 'info',
      updates: config?.updates ?? { channel: 'stable', checkAutomatically: true },
    };
    store.saveSync('config.app', next);
  });
  await win.loadFile(path.join(__dirname, 'index.html'));
}

app.whenReady().then(async () => {
  // `appName` puts the store in ~/.local/share/<name>, ~/Library/Application Support/<name> or
  // %APPDATA%\<name>\data; history.* is encrypted with a key kept in the OS keychain.
  store = await statevault.open({ appName: 'statevault-electron-example' });
  exposeStore(ipcMain, store, { allow: ['layout.*', 'settings.preferences', 'history.conversations'], backups: true });
  await createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
});

app.on('window-all-closed', async () => {
  if (process.platform !== 'darwin') {
    await store?.close();
    app.quit();
  }
});
