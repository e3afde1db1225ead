//! The manual pages, generated from the same definitions as `--help` (clap_mangen).

use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, Result};
use clap::CommandFactory;

use crate::Cli;

/// Prints `statevault.1`, or writes it and one page per command (`statevault-backup-create.1`)
/// into `out`.
pub(crate) fn write(out: Option<&Path>) -> Result<()> {
    let command = Cli::command();
    let Some(out) = out else {
        // Into a buffer first, so a closed pipe is an error value rather than a panic.
        let mut page = Vec::new();
        clap_mangen::Man::new(command).render(&mut page)?;
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(&page)?;
        stdout.flush()?;
        return Ok(());
    };
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    clap_mangen::generate_to(command, out)
        .with_context(|| format!("writing the manual pages into {}", out.display()))?;
    Ok(())
}
