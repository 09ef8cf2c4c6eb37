//! Settings: command-line flags > `MISTRAL_<SECTION>_<KEY>` environment variables > an
//! oslo-style `mistral.conf`.
//!
//! Every recognised option is validated at load time; a bad value yields one
//! [`ConfigError`] whose `Display` is a single line naming the setting and where it came from.
//! Options of sections other modules will read later stay available through [`Settings::get`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// Sections of upstream's mistral.conf this server knows about (options in them that we do not
/// use yet are kept without a log line; options in other sections are logged and ignored).
pub const KNOWN_SECTIONS: &[&str] = &[
    "DEFAULT",
    "api",
    "database",
    "pecan",
    "keystone_authtoken",
    "engine",
    "executor",
    "notifier",
    "cron_trigger",
    "event_engine",
    "execution_expiration_policy",
    "action_heartbeat",
    "action_std_http",
    "scheduler",
    "oslo_middleware",
    "oslo_messaging_rabbit",
    "oslo_policy",
    "coordination",
    "healthcheck",
    "cors",
    "yaql",
    "legacy_action_provider",
    "keycloak_oidc",
    "profiler",
    "openstack_actions",
    "mistral_rs",
    "python",
    "action_providers",
];

/// Where a value came from (for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf),
    Env(String),
    Flag(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Env(v) => write!(f, "environment variable {v}"),
            Source::Flag(n) => write!(f, "flag {n}"),
        }
    }
}

/// A bad setting: start-up stops with this single line (exit code 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// The database the server stores everything in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file (WAL mode); `:memory:` for an in-memory database.
    Sqlite(PathBuf),
    /// A libpq connection URL (`postgresql://user@host:port/db`).
    Postgres(String),
}

impl DatabaseUrl {
    /// Parses SQLAlchemy-style URLs (`sqlite:///rel`, `sqlite:////abs`, `postgresql://…`,
    /// `postgresql+psycopg2://…`, `postgres://…`) and bare paths ending in `.sqlite`/`.db`.
    pub fn parse(url: &str) -> Result<DatabaseUrl, String> {
        let url = url.trim();
        if url.is_empty() {
            return Err("empty database URL".into());
        }
        let Some((scheme, rest)) = url.split_once("://") else {
            if url.ends_with(".sqlite") || url.ends_with(".db") || url.ends_with(".sqlite3") {
                return Ok(DatabaseUrl::Sqlite(PathBuf::from(url)));
            }
            return Err(format!(
                "'{url}' is not a database URL (expected sqlite:///path or postgresql://user@host/db)"
            ));
        };
        let dialect = scheme
            .split('+')
            .next()
            .unwrap_or(scheme)
            .to_ascii_lowercase();
        match dialect.as_str() {
            "sqlite" => {
                // sqlite:// (memory), sqlite:///rel, sqlite:////abs, sqlite:///:memory:
                let path = rest.strip_prefix('/').unwrap_or(rest);
                let path = path.split('?').next().unwrap_or(path);
                if path.is_empty() || path == ":memory:" {
                    Ok(DatabaseUrl::Sqlite(PathBuf::from(":memory:")))
                } else {
                    Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
                }
            }
            "postgresql" | "postgres" | "pgsql" => {
                // libpq understands postgresql:// URLs; drop SQLAlchemy-only query options.
                let (base, query) = match rest.split_once('?') {
                    Some((b, q)) => (b, Some(q)),
                    None => (rest, None),
                };
                if base.is_empty() {
                    return Err(format!("'{url}' names no PostgreSQL server"));
                }
                let mut out = format!("postgresql://{base}");
                if let Some(q) = query {
                    let kept: Vec<&str> = q
                        .split('&')
                        .filter(|kv| {
                            let k = kv.split('=').next().unwrap_or("");
                            !matches!(k, "charset" | "client_encoding" | "plugin" | "")
                        })
                        .collect();
                    if !kept.is_empty() {
                        out.push('?');
                        out.push_str(&kept.join("&"));
                    }
                }
                Ok(DatabaseUrl::Postgres(out))
            }
            other => Err(format!(
                "unsupported database dialect '{other}' (mistral-rs supports sqlite and postgresql)"
            )),
        }
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, DatabaseUrl::Sqlite(_))
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(p) => write!(f, "sqlite:///{}", p.display()),
            DatabaseUrl::Postgres(u) => {
                // Never print a password.
                match url::Url::parse(u) {
                    Ok(mut parsed) if parsed.password().is_some() => {
                        let _ = parsed.set_password(Some("***"));
                        write!(f, "{parsed}")
                    }
                    _ => f.write_str(u),
                }
            }
        }
    }
}

/// `[api] validation_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationMode {
    /// Always validate (`skip_validation` is ignored). Upstream default.
    Mandatory,
    /// Validate unless the request carries `skip_validation`.
    Enabled,
    /// Never validate.
    Disabled,
}

impl ValidationMode {
    /// Whether a DSL upload is validated, given whether the request asked to skip it.
    pub fn validate(self, skip_requested: bool) -> bool {
        match self {
            ValidationMode::Mandatory => true,
            ValidationMode::Enabled => !skip_requested,
            ValidationMode::Disabled => false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ApiSettings {
    pub host: String,
    pub port: u16,
    /// Upper bound (and default) of a list page.
    pub max_limit: i64,
    pub validation_mode: ValidationMode,
    /// `[api] enable_info_endpoint`.
    pub enable_info_endpoint: bool,
    /// `[api] allow_action_execution_deletion` (default false).
    pub allow_action_execution_deletion: bool,
    /// `[api] info_json_file_path`.
    pub info_json_file_path: Option<PathBuf>,
    /// `[oslo_middleware] max_request_body_size` (bytes).
    pub max_request_body_size: usize,
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub connection: DatabaseUrl,
    /// `[database] max_pool_size`.
    pub max_pool_size: u32,
}

/// `[cron_trigger]`: how often due cron triggers are looked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronTriggerSettings {
    /// `enabled` (default true): false turns trigger processing off in this process.
    pub enabled: bool,
    /// `execution_interval` in seconds (default 1, at least 1).
    pub execution_interval: u64,
}

/// `[execution_expiration_policy]`: periodic deletion of finished root executions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExpirationPolicySettings {
    /// `evaluation_interval` in minutes; unset or 0 disables the policy.
    pub evaluation_interval: Option<u64>,
    /// `older_than` in minutes: executions not updated for longer are deleted.
    pub older_than: Option<u64>,
    /// `max_finished_executions` (0 = no limit): only this many newest finished ones stay.
    pub max_finished_executions: u64,
    /// `batch_size` (0 = everything at once): executions deleted per transaction.
    pub batch_size: u64,
    /// `ignored_states`: terminal states never deleted.
    pub ignored_states: Vec<String>,
}

impl ExpirationPolicySettings {
    /// Upstream runs the policy only with an interval and at least one of the two limits >= 1.
    pub fn enabled(&self) -> bool {
        self.evaluation_interval.is_some_and(|i| i > 0)
            && (self.older_than.is_some_and(|o| o >= 1) || self.max_finished_executions >= 1)
    }
}

/// The parsed, validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub api: ApiSettings,
    pub database: DatabaseSettings,
    pub cron_trigger: CronTriggerSettings,
    pub expiration_policy: ExpirationPolicySettings,
    /// `[pecan] auth_enable` (authentication itself is not implemented yet; see api.md 1.3).
    pub auth_enable: bool,
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
    /// Every `(section, key) -> (value, source)` after precedence was applied.
    raw: BTreeMap<(String, String), (String, Source)>,
}

/// Command-line overrides (`serve`/`db` flags).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub host: Option<String>,
    pub port: Option<String>,
    pub database_url: Option<String>,
}

pub const DEFAULT_HOST: &str = "127.0.0.1";
pub const DEFAULT_PORT: u16 = 8989;
pub const DEFAULT_DATABASE: &str = "sqlite:///mistral-rs.sqlite";
pub const DEFAULT_MAX_LIMIT: i64 = 1000;
pub const DEFAULT_MAX_BODY: usize = 10 * 1024 * 1024;

impl Settings {
    /// Loads settings from flags, the process environment and the config file.
    pub fn load(overrides: &Overrides) -> Result<Settings, ConfigError> {
        Self::load_from(overrides, std::env::vars())
    }

    /// Loads settings with an explicit environment (for tests).
    pub fn load_from(
        overrides: &Overrides,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let env: Vec<(String, String)> = env.into_iter().collect();
        let mut raw: BTreeMap<(String, String), (String, Source)> = BTreeMap::new();

        let config_file = overrides.config_file.clone().or_else(|| {
            env.iter()
                .find(|(k, _)| k == "MISTRAL_CONFIG_FILE")
                .map(|(_, v)| PathBuf::from(v))
        });
        if let Some(path) = &config_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ConfigError(format!("cannot read config file {}: {e}", path.display()))
            })?;
            for ((section, key), value) in parse_ini(&text)
                .map_err(|e| ConfigError(format!("config file {}: {e}", path.display())))?
            {
                if !KNOWN_SECTIONS.contains(&section.as_str()) {
                    tracing::info!(
                        "ignoring unknown setting [{section}] {key} in {}",
                        path.display()
                    );
                    continue;
                }
                raw.insert((section, key), (value, Source::File(path.clone())));
            }
        }

        for (name, value) in &env {
            let Some(rest) = name.strip_prefix("MISTRAL_") else {
                continue;
            };
            if rest.starts_with("RS_") || rest == "CONFIG_FILE" {
                continue;
            }
            match split_env_name(rest) {
                Some((section, key)) => {
                    raw.insert((section, key), (value.clone(), Source::Env(name.clone())));
                }
                None => tracing::info!("ignoring environment variable {name}: no such section"),
            }
        }

        let flag = |raw: &mut BTreeMap<_, _>, sec: &str, key: &str, v: &Option<String>, n| {
            if let Some(v) = v {
                raw.insert(
                    (sec.to_string(), key.to_string()),
                    (v.clone(), Source::Flag(n)),
                );
            }
        };
        flag(&mut raw, "api", "host", &overrides.host, "--host");
        flag(&mut raw, "api", "port", &overrides.port, "--port");
        flag(
            &mut raw,
            "database",
            "connection",
            &overrides.database_url,
            "--database-url",
        );

        let mut s = Settings {
            api: ApiSettings {
                host: DEFAULT_HOST.into(),
                port: DEFAULT_PORT,
                max_limit: DEFAULT_MAX_LIMIT,
                validation_mode: ValidationMode::Mandatory,
                enable_info_endpoint: false,
                allow_action_execution_deletion: false,
                info_json_file_path: None,
                max_request_body_size: DEFAULT_MAX_BODY,
            },
            database: DatabaseSettings {
                connection: DatabaseUrl::parse(DEFAULT_DATABASE).expect("default database URL"),
                max_pool_size: 8,
            },
            cron_trigger: CronTriggerSettings {
                enabled: true,
                execution_interval: 1,
            },
            expiration_policy: ExpirationPolicySettings::default(),
            auth_enable: false,
            config_file,
            raw,
        };
        s.apply()?;
        Ok(s)
    }

    fn apply(&mut self) -> Result<(), ConfigError> {
        if let Some((v, src)) = self.raw_get("api", "host") {
            let v = v.trim();
            if v.is_empty() {
                return Err(bad("api", "host", src, v, "must not be empty"));
            }
            self.api.host = v.to_string();
        }
        if let Some((v, src)) = self.raw_get("api", "port") {
            self.api.port = match v.trim().parse::<u16>() {
                Ok(p) => p,
                Err(_) => return Err(bad("api", "port", src, v, "is not a port number (0-65535)")),
            };
        }
        if let Some((v, src)) = self.raw_get("api", "max_limit") {
            self.api.max_limit = match v.trim().parse::<i64>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(bad(
                        "api",
                        "max_limit",
                        src,
                        v,
                        "must be a positive integer",
                    ))
                }
            };
        }
        if let Some((v, src)) = self.raw_get("api", "validation_mode") {
            self.api.validation_mode = match v.trim() {
                "mandatory" => ValidationMode::Mandatory,
                "enabled" => ValidationMode::Enabled,
                "disabled" => ValidationMode::Disabled,
                _ => {
                    return Err(bad(
                        "api",
                        "validation_mode",
                        src,
                        v,
                        "must be one of enabled, mandatory, disabled",
                    ))
                }
            };
        }
        if let Some((v, src)) = self.raw_get("api", "allow_action_execution_deletion") {
            self.api.allow_action_execution_deletion = parse_bool(v)
                .ok_or_else(|| bad("api", "allow_action_execution_deletion", src, v, BOOL))?;
        }
        if let Some((v, src)) = self.raw_get("api", "enable_info_endpoint") {
            self.api.enable_info_endpoint =
                parse_bool(v).ok_or_else(|| bad("api", "enable_info_endpoint", src, v, BOOL))?;
        }
        if let Some((v, _)) = self.raw_get("api", "info_json_file_path") {
            if !v.trim().is_empty() {
                self.api.info_json_file_path = Some(PathBuf::from(v.trim()));
            }
        }
        if let Some((v, src)) = self.raw_get("oslo_middleware", "max_request_body_size") {
            self.api.max_request_body_size = match v.trim().parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(bad(
                        "oslo_middleware",
                        "max_request_body_size",
                        src,
                        v,
                        "must be a positive integer",
                    ))
                }
            };
        }
        if let Some((v, src)) = self.raw_get("database", "connection") {
            self.database.connection = DatabaseUrl::parse(v).map_err(|e| {
                ConfigError(format!(
                    "invalid setting [database] connection ({src}): {e}"
                ))
            })?;
        }
        if let Some((v, src)) = self.raw_get("database", "max_pool_size") {
            self.database.max_pool_size = match v.trim().parse::<u32>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(bad(
                        "database",
                        "max_pool_size",
                        src,
                        v,
                        "must be a positive integer",
                    ))
                }
            };
        }
        if let Some((v, src)) = self.raw_get("pecan", "auth_enable") {
            self.auth_enable =
                parse_bool(v).ok_or_else(|| bad("pecan", "auth_enable", src, v, BOOL))?;
        }
        self.cron_trigger.enabled = self.get_bool("cron_trigger", "enabled", true)?;
        if let Some(n) = self.get_uint("cron_trigger", "execution_interval", 1)? {
            self.cron_trigger.execution_interval = n;
        }
        let sec = "execution_expiration_policy";
        let mut policy = self.expiration_policy.clone();
        policy.evaluation_interval = self.get_uint(sec, "evaluation_interval", 0)?;
        policy.older_than = self.get_uint(sec, "older_than", 0)?;
        policy.max_finished_executions = self
            .get_uint(sec, "max_finished_executions", 0)?
            .unwrap_or(0);
        policy.batch_size = self.get_uint(sec, "batch_size", 0)?.unwrap_or(0);
        if let Some((v, src)) = self.raw_get(sec, "ignored_states") {
            let states: Vec<String> = v
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            // Upstream refuses to start the engine with a non-terminal state here.
            if let Some(s) = states
                .iter()
                .find(|s| !TERMINAL_STATES.contains(&s.as_str()))
            {
                return Err(bad(
                    sec,
                    "ignored_states",
                    src,
                    v,
                    &format!(
                        "{s} is not a terminal state. The valid states are [{}]",
                        TERMINAL_STATES.join(", ")
                    ),
                ));
            }
            policy.ignored_states = states;
        }
        self.expiration_policy = policy;
        Ok(())
    }

    /// An integer option of at least `min`; `None` when it is not set (or set to nothing).
    fn get_uint(&self, section: &str, key: &str, min: u64) -> Result<Option<u64>, ConfigError> {
        match self.raw_get(section, key) {
            None => Ok(None),
            Some((v, _)) if v.trim().is_empty() => Ok(None),
            Some((v, src)) => match v.trim().parse::<u64>() {
                Ok(n) if n >= min => Ok(Some(n)),
                _ => Err(bad(
                    section,
                    key,
                    src,
                    v,
                    &format!("must be an integer >= {min}"),
                )),
            },
        }
    }

    fn raw_get(&self, section: &str, key: &str) -> Option<(&str, Source)> {
        self.raw
            .get(&(section.to_string(), key.to_string()))
            .map(|(v, s)| (v.as_str(), s.clone()))
    }

    /// The raw value of any option (after precedence), for modules with their own sections.
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.raw
            .get(&(section.to_string(), key.to_string()))
            .map(|(v, _)| v.as_str())
    }

    /// A boolean option with a default; a malformed value is a [`ConfigError`].
    pub fn get_bool(&self, section: &str, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.raw_get(section, key) {
            None => Ok(default),
            Some((v, src)) => parse_bool(v).ok_or_else(|| bad(section, key, src, v, BOOL)),
        }
    }

    /// The address the API listens on.
    pub fn bind_address(&self) -> String {
        if self.api.host.contains(':') && !self.api.host.starts_with('[') {
            format!("[{}]:{}", self.api.host, self.api.port)
        } else {
            format!("{}:{}", self.api.host, self.api.port)
        }
    }
}

const BOOL: &str = "is not a boolean (true/false)";

/// Mistral's terminal workflow states (what `ignored_states` may name).
pub const TERMINAL_STATES: &[&str] = &["CANCELLED", "ERROR", "SUCCESS"];

fn bad(section: &str, key: &str, src: Source, value: &str, why: &str) -> ConfigError {
    ConfigError(format!(
        "invalid setting [{section}] {key} = '{value}' ({src}): {why}"
    ))
}

/// oslo.config booleans.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// `API_HOST` -> `("api", "host")`; the longest known section prefix wins, so
/// `CRON_TRIGGER_ENABLED` -> `("cron_trigger", "enabled")`.
pub fn split_env_name(rest: &str) -> Option<(String, String)> {
    let lower = rest.to_ascii_lowercase();
    let mut best: Option<&str> = None;
    for section in KNOWN_SECTIONS {
        let s = section.to_ascii_lowercase();
        if lower.starts_with(&s)
            && lower.as_bytes().get(s.len()) == Some(&b'_')
            && lower.len() > s.len() + 1
            && best.is_none_or(|b| b.len() < section.len())
        {
            best = Some(section);
        }
    }
    let section = best?;
    let key = lower[section.len() + 1..].to_string();
    Some((section.to_string(), key))
}

/// `((section, key), value)`.
pub type IniEntry = ((String, String), String);

/// Parses an oslo-style ini text into `(section, key) -> value` (last occurrence wins).
/// Supports `#`/`;` comment lines, indented continuation lines and matching quotes.
pub fn parse_ini(text: &str) -> Result<Vec<IniEntry>, String> {
    let mut out: Vec<IniEntry> = Vec::new();
    let mut section: Option<String> = None;
    for (lineno, line) in text.lines().enumerate() {
        let lineno = lineno + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                if !last.1.is_empty() {
                    last.1.push('\n');
                }
                last.1.push_str(trimmed);
                continue;
            }
            return Err(format!("line {lineno}: unexpected continuation line"));
        }
        if let Some(inner) = trimmed.strip_prefix('[') {
            let Some(name) = inner.strip_suffix(']') else {
                return Err(format!("line {lineno}: unterminated section header"));
            };
            let name = name.trim();
            if name.is_empty() {
                return Err(format!("line {lineno}: empty section name"));
            }
            section = Some(name.to_string());
            continue;
        }
        let Some(sec) = &section else {
            return Err(format!("line {lineno}: option outside of any section"));
        };
        let (key, value) = match trimmed.split_once(['=', ':']) {
            Some((k, v)) => (k.trim(), v.trim()),
            None => return Err(format!("line {lineno}: expected 'key = value'")),
        };
        if key.is_empty() {
            return Err(format!("line {lineno}: empty option name"));
        }
        let mut value = value.to_string();
        if value.len() >= 2
            && ((value.starts_with('"') && value.ends_with('"'))
                || (value.starts_with('\'') && value.ends_with('\'')))
        {
            value = value[1..value.len() - 1].to_string();
        }
        let k = (sec.clone(), key.to_string());
        out.retain(|(ek, _)| ek != &k);
        out.push((k, value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(o: Overrides, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::load_from(&o, env.iter().map(|(a, b)| (a.to_string(), b.to_string())))
    }

    #[test]
    fn sqlalchemy_urls_are_understood() {
        assert_eq!(
            DatabaseUrl::parse("sqlite:///rel.db").unwrap(),
            DatabaseUrl::Sqlite("rel.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:////abs/x.sqlite").unwrap(),
            DatabaseUrl::Sqlite("/abs/x.sqlite".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://").unwrap(),
            DatabaseUrl::Sqlite(":memory:".into())
        );
        assert_eq!(
            DatabaseUrl::parse("postgresql+psycopg2://u:p@h:5432/db?charset=utf8").unwrap(),
            DatabaseUrl::Postgres("postgresql://u:p@h:5432/db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("postgresql://postgres@127.0.0.1/mistral").unwrap(),
            DatabaseUrl::Postgres("postgresql://postgres@127.0.0.1/mistral".into())
        );
        assert!(DatabaseUrl::parse("mysql+pymysql://x@y/z")
            .unwrap_err()
            .contains("mysql"));
        assert!(DatabaseUrl::parse("nonsense").is_err());
    }

    #[test]
    fn ini_parsing_handles_comments_quotes_and_continuations() {
        let ini = "# c\n[DEFAULT]\ntransport_url = fake:/\n[api]\nhost = \"0.0.0.0\"\nport=9000\n; x\n[database]\nconnection = sqlite:////tmp/a\n  ?x=1\n";
        let m: BTreeMap<_, _> = parse_ini(ini).unwrap().into_iter().collect();
        assert_eq!(m[&("api".to_string(), "host".to_string())], "0.0.0.0");
        assert_eq!(m[&("api".to_string(), "port".to_string())], "9000");
        assert_eq!(
            m[&("database".to_string(), "connection".to_string())],
            "sqlite:////tmp/a\n?x=1"
        );
        assert!(parse_ini("key = 1\n").is_err());
    }

    #[test]
    fn flags_beat_env_which_beats_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("mistral.conf");
        std::fs::write(&f, "[api]\nhost = 10.0.0.1\nport = 1111\nmax_limit = 7\n[database]\nconnection = sqlite:///from_file.db\n[nonsense]\nx = 1\n").unwrap();
        let s = load(
            Overrides {
                config_file: Some(f.clone()),
                port: Some("3333".into()),
                ..Default::default()
            },
            &[
                ("MISTRAL_API_PORT", "2222"),
                ("MISTRAL_API_HOST", "10.0.0.2"),
            ],
        )
        .unwrap();
        assert_eq!(s.api.port, 3333);
        assert_eq!(s.api.host, "10.0.0.2");
        assert_eq!(s.api.max_limit, 7);
        assert_eq!(
            s.database.connection,
            DatabaseUrl::Sqlite("from_file.db".into())
        );
        assert_eq!(s.get("nonsense", "x"), None);
    }

    #[test]
    fn defaults_apply_without_any_source() {
        let s = load(Overrides::default(), &[]).unwrap();
        assert_eq!(s.bind_address(), "127.0.0.1:8989");
        assert_eq!(
            s.database.connection,
            DatabaseUrl::Sqlite("mistral-rs.sqlite".into())
        );
        assert_eq!(s.api.validation_mode, ValidationMode::Mandatory);
    }

    #[test]
    fn bad_values_name_the_setting_and_source() {
        let e = load(Overrides::default(), &[("MISTRAL_API_PORT", "abc")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid setting [api] port = 'abc' (environment variable MISTRAL_API_PORT): is not a port number (0-65535)"
        );
        let e = load(
            Overrides {
                database_url: Some("mysql://a/b".into()),
                ..Default::default()
            },
            &[],
        )
        .unwrap_err();
        assert!(e
            .to_string()
            .starts_with("invalid setting [database] connection (flag --database-url)"));
        let e = load(
            Overrides::default(),
            &[("MISTRAL_API_VALIDATION_MODE", "sometimes")],
        )
        .unwrap_err();
        assert!(e.to_string().contains("validation_mode"));
    }

    #[test]
    fn env_names_split_on_the_longest_known_section() {
        assert_eq!(
            split_env_name("CRON_TRIGGER_ENABLED"),
            Some(("cron_trigger".into(), "enabled".into()))
        );
        assert_eq!(
            split_env_name("DATABASE_CONNECTION"),
            Some(("database".into(), "connection".into()))
        );
        assert_eq!(
            split_env_name("DEFAULT_TRANSPORT_URL"),
            Some(("DEFAULT".into(), "transport_url".into()))
        );
        assert_eq!(split_env_name("BOGUS_THING"), None);
    }

    #[test]
    fn cron_and_expiration_sections_are_read_and_checked() {
        let s = load(Overrides::default(), &[]).unwrap();
        assert_eq!(
            s.cron_trigger,
            CronTriggerSettings {
                enabled: true,
                execution_interval: 1
            }
        );
        assert!(!s.expiration_policy.enabled());
        let s = load(
            Overrides::default(),
            &[
                ("MISTRAL_CRON_TRIGGER_ENABLED", "false"),
                ("MISTRAL_CRON_TRIGGER_EXECUTION_INTERVAL", "5"),
                (
                    "MISTRAL_EXECUTION_EXPIRATION_POLICY_EVALUATION_INTERVAL",
                    "2",
                ),
                ("MISTRAL_EXECUTION_EXPIRATION_POLICY_OLDER_THAN", "60"),
                (
                    "MISTRAL_EXECUTION_EXPIRATION_POLICY_IGNORED_STATES",
                    "ERROR, CANCELLED",
                ),
            ],
        )
        .unwrap();
        assert!(!s.cron_trigger.enabled);
        assert_eq!(s.cron_trigger.execution_interval, 5);
        assert!(s.expiration_policy.enabled());
        assert_eq!(s.expiration_policy.older_than, Some(60));
        assert_eq!(s.expiration_policy.ignored_states, ["ERROR", "CANCELLED"]);
        // An interval alone, without older_than or max_finished_executions, does nothing.
        let s = load(
            Overrides::default(),
            &[(
                "MISTRAL_EXECUTION_EXPIRATION_POLICY_EVALUATION_INTERVAL",
                "2",
            )],
        )
        .unwrap();
        assert!(!s.expiration_policy.enabled());
        let e = load(
            Overrides::default(),
            &[("MISTRAL_CRON_TRIGGER_EXECUTION_INTERVAL", "0")],
        )
        .unwrap_err();
        assert!(e.to_string().contains("must be an integer >= 1"), "{e}");
        let e = load(
            Overrides::default(),
            &[(
                "MISTRAL_EXECUTION_EXPIRATION_POLICY_IGNORED_STATES",
                "RUNNING",
            )],
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("RUNNING is not a terminal state"),
            "{e}"
        );
    }

    #[test]
    fn validation_mode_controls_skip_validation() {
        assert!(ValidationMode::Mandatory.validate(true));
        assert!(!ValidationMode::Enabled.validate(true));
        assert!(ValidationMode::Enabled.validate(false));
        assert!(!ValidationMode::Disabled.validate(false));
    }
}
