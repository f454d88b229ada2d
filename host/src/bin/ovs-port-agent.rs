//! `ovs-port-agent`: the deployment guide's name for `portagent`.
fn main() -> std::process::ExitCode {
    portagent::cli::main()
}
