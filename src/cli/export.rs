//! `frontdoor export`: child-level exports for inspection as the local operator (audited,
//! with a reason), written only to a file its owner alone can read.
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Subcommand;

use super::{describe, start};
use crate::config::Config;
use crate::domain::reporting::annex_a;
use crate::domain::RequestCtx;

#[derive(Subcommand)]
pub enum ExportCommand {
    /// An Ofsted ILACS Annex A list as CSV (headings and coded values as Annex A writes them).
    AnnexA {
        /// 1 contacts, 2 early help assessments, 3 referrals, 4 assessments, 5 section 47
        /// enquiries and initial child protection conferences.
        #[arg(long)]
        list: u8,
        /// First day of the period, YYYY-MM-DD (Europe/London date, inclusive).
        #[arg(long)]
        from: chrono::NaiveDate,
        /// Last day of the period, YYYY-MM-DD (Europe/London date, inclusive).
        #[arg(long)]
        to: chrono::NaiveDate,
        /// Why the case data is being exported; recorded in the audit trail.
        #[arg(long)]
        reason: String,
        /// Write the CSV to this file (created readable by its owner only) instead of
        /// standard output. Never through a symbolic link; not over an existing file
        /// without --force.
        #[arg(long)]
        output: Option<PathBuf>,
        /// With --output: replace the file if it exists (still never through a symbolic link).
        #[arg(long, requires = "output")]
        force: bool,
    },
}

pub async fn run(command: ExportCommand, config: &Config, ctx: &RequestCtx) -> Result<(), String> {
    let ExportCommand::AnnexA {
        list,
        from,
        to,
        reason,
        output,
        force,
    } = command;
    if let Some(path) = &output {
        check_output_path(path, force)?;
    }
    let core = start(config.clone()).await?;
    // Audited before a byte is written; a file is only created for an export.
    let export = annex_a::export(&core, ctx, list, from, to, Some(&reason))
        .await
        .map_err(describe)?;
    let csv = export.to_csv();
    match &output {
        Some(path) => {
            private_file(path, force)
                .and_then(|mut file| {
                    file.write_all(csv.as_bytes())?;
                    file.sync_all()
                })
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            println!(
                "Annex A list {list}, {from} to {to}: {} rows written to {}",
                export.rows.len(),
                path.display()
            );
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(csv.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|e| format!("cannot write the export: {e}"))?;
        }
    }
    Ok(())
}

/// Refuses an output path that is a symbolic link, or an existing file unless `force`:
/// checked before the export is audited, and again when the file is opened.
fn check_output_path(path: &Path, force: bool) -> Result<(), String> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(format!(
            "{} is a symbolic link: refusing to write through it",
            path.display()
        )),
        Ok(_) if !force => Err(format!(
            "{} already exists: pass --force to replace it",
            path.display()
        )),
        Ok(meta) if !meta.is_file() => Err(format!("{} is not a regular file", path.display())),
        _ => Ok(()),
    }
}

/// Creates a file only its owner can read (the export holds child-level data), never
/// through a symbolic link; an existing file is replaced only with `force`.
fn private_file(path: &Path, force: bool) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        // O_EXCL: fails on an existing file and on any symbolic link, dangling or not.
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
        let file = options.open(path)?;
        // A file that already existed keeps its mode on open: narrow it too.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(file)
    }
    #[cfg(not(unix))]
    options.open(path)
}
