//! What the command line says beside results: warnings on stderr, and
//! errors in its own words (the library names an experiment's arguments in
//! words; here they are named by their flags).

use agora::{Argument, ErrorKind};

/// The flag that gives `argument` on the command line.
fn flag(argument: Argument) -> &'static str {
    match argument {
        Argument::Axis => "--set",
        Argument::Zip => "--zip",
        Argument::Shard => "--shard",
        Argument::Range => "--param",
        _ => "an argument",
    }
}

/// The one line printed for an error: an experiment's argument named by
/// its flag (`--set assets.TOKEN.pricing.m: "x" is not a finite number`),
/// anything else as the error says it.
pub fn error_line(e: &anyhow::Error) -> String {
    match e.downcast_ref::<agora::Error>().map(agora::Error::kind) {
        Some(ErrorKind::Argument { argument, message }) => {
            format!("{} {message}", flag(*argument))
        }
        _ => e.to_string(),
    }
}

/// Prints `warning: MESSAGE` on stderr, unless `quiet`.
pub fn warn(quiet: bool, message: &str) {
    if !quiet {
        eprintln!("warning: {message}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_experiments_argument_is_named_by_its_flag() {
        let e = anyhow::Error::new(agora::Error::argument(
            Argument::Shard,
            "takes i/n with 1 <= i <= n, found 0/3",
        ));
        assert_eq!(
            error_line(&e),
            "--shard takes i/n with 1 <= i <= n, found 0/3"
        );
        let e = anyhow::Error::new(agora::Error::usage("plain"));
        assert_eq!(error_line(&e), "plain");
    }
}
