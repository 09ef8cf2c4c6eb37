//! Descriptors of the built-in `std.*` actions exactly as upstream Mistral 23.0.0 lists them
//! (name, input signature, docstring, implementing class). The executor runs them; the API
//! lists them; the engine validates inputs against them.

use std::sync::OnceLock;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct BuiltinAction {
    pub name: String,
    /// Parameter signature string, e.g. `output, delay=0`.
    pub input: String,
    /// The class docstring.
    pub description: String,
    /// Upstream's implementing class (`mistral.actions.std_actions.EchoAction`).
    pub class: String,
}

/// All built-in actions, sorted by name.
pub fn all() -> &'static [BuiltinAction] {
    static CELL: OnceLock<Vec<BuiltinAction>> = OnceLock::new();
    CELL.get_or_init(|| {
        let mut v: Vec<BuiltinAction> = serde_json::from_str(include_str!("std_actions.json"))
            .expect("std_actions.json is valid");
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    })
}

/// A built-in action by name.
pub fn find(name: &str) -> Option<&'static BuiltinAction> {
    all().iter().find(|a| a.name == name)
}

/// The public ad-hoc actions `db populate` (and start-up) registers, as upstream ships them.
pub const PREINSTALLED_ADHOC_ACTIONS: &str = "---\nversion: '2.0'\n\nstd.wait_ssh:\n    description: Simple SSH command.\n    base: std.ssh\n    base-input:\n      host: <% $.host %>\n      username: <% $.username %>\n      password: <% $.password %>\n      cmd: 'ls -l'\n    input:\n     - host\n     - username\n     - password\n";

/// [`PREINSTALLED_ADHOC_ACTIONS`] as stored values (built directly so start-up never depends
/// on the DSL parser).
pub fn preinstalled_adhoc_actions() -> Vec<crate::db::definitions::NewAction> {
    let spec = serde_json::json!({
        "description": "Simple SSH command.",
        "base": "std.ssh",
        "base-input": {
            "host": "<% $.host %>",
            "username": "<% $.username %>",
            "password": "<% $.password %>",
            "cmd": "ls -l"
        },
        "input": ["host", "username", "password"]
    });
    vec![crate::db::definitions::NewAction {
        name: "std.wait_ssh".into(),
        definition: PREINSTALLED_ADHOC_ACTIONS.into(),
        spec: spec.to_string(),
        description: Some("Simple SSH command.".into()),
        input: Some("host, username, password".into()),
        tags: Some("[]".into()),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thirteen_std_actions_carry_upstream_signatures() {
        let names: Vec<&str> = all().iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names.len(), 13);
        assert!(names.contains(&"std.async_noop"));
        assert_eq!(find("std.echo").unwrap().input, "output, delay=0");
        assert_eq!(find("std.sleep").unwrap().input, "seconds=1");
        assert!(find("std.http")
            .unwrap()
            .input
            .starts_with("url, method=\"GET\""));
        assert_eq!(
            find("std.test_dict").unwrap().description,
            "Generates test dict."
        );
    }
}
