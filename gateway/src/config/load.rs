//! Reading the config file: bounded read, TOML parse, validation, each
//! failure reported with the line and column it concerns.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use ehrgate_templates::fault::{Classified, Fault};

use super::model::Config;
use super::validate::validate;

/// Config files larger than this are refused before parsing.
pub const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// A position in the config file, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Line number.
    pub line: usize,
    /// Column (in characters).
    pub column: usize,
}

impl Location {
    /// The location of a byte offset in `source`.
    pub fn of(source: &str, offset: usize) -> Location {
        let offset = offset.min(source.len());
        let before = source.get(..offset).unwrap_or(source);
        let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        Location { line, column }
    }

    /// The location of the start of a span.
    pub fn of_span(source: &str, span: &Range<usize>) -> Location {
        Location::of(source, span.start)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// One problem found in a config file.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigIssue {
    /// Where, when known.
    pub at: Option<Location>,
    /// What is wrong and, where it helps, how to fix it.
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            Some(at) => write!(f, "{at}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_CONFIG_BYTES`].
    #[error("{path} is larger than {MAX_CONFIG_BYTES} bytes")]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The file is not valid TOML or does not have the expected shape.
    #[error("{path}: {issue}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parse error with its location.
        issue: ConfigIssue,
    },
    /// The file parsed but breaks rules (unknown names, bad weights ...).
    #[error("{path}: {} problem(s):\n{}", issues.len(), list(issues))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Every problem found, in file order.
        issues: Vec<ConfigIssue>,
    },
}

fn list(issues: &[ConfigIssue]) -> String {
    issues
        .iter()
        .map(|i| format!("  {i}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Classified for ConfigError {
    fn fault(&self) -> Fault {
        Fault::Internal
    }
    fn code(&self) -> &'static str {
        match self {
            ConfigError::Io { .. } => "config.io",
            ConfigError::TooLarge { .. } => "config.too-large",
            ConfigError::Syntax { .. } => "config.syntax",
            ConfigError::Invalid { .. } => "config.invalid",
        }
    }
}

/// A parsed and validated config with what it refers to.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The config itself.
    pub config: Config,
    /// The file it came from (relative paths inside resolve against its folder).
    pub path: PathBuf,
    /// The feature flags it names (empty without a `[flags]` section).
    pub flags: crate::routing::flags::FlagSet,
    /// The JWT verifier, when the `jwt` tenant source is configured.
    pub jwks: Option<crate::routing::jwt::Jwks>,
}

impl LoadedConfig {
    /// Resolves a path from the config against the config file's folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        resolve_against(&self.path, p)
    }
}

fn resolve_against(config_path: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        return p.to_path_buf();
    }
    config_path
        .parent()
        .map_or_else(|| p.to_path_buf(), |dir| dir.join(p))
}

/// Reads, parses and validates a config file.
pub fn load(path: &Path) -> Result<LoadedConfig, ConfigError> {
    let io = |source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    let source = std::fs::read_to_string(path).map_err(io)?;
    load_str(&source, path)
}

/// Parses and validates config text; `path` locates relative files.
pub fn load_str(source: &str, path: &Path) -> Result<LoadedConfig, ConfigError> {
    let config: Config = toml::from_str(source).map_err(|e| ConfigError::Syntax {
        path: path.to_path_buf(),
        issue: ConfigIssue {
            at: e.span().map(|s| Location::of_span(source, &s)),
            message: e.message().trim().to_string(),
        },
    })?;
    let mut issues = Vec::new();
    let flags = match &config.flags {
        Some(f) => {
            let file = resolve_against(path, &f.file);
            match crate::routing::flags::FlagSet::load(&file) {
                Ok(set) => set,
                Err(e) => {
                    issues.push(ConfigIssue {
                        at: None,
                        message: format!("flags: {e}"),
                    });
                    crate::routing::flags::FlagSet::default()
                }
            }
        }
        None => crate::routing::flags::FlagSet::default(),
    };
    let jwks = match &config.tenancy.jwt {
        Some(j) => {
            let file = resolve_against(path, &j.jwks);
            match crate::routing::jwt::Jwks::load(&file) {
                Ok(set) => Some(set),
                Err(e) => {
                    issues.push(ConfigIssue {
                        at: None,
                        message: format!("tenancy.jwt: {e}"),
                    });
                    None
                }
            }
        }
        None => None,
    };
    issues.extend(validate(&config, source, &flags));
    issues.extend(super::validate_openehr::check_secrets(&config, &|p| {
        resolve_against(path, p)
    }));
    if !issues.is_empty() {
        return Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            issues,
        });
    }
    Ok(LoadedConfig {
        config,
        path: path.to_path_buf(),
        flags,
        jwks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_lines_and_columns() {
        let src = "a = 1\nbb = 2\n";
        assert_eq!(Location::of(src, 0), Location { line: 1, column: 1 });
        assert_eq!(Location::of(src, 6), Location { line: 2, column: 1 });
        assert_eq!(Location::of(src, 9), Location { line: 2, column: 4 });
    }

    #[test]
    fn syntax_error_has_line() {
        let src = "[[listener]]\nbind = \"127.0.0.1:1\"\n\n[[backend]]\nname = \"x\"\nwieght = 3\n";
        let err = load_str(src, Path::new("t.toml")).unwrap_err();
        let ConfigError::Syntax { issue, .. } = err else {
            panic!("expected syntax error, got {err}")
        };
        assert_eq!(issue.at.map(|l| l.line), Some(6), "{issue}");
        assert!(issue.message.contains("wieght"), "{issue}");
    }
}
