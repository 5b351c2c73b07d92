#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    chatevict::cli::main()
}
