//! The `onelead` binary: everything lives in the library; this only maps the result to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    onelead::run(std::env::args_os())
}
