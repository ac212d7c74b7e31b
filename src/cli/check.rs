//! `postern check [--repair] [--shard N]`: offline verification of every shard's log and
//! indexes (`postern_storage::check`). Run with the server stopped. Problems are printed one
//! per line with their file and byte range; the exit code is 1 if there are any.
//! `--repair` drops the index checkpoints so the next start rebuilds them from the log.

use super::{CliError, Target};
use clap::Args;
use std::path::Path;

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    target: Target,
    /// Drop index checkpoints: the next start rebuilds every index from the log.
    #[arg(long)]
    repair: bool,
    /// Check only this shard (default: every `shard-N` directory of the data dir).
    #[arg(long)]
    shard: Option<u32>,
}

pub fn run(args: CheckArgs) -> Result<(), CliError> {
    let data_dir = args.target.data_dir()?;
    // Held until the check ends, so the server can't start meanwhile either.
    let _lock =
        crate::runtime::checks::lock_data_dir(&data_dir).map_err(|e| CliError(e.to_string()))?;
    let shards = match args.shard {
        Some(shard) => vec![shard],
        None => shards_in(&data_dir)?,
    };
    if shards.is_empty() {
        return Err(CliError(format!(
            "no shard-N directories under {}",
            data_dir.display()
        )));
    }
    let mut problems = 0;
    for shard in shards {
        if args.repair {
            let repaired = postern_storage::check::repair(&data_dir, shard)
                .map_err(|error| CliError(format!("shard {shard}: {error}")))?;
            for path in &repaired.removed {
                println!("shard {shard}: removed {}", path.display());
            }
            println!("shard {shard}: indexes will be rebuilt from the log at the next start");
            continue;
        }
        let report = postern_storage::check::verify(&data_dir, shard)
            .map_err(|error| CliError(format!("shard {shard}: {error}")))?;
        for note in &report.notes {
            println!("shard {shard}: note: {note}");
        }
        for problem in &report.problems {
            println!("shard {shard}: PROBLEM: {problem}");
        }
        println!(
            "shard {shard}: {} segments, {} records, {} messages, {} checkpoints, {} problems",
            report.segments,
            report.records,
            report.messages,
            report.checkpoints,
            report.problems.len()
        );
        problems += report.problems.len();
    }
    if problems > 0 {
        return Err(CliError(format!("{problems} problems found")));
    }
    Ok(())
}

fn shards_in(data_dir: &Path) -> Result<Vec<u32>, CliError> {
    let entries = std::fs::read_dir(data_dir)
        .map_err(|error| CliError(format!("{}: {error}", data_dir.display())))?;
    let mut shards: Vec<u32> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter_map(|name| name.strip_prefix("shard-")?.parse().ok())
        .collect();
    shards.sort_unstable();
    Ok(shards)
}
