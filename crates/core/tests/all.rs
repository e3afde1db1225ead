//! Integration tests of statevault-core, one binary.

mod all {
    mod adversarial;
    mod amend;
    mod batch;
    mod child;
    mod diskfull;
    mod faults;
    mod identity;
    mod keys;
    mod kill;
    mod mixed;
    mod readers;
    mod store;
    mod sweeps;
}
