//! The workflow engine's pure core (ARCHITECTURE.md): a controller that takes the state of one
//! workflow execution plus one event and returns effects. No database, no I/O, no async.
//!
//! * [`controller::start`] / [`controller::handle`]: the entry points.
//! * [`state`]: execution records and the state machine; [`spec`]: the engine's view of a
//!   workflow definition; [`exprs`]: the adapter to `crate::expr`.
//! * [`sim`]: an in-memory simulator that drives the controller (std actions run natively).

pub mod controller;
pub mod db_exprs;
pub mod dispatch;
pub mod exprs;
pub mod policies;
pub mod shell;
pub mod sim;
pub mod spec;
pub mod state;
pub mod util;

#[cfg(test)]
mod conformance;
#[cfg(test)]
mod tests;

pub use controller::{
    handle, start, validate_input, ActionDef, ActionOutcome, Catalog, Command, Effect, EngineError,
    Event, Expressions, ParentLink, Runtime, StartRequest, SystemAction, Timer, WorkflowState,
};
pub use spec::{AdHocDef, WorkflowDef};
pub use state::{ActionExecution, ChildKind, State, TaskExecution, TaskType, WorkflowExecution};
