//! `ehrgate template`: inspect operational templates offline, the way the
//! gateway will read them (same parser, same limits, same duplicate policy).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use ehrgate_templates::store::{DirSource, DuplicatePolicy};
use ehrgate_templates::webtemplate::{flat_paths, to_json};
use ehrgate_templates::{parse_opt, TemplateMeta};

use super::exit;

/// What to do with templates.
#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Print id, uid, concept, languages and node count of an OPT file.
    Inspect {
        /// The `.opt` file.
        file: PathBuf,
    },
    /// Print the web template JSON derived from an OPT file.
    WebTemplate {
        /// The `.opt` file.
        file: PathBuf,
    },
    /// Print every FLAT path of an OPT file with its AQL path.
    FlatPaths {
        /// The `.opt` file.
        file: PathBuf,
    },
    /// Index a template directory as the gateway would; non-zero exit on a
    /// broken file or a duplicate id, naming the files.
    Check {
        /// The directory of `.opt` files.
        dir: PathBuf,
        /// Keep the newest file when two declare one id (default: refuse).
        #[arg(long)]
        newest_wins: bool,
    },
}

/// Runs a template subcommand; output goes to stdout.
pub fn run(command: TemplateCommand) -> anyhow::Result<u8> {
    let mut out = String::new();
    let code = match command {
        TemplateCommand::Inspect { file } => {
            let meta = load(&file)?;
            writeln!(out, "template_id\t{}", meta.template_id)?;
            writeln!(out, "uid\t{}", meta.uid.as_deref().unwrap_or(""))?;
            writeln!(out, "concept\t{}", meta.concept)?;
            writeln!(out, "languages\t{}", meta.languages.join(","))?;
            writeln!(out, "nodes\t{}", meta.node_count)?;
            exit::OK
        }
        TemplateCommand::WebTemplate { file } => {
            let meta = load(&file)?;
            let json = serde_json::to_string_pretty(&to_json(&meta.web_template()))?;
            writeln!(out, "{json}")?;
            exit::OK
        }
        TemplateCommand::FlatPaths { file } => {
            let meta = load(&file)?;
            for path in flat_paths(&meta.web_template()) {
                writeln!(out, "{}\t{}\t{}", path.flat, path.rm_type, path.aql_path)?;
            }
            exit::OK
        }
        TemplateCommand::Check { dir, newest_wins } => {
            let policy = if newest_wins {
                DuplicatePolicy::NewestWins
            } else {
                DuplicatePolicy::Reject
            };
            match DirSource::open(&dir, policy) {
                Ok(source) => {
                    writeln!(out, "{} templates in {}", source.len(), dir.display())?;
                    exit::OK
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    exit::FAILED
                }
            }
        }
    };
    emit(&out)?;
    Ok(code)
}

/// Writes to stdout; a reader that went away (`| head`) is not an error.
fn emit(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn load(file: &Path) -> anyhow::Result<TemplateMeta> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    parse_opt(&bytes).with_context(|| format!("{} is not a valid OPT", file.display()))
}
