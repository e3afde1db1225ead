// ESM entry: the CommonJS module re-exported (one addon instance either way).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const statevault = require('./index.js');

export const { open, openSync, Store, validateData, codes } = statevault;
export default statevault;
