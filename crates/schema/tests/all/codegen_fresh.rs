//! The committed `schemas/*.schema.json` and `bindings/typescript/statevault.d.ts` are what the
//! code generates now.

use statevault_schema::ensure_generated_files;

use crate::common::workspace_root;

#[test]
fn committed_files_are_fresh() {
    if let Err(e) = ensure_generated_files(&workspace_root()) {
        panic!("{e}");
    }
}
