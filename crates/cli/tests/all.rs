//! Acceptance tests of the `statevault` command line, one binary: the real executable, run as a
//! support engineer would run it.

mod all {
    mod common;

    mod backup;

    mod commands;
    mod exit_codes;
    mod input;
    mod keys;
    mod logging;
    mod observability;
    mod ops;
    mod patch;
    mod people;
}
