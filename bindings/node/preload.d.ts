import type { StatePersistenceAPI } from './statevault';

/** The part of Electron's `ipcRenderer` that rendererApi uses. */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<any>;
  sendSync(channel: string, ...args: unknown[]): any;
  on(channel: string, listener: (event: unknown, ...args: any[]) => void): unknown;
}

/** The renderer's store: the specification's API plus change events from the main process. */
export interface RendererStore extends StatePersistenceAPI {
  onDidChange<T = unknown>(key: string, callback: (newValue: T | undefined, oldValue: T | undefined) => void): () => void;
  onDidAnyChange(callback: (key: string, newValue: unknown, oldValue: unknown) => void): () => void;
}

export declare function rendererApi(ipcRenderer: IpcRendererLike): RendererStore;
