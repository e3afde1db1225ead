import type { Store } from './index';

/** The part of Electron's `ipcMain` that exposeStore uses. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: { sender: WebContentsLike }, ...args: any[]) => unknown): void;
  removeHandler(channel: string): void;
  on(channel: string, listener: (event: { returnValue: unknown }, ...args: any[]) => void): unknown;
  removeListener(channel: string, listener: (...args: any[]) => void): unknown;
}

/** The part of Electron's `WebContents` that change events use. */
export interface WebContentsLike {
  send(channel: string, ...args: unknown[]): void;
  isDestroyed?(): boolean;
  once?(event: 'destroyed', listener: () => void): unknown;
}

export interface ExposeOptions {
  /** Key patterns renderers may use: exact keys, `prefix.*`, or `*`. */
  allow: string[];
  /** Whether renderers may create, list and restore backups (default false). */
  backups?: boolean;
}

/** Registers one IPC channel per method; returns a function that removes them. */
export declare function exposeStore(ipcMain: IpcMainLike, store: Store, options: ExposeOptions): () => void;
/** Whether `key` matches one of `patterns`. */
export declare function allowed(patterns: string[], key: unknown): boolean;
export declare const CHANNEL_PREFIX: string;
