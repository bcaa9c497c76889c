//! The report's one error type: every error names the file concerned.

use std::path::{Path, PathBuf};

/// Why a report could not be written. Every variant names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// A file the report needs is not in the results directory.
    #[error("{}: not found ({what})", path.display())]
    Missing {
        /// The missing file.
        path: PathBuf,
        /// What the file is and where it comes from.
        what: &'static str,
    },
    /// An input file is present but cannot be understood.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What was found and what is expected, with the line where known.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("{}: {action}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done, e.g. "reading".
        action: &'static str,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Drawing a plot failed.
    #[error("{}: drawing the plot: {message}", path.display())]
    Plot {
        /// The plot file being drawn.
        path: PathBuf,
        /// The plotting library's message.
        message: String,
    },
}

impl ReportError {
    /// Returns the file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            ReportError::Missing { path, .. }
            | ReportError::Invalid { path, .. }
            | ReportError::Io { path, .. }
            | ReportError::Plot { path, .. } => path,
        }
    }

    /// Returns true when the error is about the input (a missing or
    /// malformed results file) rather than a failure to read or write.
    pub fn is_input_error(&self) -> bool {
        match self {
            ReportError::Missing { .. } | ReportError::Invalid { .. } => true,
            ReportError::Io { source, .. } => source.kind() == std::io::ErrorKind::InvalidData,
            ReportError::Plot { .. } => false,
        }
    }

    pub(crate) fn invalid(path: &Path, message: impl Into<String>) -> Self {
        ReportError::Invalid {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }

    pub(crate) fn io(path: &Path, action: &'static str, source: std::io::Error) -> Self {
        ReportError::Io {
            path: path.to_path_buf(),
            action,
            source,
        }
    }
}
