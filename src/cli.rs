//! The command line: serve, db upgrade/populate, eval.
use clap::{Args, Parser, Subcommand};
use std::process::ExitCode;

use crate::config::{Overrides, Settings};

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

/// Settings flags shared by `serve` and `db`.
#[derive(Args, Debug, Clone, Default)]
struct SettingsArgs {
    /// An oslo-style mistral.conf.
    #[arg(long = "config-file", value_name = "FILE")]
    config_file: Option<std::path::PathBuf>,
    /// Address the API listens on ([api] host).
    #[arg(long)]
    host: Option<String>,
    /// Port of the API ([api] port).
    #[arg(long)]
    port: Option<String>,
    /// SQLAlchemy-style database URL ([database] connection).
    #[arg(long = "database-url", value_name = "URL")]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the v2 API (migrates the database first).
    Serve(SettingsArgs),
    /// Database maintenance.
    Db {
        #[command(subcommand)]
        action: DbCommand,
    },
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

#[derive(Subcommand)]
enum DbCommand {
    /// Apply pending migrations.
    Upgrade(SettingsArgs),
    /// Migrate, then register the preinstalled definitions.
    Populate(SettingsArgs),
}

fn settings(a: &SettingsArgs) -> Result<Settings, ExitCode> {
    let o = Overrides {
        config_file: a.config_file.clone(),
        host: a.host.clone(),
        port: a.port.clone(),
        database_url: a.database_url.clone(),
    };
    Settings::load(&o).map_err(|e| {
        eprintln!("mistral-rs: {e}");
        ExitCode::from(2)
    })
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MISTRAL_RS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn open(s: &Settings) -> Result<crate::db::Db, ExitCode> {
    crate::server::open_database(s).map_err(|e| {
        eprintln!("mistral-rs: {e}");
        ExitCode::from(1)
    })
}

fn serve(a: SettingsArgs) -> ExitCode {
    let s = match settings(&a) {
        Ok(s) => s,
        Err(c) => return c,
    };
    if let Err(e) = crate::executor::python::PythonConfig::from_settings(&s) {
        eprintln!("mistral-rs: {e}");
        return ExitCode::from(2);
    }
    let db = match open(&s) {
        Ok(d) => d,
        Err(c) => return c,
    };
    if let Err(e) = crate::server::populate(&db) {
        eprintln!("mistral-rs: {e}");
        return ExitCode::from(1);
    }
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mistral-rs: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = rt.block_on(async move {
        let bind = s.bind_address();
        let db_url = s.database.connection.to_string();
        match crate::server::start(s, db).await {
            Ok(running) => {
                tracing::info!("mistral-rs API listening on http://{} (database {db_url})", running.addr);
                tokio::select! {
                    r = running.handle => match r {
                        Ok(Ok(())) => ExitCode::SUCCESS,
                        Ok(Err(e)) => { eprintln!("mistral-rs: server error: {e}"); ExitCode::from(1) }
                        Err(e) => { eprintln!("mistral-rs: server task failed: {e}"); ExitCode::from(1) }
                    },
                    _ = shutdown_signal() => {
                        tracing::info!("mistral-rs API shutting down");
                        ExitCode::SUCCESS
                    }
                }
            }
            Err(e) => {
                eprintln!("mistral-rs: cannot listen on {bind}: {e}");
                ExitCode::from(1)
            }
        }
    });
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    code
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match cli.command {
        Command::Serve(a) => serve(a),
        Command::Db {
            action: DbCommand::Upgrade(a),
        } => {
            let s = match settings(&a) {
                Ok(s) => s,
                Err(c) => return c,
            };
            match open(&s) {
                Ok(_) => {
                    println!("database {} is up to date", s.database.connection);
                    ExitCode::SUCCESS
                }
                Err(c) => c,
            }
        }
        Command::Db {
            action: DbCommand::Populate(a),
        } => {
            let s = match settings(&a) {
                Ok(s) => s,
                Err(c) => return c,
            };
            let db = match open(&s) {
                Ok(d) => d,
                Err(c) => return c,
            };
            match crate::server::populate(&db) {
                Ok(n) => {
                    println!("registered {n} preinstalled definition(s)");
                    // Python actions are not stored (upstream neither): report what start-up
                    // will discover, with every entry point that fails to load.
                    let report = match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(rt) => rt.block_on(crate::server::discover_python_actions(&s)),
                        Err(e) => {
                            eprintln!("mistral-rs: cannot start the runtime: {e}");
                            return ExitCode::from(1);
                        }
                    };
                    match &report.unavailable {
                        Some(why) => println!("{why}"),
                        None => println!(
                            "discovered {} Python action(s), {} entry point error(s)",
                            report.actions,
                            report.errors.len()
                        ),
                    }
                    for e in &report.errors {
                        println!("  {e}");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("mistral-rs: {e}");
                    ExitCode::from(1)
                }
            }
        }
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
