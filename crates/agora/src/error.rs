//! The one error type of the library.
//!
//! Every error names what the user has to look at: the scenario file and the
//! field path for bad input, the file for I/O, the step and the quantity for
//! a broken invariant. `Display` gives one line, suitable for a command line.

use std::fmt;
use std::path::PathBuf;

/// What [`ErrorKind::Io`] says when a scenario file cannot be read.
pub(crate) const READING_SCENARIO: &str = "reading the scenario";

/// What [`ErrorKind::Io`] says when a checkpoint file cannot be read.
pub(crate) const READING_CHECKPOINT: &str = "reading the checkpoint";

/// What [`ErrorKind::Io`] says when an output cannot be written.
const WRITING: &str = "writing";

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error from Agora. The details are in [`ErrorKind`], behind a box so that
/// `Result<T>` stays one word larger than `T`.
#[derive(Debug)]
pub struct Error(Box<ErrorKind>);

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A scenario is invalid: `origin` is the file (or a label for text that
    /// came from elsewhere), `path` the dotted field path, `message` what was
    /// found and what is expected.
    Scenario {
        /// The file the scenario came from, or a label such as `<example token-economy>`.
        origin: String,
        /// The dotted path of the offending field, e.g. `assets.TOKEN.pricing.m`.
        path: String,
        /// What was found and what is expected.
        message: String,
    },
    /// The scenario text is not TOML.
    Syntax {
        /// The file the scenario came from.
        origin: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A file or directory could not be read or written.
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What was being done, e.g. "reading the scenario".
        action: &'static str,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// An invariant of the engine failed: a bug, reported instead of written
    /// into results.
    Invariant {
        /// The step after which the check failed.
        step: u64,
        /// What was checked and the values found.
        message: String,
    },
    /// A request to the library that does not fit the simulation, e.g. an
    /// unknown group name when installing a policy.
    Usage(String),
    /// An experiment's argument is malformed or does not fit (a sweep axis,
    /// a shard, a parameter range). A front end names the argument its own
    /// way (a command line adds its flag); `Display` names it in words.
    Argument {
        /// Which argument.
        argument: Argument,
        /// What was found and what is expected, e.g. `assets.TOKEN.pricing.m:
        /// "x" is not a number`.
        message: String,
    },
}

/// The arguments of an experiment that [`ErrorKind::Argument`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Argument {
    /// A sweep axis, `PATH=v1,v2,...` ([`crate::experiment::sweep::parse_axis`]).
    Axis,
    /// The element-by-element pairing of sweep axes ([`crate::experiment::sweep::Grid::zip`]).
    Zip,
    /// A part `i` of `n` of a sweep's grid ([`crate::experiment::sweep::Grid::shard`]).
    Shard,
    /// A parameter range to optimise over, `PATH=lo..hi`
    /// ([`crate::experiment::optimize::ParamRange`]).
    Range,
}

impl Argument {
    /// The argument in words, as [`Error`]'s `Display` names it.
    pub fn describe(self) -> &'static str {
        match self {
            Argument::Axis => "sweep axis",
            Argument::Zip => "pairing of sweep axes",
            Argument::Shard => "sweep shard",
            Argument::Range => "parameter range",
        }
    }
}

impl Error {
    /// Returns the kind of this error.
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    /// Builds a scenario error for `origin`, at field `path`.
    pub fn scenario(
        origin: impl Into<String>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ErrorKind::Scenario {
            origin: origin.into(),
            path: path.into(),
            message: message.into(),
        }
        .into()
    }

    /// Builds an I/O error naming the file and what was being done.
    pub fn io(path: impl Into<PathBuf>, action: &'static str, source: std::io::Error) -> Self {
        ErrorKind::Io {
            path: path.into(),
            action,
            source,
        }
        .into()
    }

    /// Builds an I/O error for writing `file` (a table, a JSON or TOML
    /// document): the writer's or serialiser's error as the source.
    pub fn writing(file: impl Into<PathBuf>, source: impl Into<std::io::Error>) -> Self {
        Self::io(file, WRITING, source.into())
    }

    /// Builds an invariant error for `step`.
    pub fn invariant(step: u64, message: impl Into<String>) -> Self {
        ErrorKind::Invariant {
            step,
            message: message.into(),
        }
        .into()
    }

    /// Builds a usage error.
    pub fn usage(message: impl Into<String>) -> Self {
        ErrorKind::Usage(message.into()).into()
    }

    /// Builds an error about an experiment's `argument`.
    pub fn argument(argument: Argument, message: impl Into<String>) -> Self {
        ErrorKind::Argument {
            argument,
            message: message.into(),
        }
        .into()
    }

    /// True if the error is about the user's input (a scenario's syntax or
    /// content) rather than the machine or the engine.
    pub fn is_input_error(&self) -> bool {
        match &*self.0 {
            ErrorKind::Scenario { .. }
            | ErrorKind::Syntax { .. }
            | ErrorKind::Usage(_)
            | ErrorKind::Argument { .. } => true,
            // A scenario or checkpoint file that cannot be read is the
            // user's input too.
            ErrorKind::Io { action, .. } => [READING_SCENARIO, READING_CHECKPOINT].contains(action),
            ErrorKind::Invariant { .. } => false,
        }
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error(Box::new(kind))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            ErrorKind::Scenario {
                origin,
                path,
                message,
            } => {
                if path.is_empty() {
                    write!(f, "{origin}: {message}")
                } else {
                    write!(f, "{origin}: {path}: {message}")
                }
            }
            ErrorKind::Syntax { origin, message } => {
                // toml's messages span several lines; keep ours to one, and
                // escape what the quoted source line may hold raw (ESC, NUL).
                let one_line: String = message
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .chars()
                    .map(|c| {
                        if c.is_control() {
                            c.escape_default().to_string()
                        } else {
                            c.to_string()
                        }
                    })
                    .collect();
                write!(f, "{origin}: not valid TOML: {one_line}")
            }
            ErrorKind::Io {
                path,
                action,
                source,
            } => write!(f, "{}: {action}: {source}", path.display()),
            ErrorKind::Invariant { step, message } => {
                write!(f, "invariant violated after step {step}: {message}")
            }
            ErrorKind::Usage(message) => f.write_str(message),
            ErrorKind::Argument { argument, message } => {
                write!(f, "{} {message}", argument.describe())
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.0 {
            ErrorKind::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
