//! Integration tests of statevault-core, one binary.

mod all {
    mod batch;
    mod child;
    mod diskfull;
    mod faults;
    mod keys;
    mod kill;
    mod store;
    mod sweeps;
}
