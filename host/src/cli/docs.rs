//! Man pages and shell completions, generated from the clap definitions
//! (`portagent man`, `portagent completions`); the copies the package
//! installs are kept in `dist/` and a test checks they are current.

use super::Failure;
use clap::CommandFactory;
use std::path::Path;

/// The name the deployment guide uses; `portagent` is the same program.
const NAME: &str = "ovs-port-agent";

/// The shells completions are made for.
#[derive(Clone, Copy, clap::ValueEnum, Debug)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

fn command(name: &'static str) -> clap::Command {
    super::Cli::command().name(name).bin_name(name)
}

/// Prints the completion script of `shell` for the program called `name`.
pub fn completions(shell: Shell, name: &'static str) -> Result<(), Failure> {
    let mut cmd = command(name);
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut script);
    std::io::Write::write_all(&mut std::io::stdout().lock(), &script)?;
    Ok(())
}

/// Writes `ovs-port-agent.1`, one page per subcommand
/// (`ovs-port-agent-plugin-install.1`, ...), and `portagent.1` pointing at
/// the first, into `dir`.
pub fn man(dir: &Path) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure { code: 1, error: anyhow::anyhow!("{}: {e}", dir.display()) };
    std::fs::create_dir_all(dir).map_err(fail)?;
    write_pages(&command(NAME), NAME, dir).map_err(fail)?;
    std::fs::write(dir.join("portagent.1"), format!(".so man1/{NAME}.1\n")).map_err(fail)?;
    println!("man pages written to {}", dir.display());
    Ok(())
}

fn write_pages(cmd: &clap::Command, title: &str, dir: &Path) -> std::io::Result<()> {
    let cmd = cmd.clone().name(title.to_string());
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
    std::fs::write(dir.join(format!("{title}.1")), page)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
        write_pages(sub, &format!("{title}-{}", sub.get_name()), dir)?;
    }
    Ok(())
}
