//! Acceptance tests of the `statevault` facade, one binary: every layer composed through
//! `Store`, on real files, real processes and (as root) a real full disk.

mod all {
    mod common;

    mod auto_repair;
    mod backups;

    mod corrupt;
    mod crash;
    mod disk_full;
    mod encryption;
    mod legacy;
    mod lock;
    mod migrations;
    mod patches;
    mod permissions;
    mod roundtrip;
    mod validation;
}
