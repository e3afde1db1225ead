// The renderer: uses window.statevault (the StatePersistenceAPI) exactly as the main process would.
'use strict';

const defaults = {
  version: '1.0.0',
  theme: 'auto',
  language: navigator.language,
  keyBindings: {},
  ui: { sidebarCollapsed: false, gridDensity: 'normal', showGridLines: true },
  privacy: { telemetryEnabled: false, crashReportingEnabled: false },
};
const log = (line) => (document.getElementById('log').textContent += `${line}\n`);

async function main() {
  const api = window.statevault;
  const preferences = (await api.load('settings.preferences')) ?? defaults;
  const select = document.getElementById('theme');
  select.value = preferences.theme;
  select.addEventListener('change', async () => {
    try {
      await api.save('settings.preferences', { ...preferences, theme: select.value });
    } catch (error) {
      log(`${error.code}: ${error.message}`);
    }
  });
  api.onDidChange('settings.preferences', (next) => log(`preferences changed: theme ${next?.theme}`));
  document.getElementById('backup').addEventListener('click', async () => {
    const id = await api.createBackup('from the renderer');
    const list = await api.listBackups();
    document.getElementById('backups').textContent = `${list.length} backups, newest ${id}`;
  });
  // Outside the allow list: refused with E_FORBIDDEN.
  await api.load('config.app').catch((error) => log(`config.app: ${error.code}`));
}

main();
