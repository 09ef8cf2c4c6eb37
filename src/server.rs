//! Server bootstrap: open the database, migrate, register the preinstalled definitions, start
//! the engine dispatcher and the periodic scheduler, and serve the v2 API.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::api::{self, AppState};
use crate::config::Settings;
use crate::db::{definitions, Caller, Db, DbError, DEFAULT_PROJECT};

/// Opens the configured database and applies pending migrations.
pub fn open_database(settings: &Settings) -> Result<Db, DbError> {
    let db = Db::connect(
        &settings.database.connection,
        settings.database.max_pool_size,
    )?;
    let applied = db.run_migrations()?;
    for m in applied {
        tracing::info!("applied migration {m}");
    }
    Ok(db)
}

/// `db populate`: registers upstream's preinstalled public ad-hoc actions (`std.wait_ssh`).
pub fn populate(db: &Db) -> Result<usize, DbError> {
    crate::expr::install_upload_syntax_checker();
    let actions = api::builtin_actions::preinstalled_adhoc_actions();
    let system = Caller {
        project_id: DEFAULT_PROJECT.to_string(),
        is_admin: true,
    };
    db.write_blocking(|conn| {
        let mut n = 0;
        for a in &actions {
            let existing = definitions::find_action(conn, None, &a.name, "")?;
            if existing
                .as_ref()
                .is_some_and(|e| e.definition == a.definition)
            {
                continue;
            }
            definitions::create_or_update_action(conn, &system, a, "public", "")?;
            n += 1;
        }
        Ok(n)
    })
}

/// Finds the Python actions of the configured environment (logged; never fatal).
pub async fn discover_python_actions(settings: &Settings) -> crate::executor::python::Report {
    match crate::executor::python::PythonConfig::from_settings(settings) {
        Ok(cfg) => crate::executor::python::init(&cfg).await,
        Err(e) => {
            tracing::error!("{e}");
            crate::executor::python::Report {
                unavailable: Some(e),
                ..Default::default()
            }
        }
    }
}

/// A started server.
pub struct Running {
    pub addr: SocketAddr,
    pub handle: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Binds and serves in the background (used by `serve` and by integration tests).
pub async fn start(settings: Settings, db: Db) -> std::io::Result<Running> {
    crate::expr::install_upload_syntax_checker();
    crate::executor::configure(&settings);
    let listener = tokio::net::TcpListener::bind(settings.bind_address()).await?;
    let addr = listener.local_addr()?;
    // Python actions are known before the dispatcher hands out the first action.
    discover_python_actions(&settings).await;
    let engine = crate::engine::shell::Shell::new(db.clone());
    engine.spawn_dispatcher();
    crate::scheduler::spawn(&settings, &engine);
    let app = api::app(AppState {
        engine,
        db,
        settings: Arc::new(settings),
    });
    let handle = tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Running { addr, handle })
}
