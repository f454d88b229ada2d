//! `portagent`: the CLI and daemon entry point.
fn main() -> std::process::ExitCode {
    portagent::cli::main()
}
