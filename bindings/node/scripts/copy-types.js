// Copies the generated declarations of the specification's API (bindings/typescript, written by
// `cargo xtask codegen` from the Rust schemas) next to index.d.ts, which imports its types from
// there: the package carries the one generated copy instead of retyping it.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const source = path.join(__dirname, '..', '..', 'typescript', 'statevault.d.ts');
const target = path.join(__dirname, '..', 'statevault.d.ts');
fs.copyFileSync(source, target);
console.log(`copied ${path.relative(process.cwd(), source)} -> ${path.relative(process.cwd(), target)}`);
