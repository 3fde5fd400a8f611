//! bardo: one binary, three roles (`serve`, `replica`, `replay`) and `promote`.

use bardo::cli::{Cli, Command};
use bardo_actors::Role;
use clap::Parser;
use tracing_subscriber::EnvFilter;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Logs go to stderr: stdout carries command output (`replay --json`).
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    // No subcommand means `serve`, configured from the environment like any other.
    let command = cli.command.or_else(|| Cli::parse_from(["bardo", "serve"]).command);
    match command.expect("`serve` parses") {
        Command::Serve(args) => actix_web::rt::System::new().block_on(bardo::serve::run(args, Role::Api)),
        Command::Replica(args) => {
            actix_web::rt::System::new().block_on(bardo::serve::run(args, Role::Replica))
        }
        Command::Replay(args) => bardo::replay::main(args),
        Command::Promote(args) => bardo::promote::main(args),
    }
}
