//! The `chatevict` binary: the library's command line, and the one piece
//! that needs `unsafe` (the library forbids it): putting the terminal back
//! when the process aborts.

mod abort_guard;

fn main() -> std::process::ExitCode {
    abort_guard::install();
    chatevict::cli::main()
}
