//! The command line: serve, db upgrade/populate, eval.
use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mistral-rs",
    version,
    about = "A drop-in Rust Mistral workflow service"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate a YAQL (<% %>) or Jinja2 ({{ }}) expression against a JSON context.
    Eval {
        expression: String,
        #[arg(long)]
        context: Option<std::path::PathBuf>,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Eval { .. } => ExitCode::from(1),
    }
}
