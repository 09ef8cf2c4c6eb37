pub mod error;
pub mod pyjson;
pub mod pyrepr;
