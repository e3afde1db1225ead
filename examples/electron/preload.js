// The preload: gives the renderer `window.statevault`, the StatePersistenceAPI over IPC.
'use strict';

const { contextBridge, ipcRenderer } = require('electron');
const { rendererApi } = require('statevault/preload');

contextBridge.exposeInMainWorld('statevault', rendererApi(ipcRenderer));
