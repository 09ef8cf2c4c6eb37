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
    #[command(after_help = crate::expr::cli::CONTEXT_HELP)]
    Eval {
        /// The string to evaluate (may mix text and expressions, as in a workflow).
        #[arg(required_unless_present = "batch")]
        expression: Option<String>,
        /// JSON file with the data context.
        #[arg(long)]
        context: Option<std::path::PathBuf>,
        /// Evaluate a batch file (JSON lines {"id", "expr", "context"}; "-" = stdin).
        #[arg(long, requires = "lang")]
        batch: Option<std::path::PathBuf>,
        /// Language of the batch expressions: yaql or jinja.
        #[arg(long)]
        lang: Option<String>,
        /// Evaluate the batch N times (output is printed once).
        #[arg(long, default_value_t = 1)]
        repeat: usize,
        /// Print timing of the batch to stderr.
        #[arg(long)]
        time: bool,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Eval {
            expression,
            context,
            batch,
            lang,
            repeat,
            time,
        } => match batch {
            Some(file) => {
                crate::expr::cli::run_batch(&file, lang.as_deref().unwrap_or(""), repeat, time)
            }
            None => {
                crate::expr::cli::run_eval(expression.as_deref().unwrap_or(""), context.as_deref())
            }
        },
    }
}
