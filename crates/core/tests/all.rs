//! Integration tests of statevault-core, one binary.

mod all {
    mod child;
    mod faults;
    mod keys;
    mod store;
}
