//! mistral-rs: a drop-in Rust reimplementation of the OpenStack Mistral workflow service.

pub mod api;
pub mod cli;
pub mod config;
pub mod db;
pub mod engine;
pub mod executor;
pub mod expr;
pub mod lang;
pub mod scheduler;
pub mod server;
