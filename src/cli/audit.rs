//! `frontdoor audit`: verify, checkpoint and export the audit trail as the local operator.
use std::path::PathBuf;

use clap::Subcommand;

use super::{describe, start};
use crate::config::Config;
use crate::domain::audit::trail::{self as audit_trail, ExportedCheckpoint};
use crate::domain::audit::verify as audit_verify;
use crate::domain::RequestCtx;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check every chain, every stored checkpoint and optionally an exported one; exits 1
    /// and prints the first failure if anything does not check out.
    Verify {
        /// A checkpoint saved earlier with `export-checkpoint`: also proves that nothing up to
        /// it was removed.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
    },
    /// Sign a checkpoint of every chain's head now.
    Checkpoint,
    /// Print the newest checkpoint as JSON, to keep outside the database.
    ExportCheckpoint,
}

pub async fn run(audit: AuditCommand, config: &Config, ctx: &RequestCtx) -> Result<(), String> {
    let core = start(config.clone()).await?;
    match audit {
        AuditCommand::Verify { checkpoint } => {
            let exported = match checkpoint {
                Some(path) => Some(
                    std::fs::read_to_string(&path)
                        .map_err(|e| format!("cannot read checkpoint {}: {e}", path.display()))?,
                ),
                None => None,
            };
            let result = audit_verify::verify(&core, ctx, exported.as_deref())
                .await
                .map_err(describe)?;
            match result.first_failure {
                None => {
                    println!(
                        "audit trail verified: {} entries, {} checkpoints",
                        result.checked_entries, result.checked_checkpoints
                    );
                    Ok(())
                }
                Some(failure) => Err(format!(
                    "audit trail verification FAILED at the first bad entry: {} ({} entries checked before it)",
                    failure.describe(),
                    result.checked_entries
                )),
            }
        }
        AuditCommand::Checkpoint => {
            let checkpoint = audit_trail::create_checkpoint(&core, ctx)
                .await
                .map_err(describe)?;
            println!("{}", ExportedCheckpoint::from_model(&checkpoint).to_json());
            Ok(())
        }
        AuditCommand::ExportCheckpoint => {
            match audit_trail::export_latest_checkpoint(&core, ctx)
                .await
                .map_err(describe)?
            {
                Some(exported) => {
                    println!("{}", exported.to_json());
                    Ok(())
                }
                None => Err("no checkpoint yet: sign one with `frontdoor audit checkpoint`".into()),
            }
        }
    }
}
