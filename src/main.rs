//! The `onelead` binary: everything lives in the library; this only maps the result to an exit code.

use std::process::ExitCode;

// glibc malloc spent a third of a re-evaluation in `_int_malloc` and `malloc_consolidate`
// (many small strings freed across threads); mimalloc does not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    onelead::run(std::env::args_os())
}
