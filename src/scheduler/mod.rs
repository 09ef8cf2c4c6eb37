//! Periodic work not tied to one execution: firing cron triggers ([`cron`]), deleting
//! expired executions ([`expiration`]) and driving the maintenance mode ([`maintenance`]). Every server process runs these loops against the
//! shared database; row claims in the database decide which process does a piece of work.

pub mod cron;
pub mod expiration;
pub mod maintenance;

use std::time::Duration;

use crate::config::Settings;
use crate::engine::shell::Shell;

/// Starts the loops the settings enable; returns their tasks.
pub fn spawn(settings: &Settings, shell: &Shell) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = vec![maintenance::spawn(shell.clone())];
    if settings.cron_trigger.enabled {
        let every = Duration::from_secs(settings.cron_trigger.execution_interval);
        tasks.push(cron::spawn(shell.clone(), every));
    } else {
        tracing::info!("cron triggers are disabled ([cron_trigger] enabled = false)");
    }
    if settings.expiration_policy.enabled() {
        tasks.push(expiration::spawn(
            shell.db().clone(),
            settings.expiration_policy.clone(),
        ));
    }
    tasks
}
