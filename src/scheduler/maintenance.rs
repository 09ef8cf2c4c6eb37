//! Maintenance mode (`PUT /maintenance`). Entering it sets `PAUSING`; from then on every
//! server's loop pauses the RUNNING workflow executions and, once no task execution is still
//! RUNNING (actions already under way finish), moves the deployment to `PAUSED`. Because the
//! state lives in the database and every server drives it, a server dying half-way does not
//! leave the deployment stuck in `PAUSING`. Leaving maintenance resumes the paused executions.

use std::time::Duration;

use crate::db::{maintenance, DbError};
use crate::engine::controller::Event;
use crate::engine::shell::Shell;

/// How often `PAUSING` is driven forward.
const EVERY: Duration = Duration::from_secs(1);

pub fn spawn(shell: Shell) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = drive_pausing(&shell).await {
                tracing::warn!("maintenance: {e}");
            }
        }
    })
}

/// Whether new workflows must not be started now (cron and event triggers check this).
pub async fn blocks_starts(shell: &Shell) -> Result<bool, DbError> {
    let status = shell.db().read(maintenance::status).await?;
    Ok(status == maintenance::PAUSING || status == maintenance::PAUSED)
}

/// One step while `PAUSING`: pause what still runs; `PAUSED` once no task runs. Returns the
/// status afterwards.
pub async fn drive_pausing(shell: &Shell) -> Result<String, DbError> {
    let db = shell.db().clone();
    let status = db.read(maintenance::status).await?;
    if status != maintenance::PAUSING {
        return Ok(status);
    }
    let running = db
        .read(|c| maintenance::executions_in_state(c, "RUNNING", false))
        .await?;
    for id in running {
        // Another server may pause it first; a refusal then is expected.
        if let Err(e) = shell.command(&id, Event::Pause).await {
            tracing::debug!("maintenance: pausing execution {id}: {e}");
        } else {
            tracing::info!("maintenance: execution {id} paused");
        }
    }
    db.write(|c| {
        if maintenance::status(c)? == maintenance::PAUSING && !maintenance::any_running_task(c)? {
            maintenance::set_status(c, maintenance::PAUSED, Some(maintenance::PAUSING))?;
        }
        maintenance::status(c)
    })
    .await
}

/// After leaving maintenance: resumes the paused top-level executions (sub-workflows are
/// resumed with their parents).
pub async fn resume_paused(shell: &Shell) -> Result<usize, DbError> {
    let paused = shell
        .db()
        .read(|c| maintenance::executions_in_state(c, "PAUSED", true))
        .await?;
    let mut n = 0;
    for id in paused {
        match shell.command(&id, Event::Resume { env: None }).await {
            Ok(()) => n += 1,
            Err(e) => tracing::warn!("maintenance: resuming execution {id}: {e}"),
        }
    }
    Ok(n)
}
