//! `std.http` and `std.mistral_http`: inputs as upstream's HTTPAction takes them (Python
//! `requests` semantics), the egress policy of `[action_std_http]`, and upstream's result
//! mapping (an error result carries the same mapping when the status is outside 200-306).
//!
//! The transport is a small HTTP/1.1 client of its own (plain, TLS, proxies): the result
//! must report the peer's header names in their original case and order and its reason
//! phrase, which hyper-based clients normalise away.

use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use ipnet::IpNet;
use serde_json::{json, Map, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

use super::{raised, ActionContext};
use crate::engine::controller::ActionOutcome;
use crate::engine::util::{py_repr, py_str, str_repr, truthy};

/// `[action_std_http]` options.
#[derive(Debug, Clone)]
pub struct Policy {
    pub allowed_hosts: Vec<String>,
    pub denied: Vec<IpNet>,
    /// Seconds; 0 = no default timeout.
    pub default_timeout: f64,
    /// Bytes; 0 = unlimited.
    pub max_response_size: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            allowed_hosts: Vec::new(),
            denied: parse_cidrs("127.0.0.0/8,::1/128,169.254.0.0/16,fe80::/10"),
            default_timeout: 60.0,
            max_response_size: 5_242_880,
        }
    }
}

/// An oslo ListOpt of CIDRs; invalid entries are ignored with a warning, as upstream does.
pub fn parse_cidrs(list: &str) -> Vec<IpNet> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .filter_map(|c| match parse_cidr(c) {
            Some(n) => Some(n),
            None => {
                tracing::warn!("Ignoring invalid [action_std_http] denied_cidrs entry: {c}");
                None
            }
        })
        .collect()
}

/// Python's `ip_network(cidr, strict=False)`: host bits allowed, a bare address is a /32.
fn parse_cidr(c: &str) -> Option<IpNet> {
    if let Ok(n) = c.parse::<IpNet>() {
        return Some(n.trunc());
    }
    c.parse::<IpAddr>().ok().map(IpNet::from)
}

static POLICY: RwLock<Option<Arc<Policy>>> = RwLock::new(None);

/// Installs the egress policy (server start-up).
pub fn set_policy(p: Policy) {
    if let Ok(mut g) = POLICY.write() {
        *g = Some(Arc::new(p));
    }
}

fn policy() -> Arc<Policy> {
    POLICY
        .read()
        .ok()
        .and_then(|g| g.clone())
        .unwrap_or_else(|| Arc::new(Policy::default()))
}

/// Reads `[action_std_http]` from the settings.
pub fn configure(settings: &crate::config::Settings) {
    let mut p = Policy::default();
    let get = |k: &str| settings.get("action_std_http", k);
    if let Some(v) = get("allowed_hosts") {
        p.allowed_hosts = v
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
    }
    if let Some(v) = get("denied_cidrs") {
        p.denied = parse_cidrs(v);
    }
    let int = |k: &str| -> Option<u64> {
        let v = get(k)?;
        let n = v.trim().parse::<u64>().ok();
        if n.is_none() {
            tracing::warn!("ignoring invalid [action_std_http] {k} = '{v}'");
        }
        n
    };
    if let Some(n) = int("default_timeout") {
        p.default_timeout = n as f64;
    }
    if let Some(n) = int("max_response_size_bytes") {
        p.max_response_size = n;
    }
    set_policy(p);
}

// ------------------------------------------------------------------------------ URL checks

/// Python's `urlsplit` pieces the egress policy looks at.
struct Split {
    scheme: String,
    netloc: String,
}

fn urlsplit(url: &str) -> Split {
    let mut rest = url;
    let mut scheme = String::new();
    if let Some(i) = url.find(':') {
        let cand = &url[..i];
        if i > 0
            && cand.as_bytes()[0].is_ascii_alphabetic()
            && cand
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            scheme = cand.to_ascii_lowercase();
            rest = &url[i + 1..];
        }
    }
    let netloc = match rest.strip_prefix("//") {
        Some(r) => r.split(['/', '?', '#']).next().unwrap_or("").to_string(),
        None => String::new(),
    };
    Split { scheme, netloc }
}

/// `(hostname, port)` of a netloc as Python reports them (hostname lower-cased).
fn host_port(netloc: &str) -> Result<(Option<String>, Option<u16>), String> {
    let hostinfo = netloc.rsplit_once('@').map_or(netloc, |(_, h)| h);
    let (host, port) = if let Some(r) = hostinfo.strip_prefix('[') {
        match r.split_once(']') {
            Some((h, p)) => (h.to_string(), p.strip_prefix(':').unwrap_or("")),
            None => (r.to_string(), ""),
        }
    } else {
        match hostinfo.split_once(':') {
            Some((h, p)) => (h.to_string(), p),
            None => (hostinfo.to_string(), ""),
        }
    };
    let port = if port.is_empty() {
        None
    } else {
        match port.parse::<u32>() {
            Ok(n) if n <= 65535 => Some(n as u16),
            Ok(_) => return Err("Port out of range 0-65535".into()),
            Err(_) => {
                return Err(format!(
                    "Port could not be cast to integer value as {}",
                    str_repr(port)
                ))
            }
        }
    };
    let host = (!host.is_empty()).then(|| host.to_lowercase());
    Ok((host, port))
}

/// The egress policy: http/https only, the allow-list, no address in a denied network.
/// A host that does not resolve passes (the request fails to connect anyway).
pub async fn validate_url(url: &str, p: &Policy) -> Result<(), String> {
    let s = urlsplit(url);
    if s.scheme != "http" && s.scheme != "https" {
        return Err(format!(
            "URL scheme '{}' is not allowed (only http and https are).",
            s.scheme
        ));
    }
    let (host, port) = host_port(&s.netloc)?;
    let Some(host) = host else {
        return Err("URL does not contain a host.".into());
    };
    if !p.allowed_hosts.is_empty() && !p.allowed_hosts.contains(&host) {
        return Err(format!(
            "Host '{host}' is not in [action_std_http] allowed_hosts."
        ));
    }
    let Ok(addrs) = tokio::net::lookup_host((host.as_str(), port.unwrap_or(0))).await else {
        return Ok(());
    };
    for a in addrs {
        let ip = a.ip();
        if p.denied.iter().any(|n| n.contains(&ip)) {
            return Err(format!(
                "URL host '{host}' resolves to a blocked address ({ip})."
            ));
        }
    }
    Ok(())
}

// ------------------------------------------------------------------------------ the action

/// Runs std.http (`mistral = false`) or std.mistral_http. `None`: an asynchronous
/// std.mistral_http request went out fine and its result comes through the API later.
pub async fn run(ctx: &ActionContext, input: &Value, mistral: bool) -> Option<ActionOutcome> {
    let class = if mistral {
        "MistralHTTPAction"
    } else {
        "HTTPAction"
    };
    match perform(ctx, input, mistral).await {
        Ok(result) => {
            let status = result["status"].as_u64().unwrap_or(0);
            if !(200..307).contains(&status) {
                Some(ActionOutcome::Error(result))
            } else if mistral {
                None
            } else {
                Some(ActionOutcome::Success(result))
            }
        }
        Err(msg) => Some(raised(class, &ctx.action_execution_id, &msg)),
    }
}

/// A request as requests prepares it.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    url: url::Url,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

fn header_pos(headers: &[(String, String)], name: &str) -> Option<usize> {
    headers
        .iter()
        .position(|(k, _)| k.eq_ignore_ascii_case(name))
}

/// Sets a header the way a case-insensitive dict update does (position kept, new name case).
fn set_header(headers: &mut Vec<(String, String)>, name: &str, value: String) {
    match header_pos(headers, name) {
        Some(i) => headers[i] = (name.to_string(), value),
        None => headers.push((name.to_string(), value)),
    }
}

fn py_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// `quote_plus` (safe characters as Python's `urlencode` keeps them).
fn quote_plus(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// requests' `_encode_params` for a dict or a list of pairs (values that are lists repeat
/// the key, `None` values are left out).
fn urlencode(v: &Value) -> Result<String, String> {
    let pairs: Vec<(String, Value)> = match v {
        Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Value::Array(items) => {
            let mut out = Vec::new();
            for it in items {
                match it {
                    Value::Array(kv) if kv.len() == 2 => out.push((py_str(&kv[0]), kv[1].clone())),
                    _ => return Err("too many values to unpack (expected 2)".to_string()),
                }
            }
            out
        }
        _ => return Ok(py_str(v)),
    };
    let mut parts = Vec::new();
    for (k, val) in pairs {
        let vals = match val {
            Value::Array(a) => a,
            Value::Object(m) => m.keys().map(|k| Value::String(k.clone())).collect(),
            other => vec![other],
        };
        for v in vals {
            if v.is_null() {
                continue;
            }
            parts.push(format!("{}={}", quote_plus(&k), quote_plus(&py_str(&v))));
        }
    }
    Ok(parts.join("&"))
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Python's latin-1 encoding of a str body (http.client sends str bodies that way).
fn latin1(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len());
    for (i, c) in s.chars().enumerate() {
        if (c as u32) > 0xff {
            return Err(format!(
                "'latin-1' codec can't encode character '\\u{:04x}' in position {i}: Body ({}) is not valid Latin-1. Use body.encode('utf-8') if you want to send it encoded in UTF-8.",
                c as u32,
                str_repr(s)
            ));
        }
        out.push(c as u8);
    }
    Ok(out)
}

fn basic_auth(user: &str, pass: &str) -> String {
    let mut raw = Vec::new();
    raw.extend(user.chars().map(|c| c as u32 as u8));
    raw.push(b':');
    raw.extend(pass.chars().map(|c| c as u32 as u8));
    format!("Basic {}", base64(&raw))
}

/// The timeouts of a request: `(connect, read)`, `None` = wait forever.
fn timeouts(v: Option<&Value>, p: &Policy) -> Result<(Option<f64>, Option<f64>), String> {
    match v {
        None | Some(Value::Null) => {
            let t = (p.default_timeout > 0.0).then_some(p.default_timeout);
            Ok((t, t))
        }
        Some(Value::Number(n)) => {
            let t = n.as_f64().unwrap_or(0.0);
            if t <= 0.0 {
                return Err(format!(
                    "Attempted to set connect timeout to {}, but the timeout cannot be set to a value less than or equal to 0.",
                    py_str(&Value::Number(n.clone()))
                ));
            }
            Ok((Some(t), Some(t)))
        }
        Some(other) => Err(format!(
            "Timeout value connect was {}, but it must be an int, float or None.",
            py_str(other)
        )),
    }
}

fn fmt_secs(t: Option<f64>) -> String {
    match t {
        None => "None".into(),
        Some(t) => py_str(&json!(t)).replace(".0", "").to_string(),
    }
}

/// Builds the request from the action input (requests' `prepare`).
fn prepare(ctx: &ActionContext, input: &Value, mistral: bool) -> Result<Request, String> {
    let get = |k: &str| input.get(k).filter(|v| !v.is_null());
    let url_s = match get("url") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(format!(
                "'{}' object has no attribute 'decode'",
                py_type(other)
            ))
        }
        None => {
            return Err(
                "Invalid URL 'None': No scheme supplied. Perhaps you meant https://None?".into(),
            )
        }
    };
    let method = get("method")
        .map(py_str)
        .unwrap_or_else(|| "GET".into())
        .to_uppercase();
    let mut url =
        url::Url::parse(&url_s).map_err(|e| format!("Invalid URL {}: {e}", str_repr(&url_s)))?;
    if let Some(params) = get("params") {
        let enc = urlencode(params)?;
        if !enc.is_empty() {
            let q = match url.query() {
                Some(q) if !q.is_empty() => format!("{q}&{enc}"),
                _ => enc,
            };
            url.set_query(Some(&q));
        }
    }
    // Session defaults, then the action's headers merged over them.
    let mut headers: Vec<(String, String)> = vec![
        ("User-Agent".into(), "python-requests/2.34.2".into()),
        ("Accept-Encoding".into(), "gzip, deflate".into()),
        ("Accept".into(), "*/*".into()),
        ("Connection".into(), "keep-alive".into()),
    ];
    let mut user: Vec<(String, Value)> = match get("headers") {
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Some(other) if truthy(other) => {
            return Err(format!(
                "dictionary update sequence element #0 has length 1; 2 is required (headers={})",
                py_repr(other)
            ))
        }
        _ => Vec::new(),
    };
    if mistral {
        let opt = |v: &Option<String>| v.clone().map(Value::String).unwrap_or(Value::Null);
        for (k, v) in [
            ("Mistral-Workflow-Name", opt(&ctx.workflow_name)),
            (
                "Mistral-Workflow-Execution-Id",
                opt(&ctx.workflow_execution_id),
            ),
            ("Mistral-Task-Id", opt(&ctx.task_execution_id)),
            (
                "Mistral-Action-Execution-Id",
                Value::String(ctx.action_execution_id.clone()),
            ),
            (
                "Mistral-Callback-URL",
                Value::String(format!("/v2/action_executions/{}", ctx.action_execution_id)),
            ),
        ] {
            user.retain(|(n, _)| n != k);
            user.push((k.to_string(), v));
        }
    }
    for (k, v) in user {
        match v {
            // A None value removes the header (requests' merge_setting).
            Value::Null => {
                if let Some(i) = header_pos(&headers, &k) {
                    headers.remove(i);
                }
            }
            Value::String(s) => set_header(&mut headers, &k, s),
            Value::Number(_) | Value::Bool(_) => set_header(&mut headers, &k, py_str(&v)),
            other => {
                return Err(format!(
                    "Header part ({}) from ({}, {}) must be of type str or bytes, not <class '{}'>",
                    py_repr(&other),
                    str_repr(&k),
                    py_repr(&other),
                    py_type(&other)
                ))
            }
        }
    }
    // Body: a dict body was JSON-encoded by the action; a str is sent as Latin-1 without a
    // content type; a list of pairs is form-encoded; `json` is sent as application/json.
    let mut body: Option<Vec<u8>> = None;
    let mut content_type: Option<&str> = None;
    match get("body") {
        Some(b) if truthy(b) => match b {
            Value::String(s) => body = Some(latin1(s)?),
            Value::Object(_) => body = Some(crate::api::pyjson::dumps(b).into_bytes()),
            Value::Array(_) => {
                body = Some(urlencode(b)?.into_bytes());
                content_type = Some("application/x-www-form-urlencoded");
            }
            other => return Err(format!("'{}' object is not iterable", py_type(other))),
        },
        _ => {
            if let Some(j) = input.get("json").filter(|v| !v.is_null()) {
                body = Some(crate::api::pyjson::dumps(j).into_bytes());
                content_type = Some("application/json");
            }
        }
    }
    if let Some(ct) = content_type {
        if header_pos(&headers, "content-type").is_none() {
            headers.push(("Content-Type".into(), ct.into()));
        }
    }
    match &body {
        Some(b) => set_header(&mut headers, "Content-Length", b.len().to_string()),
        None if method != "GET"
            && method != "HEAD"
            && header_pos(&headers, "content-length").is_none() =>
        {
            headers.push(("Content-Length".into(), "0".into()))
        }
        None => {}
    }
    // Auth: "user:password" is HTTP basic auth; credentials in the URL count when no auth
    // was given; any other string is not a usable auth object.
    match get("auth") {
        Some(Value::String(a)) if !a.is_empty() => {
            let parts: Vec<&str> = a.split(':').collect();
            if parts.len() == 2 {
                set_header(
                    &mut headers,
                    "Authorization",
                    basic_auth(parts[0], parts[1]),
                );
            } else {
                return Err("'str' object is not callable".into());
            }
        }
        Some(a) if truthy(a) => return Err(format!("'{}' object is not callable", py_type(a))),
        _ => {
            if !url.username().is_empty() || url.password().is_some() {
                let dec = |s: &str| {
                    percent_encoding::percent_decode_str(s)
                        .decode_utf8_lossy()
                        .to_string()
                };
                let auth = basic_auth(&dec(url.username()), &dec(url.password().unwrap_or("")));
                set_header(&mut headers, "Authorization", auth);
            }
        }
    }
    match get("cookies") {
        Some(Value::Object(m)) if !m.is_empty() => {
            let c: Vec<String> = m
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| format!("{k}={}", py_str(v)))
                .collect();
            set_header(&mut headers, "Cookie", c.join("; "));
        }
        Some(other) if truthy(other) && !other.is_object() => {
            return Err(format!(
                "'{}' object has no attribute 'items'",
                py_type(other)
            ))
        }
        _ => {}
    }
    Ok(Request {
        method,
        url,
        headers,
        body,
    })
}

/// Where a request goes: straight to the host, or through a proxy.
#[derive(Debug, Clone)]
enum Route {
    Direct,
    Proxy(url::Url),
}

/// requests' proxy selection: the action's `proxies` first (`scheme://host`, `scheme`,
/// `all://host`, `all`), then the `*_proxy` environment unless `no_proxy` matches.
fn route(url: &url::Url, proxies: Option<&Value>) -> Result<Route, String> {
    let scheme = url.scheme();
    let host = url.host_str().unwrap_or("");
    let keys = [
        format!("{scheme}://{host}"),
        scheme.to_string(),
        format!("all://{host}"),
        "all".to_string(),
    ];
    let mut chosen: Option<String> = None;
    if let Some(Value::Object(m)) = proxies {
        chosen = keys
            .iter()
            .find_map(|k| m.get(k).and_then(Value::as_str).map(str::to_string));
    }
    if chosen.is_none() && !bypass_proxy(host) {
        let env = |n: &str| {
            std::env::var(n.to_lowercase())
                .or_else(|_| std::env::var(n.to_uppercase()))
                .ok()
                .filter(|v| !v.is_empty())
        };
        chosen = env(&format!("{scheme}_proxy")).or_else(|| env("all_proxy"));
    }
    match chosen {
        None => Ok(Route::Direct),
        Some(p) => {
            let p = if p.contains("://") {
                p
            } else {
                format!("http://{p}")
            };
            url::Url::parse(&p)
                .map(Route::Proxy)
                .map_err(|e| format!("Invalid proxy URL {}: {e}", str_repr(&p)))
        }
    }
}

fn bypass_proxy(host: &str) -> bool {
    let Some(np) = std::env::var("no_proxy")
        .ok()
        .or_else(|| std::env::var("NO_PROXY").ok())
    else {
        return false;
    };
    np.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .any(|e| {
            let e = e.trim_start_matches('.');
            e == "*" || host == e || host.ends_with(&format!(".{e}"))
        })
}

/// Why a request failed: inside `requests.request` (upstream prefixes these with
/// `Failed to send HTTP request: `) or in the action's own checks.
enum Fail {
    Request(String),
    Other(String),
}

impl From<String> for Fail {
    fn from(m: String) -> Self {
        Fail::Request(m)
    }
}

/// One received response.
struct Response {
    status: u16,
    reason: String,
    /// Original names, duplicates joined with ", " at the first occurrence.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    url: url::Url,
    elapsed: f64,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Transport failures, worded as requests/urllib3 word them.
struct Target<'a> {
    url: &'a url::Url,
    connect: Option<f64>,
    read: Option<f64>,
}

impl Target<'_> {
    fn https(&self) -> bool {
        self.url.scheme() == "https"
    }
    fn host(&self) -> String {
        self.url
            .host_str()
            .unwrap_or("")
            .trim_matches(['[', ']'])
            .to_string()
    }
    fn port(&self) -> u16 {
        self.url.port_or_known_default().unwrap_or(80)
    }
    fn pool(&self) -> String {
        format!(
            "{}ConnectionPool(host={}, port={})",
            if self.https() { "HTTPS" } else { "HTTP" },
            str_repr(&self.host()),
            self.port()
        )
    }
    fn conn(&self) -> String {
        format!(
            "{}Connection(host={}, port={})",
            if self.https() { "HTTPS" } else { "HTTP" },
            str_repr(&self.host()),
            self.port()
        )
    }
    fn path(&self) -> String {
        match self.url.query() {
            Some(q) => format!("{}?{q}", self.url.path()),
            None => self.url.path().to_string(),
        }
    }
    fn max_retries(&self, cause: String) -> String {
        format!(
            "{}: Max retries exceeded with url: {} (Caused by {cause})",
            self.pool(),
            self.path()
        )
    }
    fn read_timeout(&self) -> String {
        format!(
            "{}: Read timed out. (read timeout={})",
            self.pool(),
            fmt_secs(self.read)
        )
    }
}

async fn with_timeout<T>(t: Option<f64>, fut: impl std::future::Future<Output = T>) -> Option<T> {
    match t {
        Some(s) => tokio::time::timeout(Duration::from_secs_f64(s), fut)
            .await
            .ok(),
        None => Some(fut.await),
    }
}

fn errno_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => {
            let s = e.to_string();
            let msg = s.split(" (os error").next().unwrap_or(&s).to_string();
            format!("[Errno {code}] {msg}")
        }
        None => e.to_string(),
    }
}

/// Opens a TCP connection to `host:port` as urllib3 does (each resolved address in turn).
async fn tcp(t: &Target<'_>, host: &str, port: u16) -> Result<TcpStream, String> {
    let addrs: Vec<std::net::SocketAddr> = match tokio::net::lookup_host((host, port)).await {
        Ok(a) => a.collect(),
        Err(e) => {
            let why = match e.raw_os_error() {
                Some(_) => errno_text(&e),
                None => "[Errno -2] Name or service not known".into(),
            };
            return Err(t.max_retries(format!(
                "NameResolutionError(\"{}: Failed to resolve '{host}' ({why})\")",
                t.conn()
            )));
        }
    };
    let mut last = None;
    for a in addrs {
        match with_timeout(t.connect, TcpStream::connect(a)).await {
            None => {
                return Err(t.max_retries(format!(
                    "ConnectTimeoutError(<{} at 0x7f0000000000>, 'Connection to {host} timed out. (connect timeout={})')",
                    t.conn(),
                    fmt_secs(t.connect)
                )))
            }
            Some(Ok(s)) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Some(Err(e)) => last = Some(e),
        }
    }
    let why = last
        .map(|e| errno_text(&e))
        .unwrap_or_else(|| "[Errno -2] Name or service not known".into());
    Err(t.max_retries(format!(
        "NewConnectionError(\"{}: Failed to establish a new connection: {why}\")",
        t.conn()
    )))
}

/// Accepts any server certificate (`verify: false`).
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The TLS configuration for `verify` (true/None: the Mozilla roots; false: no checks; a
/// path: that CA bundle).
fn tls_config(verify: Option<&Value>) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let cfg = match verify {
        Some(Value::Bool(false)) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
            .with_no_client_auth(),
        Some(Value::String(path)) => {
            use rustls::pki_types::pem::PemObject;
            let mut roots = rustls::RootCertStore::empty();
            let certs = rustls::pki_types::CertificateDer::pem_file_iter(path).map_err(|_| {
                format!("Could not find a suitable TLS CA certificate bundle, invalid path: {path}")
            })?;
            for c in certs {
                let c = c.map_err(|e| format!("[X509] PEM lib ({e})"))?;
                roots.add(c).map_err(|e| e.to_string())?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        _ => {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    Ok(cfg)
}

/// Reads from the connection with the read timeout.
struct Reader {
    io: Box<dyn Io>,
    buf: Vec<u8>,
    read: Option<f64>,
}

enum ReadErr {
    Timeout,
    Io(std::io::Error),
}

impl Reader {
    /// Reads more bytes; `Ok(0)` at EOF.
    async fn fill(&mut self) -> Result<usize, ReadErr> {
        let mut chunk = [0u8; 16384];
        match with_timeout(self.read, self.io.read(&mut chunk)).await {
            None => Err(ReadErr::Timeout),
            Some(Err(e)) => Err(ReadErr::Io(e)),
            Some(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(n)
            }
        }
    }

    async fn line(&mut self) -> Result<Option<Vec<u8>>, ReadErr> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let l = self.buf[..i].to_vec();
                self.buf.drain(..i + 2);
                return Ok(Some(l));
            }
            if self.fill().await? == 0 {
                return Ok(None);
            }
        }
    }

    async fn exact(&mut self, n: usize) -> Result<Option<Vec<u8>>, ReadErr> {
        while self.buf.len() < n {
            if self.fill().await? == 0 {
                return Ok(None);
            }
        }
        Ok(Some(self.buf.drain(..n).collect()))
    }

    async fn read_to_end(&mut self) -> Result<Vec<u8>, ReadErr> {
        while self.fill().await? > 0 {}
        Ok(std::mem::take(&mut self.buf))
    }
}

/// Sends one request and reads the response (no redirects).
async fn send_once(
    req: &Request,
    route: &Route,
    verify: Option<&Value>,
    connect: Option<f64>,
    read: Option<f64>,
    max_size: u64,
) -> Result<Response, Fail> {
    let t = Target {
        url: &req.url,
        connect,
        read,
    };
    let host = t.host();
    let port = t.port();
    let started = Instant::now();
    let (conn_host, conn_port) = match route {
        Route::Direct => (host.clone(), port),
        Route::Proxy(p) => (
            p.host_str()
                .unwrap_or("")
                .trim_matches(['[', ']'])
                .to_string(),
            p.port_or_known_default().unwrap_or(8080),
        ),
    };
    let proxy_auth = match route {
        Route::Proxy(p) if !p.username().is_empty() => {
            let dec = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .to_string()
            };
            Some(basic_auth(
                &dec(p.username()),
                &dec(p.password().unwrap_or("")),
            ))
        }
        _ => None,
    };
    let mut stream = tcp(&t, &conn_host, conn_port).await?;
    let aborted = |e: String| format!("('Connection aborted.', {e})");
    let host_header = match req.url.port() {
        Some(p) => format!("{}:{p}", req.url.host_str().unwrap_or("")),
        None => req.url.host_str().unwrap_or("").to_string(),
    };
    let io: Box<dyn Io> = if t.https() {
        if let Route::Proxy(_) = route {
            // A tunnel through the proxy, then TLS inside it.
            let mut connect_req = format!(
                "CONNECT {host_header_port} HTTP/1.1\r\nHost: {host_header_port}\r\nUser-Agent: python-requests/2.34.2\r\n",
                host_header_port = format!("{}:{port}", req.url.host_str().unwrap_or(""))
            );
            if let Some(a) = &proxy_auth {
                connect_req.push_str(&format!("Proxy-Authorization: {a}\r\n"));
            }
            connect_req.push_str("\r\n");
            stream
                .write_all(connect_req.as_bytes())
                .await
                .map_err(|e| {
                    t.max_retries(format!(
                        "ProxyError('Unable to connect to proxy', OSError({}))",
                        str_repr(&errno_text(&e))
                    ))
                })?;
            let mut r = Reader {
                io: Box::new(stream),
                buf: Vec::new(),
                read,
            };
            let status = match r.line().await {
                Ok(Some(l)) => String::from_utf8_lossy(&l).to_string(),
                _ => String::new(),
            };
            if status.split_whitespace().nth(1) != Some("200") {
                return Err(Fail::Request(t.max_retries(format!(
                    "ProxyError('Unable to connect to proxy', OSError('Tunnel connection failed: {}'))",
                    status.split_once(' ').map_or("", |(_, s)| s)
                ))));
            }
            while let Ok(Some(l)) = r.line().await {
                if l.is_empty() {
                    break;
                }
            }
            // The proxy's answer is fully consumed; the box holds the raw TCP stream.
            let Reader { io, .. } = r;
            tls_wrap(&t, io, verify).await?
        } else {
            tls_wrap(&t, Box::new(stream), verify).await?
        }
    } else {
        Box::new(stream)
    };
    let mut io = io;
    // Request line and headers.
    let target = match route {
        Route::Proxy(_) if !t.https() => {
            let mut u = req.url.clone();
            u.set_fragment(None);
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => t.path(),
    };
    let mut head = format!(
        "{} {target} HTTP/1.1\r\nHost: {host_header}\r\n",
        req.method
    );
    for (k, v) in &req.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if let (Some(a), Route::Proxy(_), false) = (&proxy_auth, route, t.https()) {
        head.push_str(&format!("Proxy-Authorization: {a}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    if let Some(b) = &req.body {
        out.extend_from_slice(b);
    }
    if let Err(e) = io.write_all(&out).await {
        return Err(Fail::Request(aborted(str_repr(&errno_text(&e)))));
    }
    let _ = io.flush().await;
    let mut r = Reader {
        io,
        buf: Vec::new(),
        read,
    };
    let map_read = |e: ReadErr| match e {
        ReadErr::Timeout => t.read_timeout(),
        ReadErr::Io(e) => aborted(format!(
            "ConnectionResetError({})",
            str_repr(&errno_text(&e))
        )),
    };
    // Status line and headers (1xx interim answers are skipped).
    let (status, reason, headers) = loop {
        let head_end = loop {
            if let Some(i) = r.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match r.fill().await.map_err(map_read)? {
                0 => {
                    return Err(Fail::Request(aborted(
                        "RemoteDisconnected('Remote end closed connection without response')"
                            .into(),
                    )))
                }
                _ if r.buf.len() > 1 << 20 => {
                    return Err(Fail::Request(aborted(
                        "LineTooLong('got more than 65536 bytes when reading header line')".into(),
                    )))
                }
                _ => {}
            }
        };
        let raw: Vec<u8> = r.buf.drain(..head_end).collect();
        let (status, reason, headers) = parse_head(&raw).map_err(aborted)?;
        if (100..200).contains(&status) && status != 101 {
            continue;
        }
        break (status, reason, headers);
    };
    let elapsed = started.elapsed().as_secs_f64();
    let resp_head = Response {
        status,
        reason,
        headers,
        body: Vec::new(),
        url: req.url.clone(),
        elapsed: (elapsed * 1e6).round() / 1e6,
    };
    if max_size > 0 {
        if let Some(cl) = resp_head.header("content-length") {
            let n: u64 = cl
                .trim()
                .parse()
                .map_err(|_| format!("invalid literal for int() with base 10: {}", str_repr(cl)))?;
            if n > max_size {
                return Err(Fail::Other(format!(
                    "HTTP response is too large (Content-Length={cl}, limit={max_size} bytes)."
                )));
            }
        }
    }
    // Body framing.
    let no_body = req.method == "HEAD" || status == 204 || status == 304;
    let chunked = resp_head
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let mut body = Vec::new();
    if no_body {
    } else if chunked {
        loop {
            let Some(line) = r.line().await.map_err(map_read)? else {
                return Err(Fail::Request(incomplete(body.len())));
            };
            let line = String::from_utf8_lossy(&line).to_string();
            let size_s = line.split(';').next().unwrap_or("").trim().to_string();
            let size = usize::from_str_radix(&size_s, 16).map_err(|_| {
                format!(
                    "('Connection broken: InvalidChunkLength(got length {}, {} bytes read)', InvalidChunkLength(got length {}, {} bytes read))",
                    py_repr(&Value::String(line.clone())), body.len(), py_repr(&Value::String(line.clone())), body.len()
                )
            })?;
            if size == 0 {
                // Trailers up to the empty line.
                while let Ok(Some(l)) = r.line().await {
                    if l.is_empty() {
                        break;
                    }
                }
                break;
            }
            let Some(chunk) = r.exact(size).await.map_err(map_read)? else {
                return Err(Fail::Request(incomplete(body.len())));
            };
            body.extend_from_slice(&chunk);
            if max_size > 0 && body.len() as u64 > max_size.saturating_mul(4) {
                return Err(Fail::Request(format!(
                    "HTTP response is too large (more than {} bytes).",
                    max_size.saturating_mul(4)
                )));
            }
            let _ = r.line().await.map_err(map_read)?;
        }
    } else if let Some(cl) = resp_head.header("content-length") {
        let n: usize = cl.trim().parse().unwrap_or(0);
        match r.exact(n).await.map_err(map_read)? {
            Some(b) => body = b,
            None => {
                let got = r.buf.len();
                return Err(Fail::Request(format!(
                    "('Connection broken: IncompleteRead({got} bytes read, {} more expected)', IncompleteRead({got} bytes read, {} more expected))",
                    n - got,
                    n - got
                )));
            }
        }
    } else {
        body = r.read_to_end().await.map_err(map_read)?;
    }
    let body = decode_content(resp_head.header("content-encoding"), body)?;
    Ok(Response { body, ..resp_head })
}

fn incomplete(n: usize) -> String {
    format!("('Connection broken: IncompleteRead({n} bytes read)', IncompleteRead({n} bytes read))")
}

async fn tls_wrap(
    t: &Target<'_>,
    io: Box<dyn Io>,
    verify: Option<&Value>,
) -> Result<Box<dyn Io>, String> {
    let cfg = tls_config(verify)?;
    let host = t.host();
    let name = rustls::pki_types::ServerName::try_from(host.clone())
        .map_err(|e| format!("invalid server name {}: {e}", str_repr(&host)))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    match with_timeout(t.connect, connector.connect(name, io)).await {
        None => Err(t.max_retries(format!(
            "ConnectTimeoutError(<{} at 0x7f0000000000>, 'Connection to {host} timed out. (connect timeout={})')",
            t.conn(),
            fmt_secs(t.connect)
        ))),
        Some(Err(e)) => Err(t.max_retries(format!(
            "SSLError(SSLError(1, {}))",
            str_repr(&format!("[SSL] {e}"))
        ))),
        Some(Ok(s)) => Ok(Box::new(s)),
    }
}

/// Status code, reason phrase and headers.
type Head = (u16, String, Vec<(String, String)>);

/// Status, reason and headers of a response head as Python's http.client reads them:
/// names in their original case, values with leading blanks removed but trailing ones kept,
/// folded lines joined, duplicates joined with ", " at the first occurrence.
fn parse_head(raw: &[u8]) -> Result<Head, String> {
    let text: String = raw.iter().map(|b| *b as char).collect();
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let status_line = lines.next().unwrap_or("");
    let bad = || format!("BadStatusLine({})", str_repr(status_line));
    let mut parts = status_line.splitn(3, [' ', '\t']);
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/") {
        return Err(bad());
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .filter(|s| (100..=999).contains(s))
        .ok_or_else(bad)?;
    let reason = parts.next().unwrap_or("").trim().to_string();
    let mut raw_headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = raw_headers.last_mut() {
                v.push_str("\r\n");
                v.push_str(line);
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            raw_headers.push((k.to_string(), v.trim_start_matches([' ', '\t']).to_string()));
        }
    }
    let mut headers: Vec<(String, String)> = Vec::new();
    for (k, v) in raw_headers {
        match headers.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(&k)) {
            Some((_, old)) => {
                old.push_str(", ");
                old.push_str(&v);
            }
            None => headers.push((k, v)),
        }
    }
    Ok((status, reason, headers))
}

fn decode_content(encoding: Option<&str>, body: Vec<u8>) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let Some(enc) = encoding.map(|e| e.trim().to_ascii_lowercase()) else {
        return Ok(body);
    };
    if body.is_empty() {
        return Ok(body);
    }
    let mut out = Vec::new();
    let res = match enc.as_str() {
        "gzip" | "x-gzip" => flate2::read::MultiGzDecoder::new(&body[..]).read_to_end(&mut out),
        "deflate" => match flate2::read::ZlibDecoder::new(&body[..]).read_to_end(&mut out) {
            Ok(n) => Ok(n),
            Err(_) => {
                out.clear();
                flate2::read::DeflateDecoder::new(&body[..]).read_to_end(&mut out)
            }
        },
        _ => return Ok(body),
    };
    res.map(|_| out).map_err(|e| {
        format!("('Received response with content-encoding: {enc}, but failed to decode it.', error({}))", str_repr(&e.to_string()))
    })
}

/// requests' `get_encoding_from_headers`.
fn encoding_of(content_type: Option<&str>) -> Option<String> {
    let ct = content_type?;
    let mut parts = ct.split(';');
    let mime = parts.next().unwrap_or("").trim().to_string();
    for p in parts {
        if let Some((k, v)) = p.split_once('=') {
            if k.trim().eq_ignore_ascii_case("charset") {
                return Some(v.trim().trim_matches(['"', '\'']).to_string());
            }
        }
    }
    if mime.contains("text") {
        return Some("ISO-8859-1".into());
    }
    if mime.contains("application/json") {
        return Some("utf-8".into());
    }
    None
}

fn is_latin1(enc: &str) -> bool {
    matches!(
        enc.to_ascii_lowercase().replace('_', "-").as_str(),
        "iso-8859-1" | "latin-1" | "latin1" | "iso8859-1" | "l1"
    )
}

/// Bytes to text with the response encoding (Latin-1 or UTF-8; other charsets are read as
/// UTF-8).
fn text(body: &[u8], enc: Option<&str>) -> String {
    match enc {
        Some(e) if is_latin1(e) => body.iter().map(|b| *b as char).collect(),
        _ => String::from_utf8_lossy(body).into_owned(),
    }
}

/// The `content` of the result: the parsed JSON body, else the body as text.
fn content(body: &[u8], enc: Option<&str>) -> Value {
    let t = text(body, enc);
    if !t.trim().is_empty() {
        if let Ok(v) = serde_json::from_str::<Value>(t.trim_matches([' ', '\t', '\n', '\r'])) {
            return v;
        }
    }
    Value::String(t)
}

/// requests serialises a redirect response of `history` as its body in 128-byte pieces.
fn history_entry(r: &Response) -> Value {
    Value::Array(
        r.body
            .chunks(128)
            .map(|c| Value::String(String::from_utf8_lossy(c).into_owned()))
            .collect(),
    )
}

fn cookies_of(r: &Response) -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in &r.headers {
        if !k.eq_ignore_ascii_case("set-cookie") {
            continue;
        }
        // Joined Set-Cookie values; a comma inside an Expires date is not a separator.
        for part in split_set_cookie(v) {
            let nv = part.split(';').next().unwrap_or("");
            if let Some((n, val)) = nv.split_once('=') {
                let n = n.trim();
                if !n.is_empty() {
                    m.insert(
                        n.to_string(),
                        Value::String(val.trim().trim_matches('"').to_string()),
                    );
                }
            }
        }
    }
    m
}

fn split_set_cookie(v: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for piece in v.split(", ") {
        let continues = out.last().is_some_and(|last| {
            let l = last.to_ascii_lowercase();
            l.rsplit(';').next().is_some_and(|attr| {
                attr.trim_start().starts_with("expires=") && !attr.contains(',')
            })
        });
        if continues {
            if let Some(last) = out.last_mut() {
                last.push_str(", ");
                last.push_str(piece);
            }
        } else {
            out.push(piece.to_string());
        }
    }
    out
}

async fn perform(ctx: &ActionContext, input: &Value, mistral: bool) -> Result<Value, String> {
    exchange(ctx, input, mistral).await.map_err(|f| match f {
        Fail::Request(m) => format!("Failed to send HTTP request: {m}"),
        Fail::Other(m) => m,
    })
}

async fn exchange(ctx: &ActionContext, input: &Value, mistral: bool) -> Result<Value, Fail> {
    let p = policy();
    let url_s = match input.get("url") {
        Some(Value::String(s)) => s.clone(),
        other => {
            return Err(Fail::Other(format!(
                "'{}' object has no attribute 'decode'",
                py_type(other.unwrap_or(&Value::Null))
            )))
        }
    };
    validate_url(&url_s, &p).await.map_err(Fail::Other)?;
    let mut req = prepare(ctx, input, mistral)?;
    let (connect, read) = timeouts(input.get("timeout"), &p)?;
    let verify = input.get("verify").filter(|v| !v.is_null());
    let follow = input.get("allow_redirects").is_some_and(truthy);
    let proxies = input.get("proxies").filter(|v| !v.is_null());
    let mut history = Vec::new();
    let resp = loop {
        let route = route(&req.url, proxies)?;
        let resp = send_once(&req, &route, verify, connect, read, p.max_response_size).await?;
        let location = resp.header("location").map(str::to_string);
        let redirect = matches!(resp.status, 301 | 302 | 303 | 307 | 308);
        let (true, true, Some(loc)) = (follow, redirect, location) else {
            break resp;
        };
        if history.len() >= 30 {
            return Err(Fail::Request("Exceeded 30 redirects.".into()));
        }
        let next = req
            .url
            .join(&loc)
            .map_err(|e| format!("Invalid URL {}: {e}", str_repr(&loc)))?;
        // Redirect targets go through the same egress policy as the first URL.
        validate_url(next.as_str(), &p).await.map_err(Fail::Other)?;
        let keep_body = matches!(resp.status, 307 | 308);
        let to_get = (matches!(resp.status, 302 | 303) && req.method != "HEAD")
            || (resp.status == 301 && req.method == "POST");
        if to_get {
            req.method = "GET".into();
        }
        if !keep_body {
            req.body = None;
            req.headers.retain(|(k, _)| {
                !["content-length", "content-type", "transfer-encoding"]
                    .contains(&k.to_ascii_lowercase().as_str())
            });
        }
        if next.host_str() != req.url.host_str()
            || next.scheme() != req.url.scheme() && next.scheme() != "https"
        {
            req.headers
                .retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
        }
        history.push(history_entry(&resp));
        req.url = next;
    };
    let enc = encoding_of(resp.header("content-type"));
    let headers: Map<String, Value> = resp
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let mut out = Map::new();
    out.insert("content".into(), content(&resp.body, enc.as_deref()));
    out.insert("status".into(), json!(resp.status));
    out.insert("headers".into(), Value::Object(headers));
    out.insert("url".into(), Value::String(resp.url.to_string()));
    out.insert("history".into(), Value::Array(history));
    out.insert(
        "encoding".into(),
        enc.map(Value::String).unwrap_or(Value::Null),
    );
    out.insert("reason".into(), Value::String(resp.reason.clone()));
    out.insert("cookies".into(), Value::Object(cookies_of(&resp)));
    out.insert("elapsed".into(), json!(resp.elapsed));
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlsplit_and_hosts_follow_python() {
        assert_eq!(urlsplit("ftp://x/y").scheme, "ftp");
        assert_eq!(urlsplit("no-scheme").scheme, "");
        assert_eq!(urlsplit("HTTP://Host:80/p").netloc, "Host:80");
        assert_eq!(
            host_port("u:p@[FE80::1]:8080").unwrap(),
            (Some("fe80::1".into()), Some(8080))
        );
        assert_eq!(host_port("").unwrap(), (None, None));
        assert!(host_port("h:abc").unwrap_err().contains("'abc'"));
    }

    #[test]
    fn params_encode_like_urlencode() {
        assert_eq!(
            urlencode(&json!({"a": "x y", "b": [1, 2], "c": null, "d": true})).unwrap(),
            "a=x+y&b=1&b=2&d=True"
        );
        assert_eq!(urlencode(&json!("raw=1")).unwrap(), "raw=1");
    }

    #[test]
    fn encoding_and_content_follow_requests() {
        assert_eq!(encoding_of(Some("text/plain")), Some("ISO-8859-1".into()));
        assert_eq!(encoding_of(Some("application/json")), Some("utf-8".into()));
        assert_eq!(
            encoding_of(Some("text/html; charset=\"UTF-8\"")),
            Some("UTF-8".into())
        );
        assert_eq!(encoding_of(Some("application/octet-stream")), None);
        assert_eq!(content(b"{\"a\": 1}", None), json!({"a": 1}));
        assert_eq!(content(b"caf\xe9", Some("ISO-8859-1")), json!("café"));
        assert_eq!(content(b"", None), json!(""));
    }

    #[test]
    fn response_heads_keep_what_the_peer_sent() {
        let (status, reason, headers) = parse_head(
            b"HTTP/1.0 404 Not Found\r\nServer: conformance \r\nX-Request-ID: a\r\nset-cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n",
        )
        .unwrap();
        assert_eq!((status, reason.as_str()), (404, "Not Found"));
        assert_eq!(
            headers,
            vec![
                ("Server".to_string(), "conformance ".to_string()),
                ("X-Request-ID".to_string(), "a".to_string()),
                ("set-cookie".to_string(), "a=1, b=2".to_string()),
            ]
        );
        assert!(parse_head(b"garbage\r\n\r\n").is_err());
    }

    #[test]
    fn basic_auth_and_base64() {
        assert_eq!(basic_auth("user", "pass"), "Basic dXNlcjpwYXNz");
        assert_eq!(base64(b"ab"), "YWI=");
    }

    #[test]
    fn set_cookie_split_keeps_expires_dates() {
        let v = "a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Path=/, b=2";
        assert_eq!(split_set_cookie(v).len(), 2);
    }

    #[tokio::test]
    async fn egress_policy_texts() {
        let p = Policy::default();
        assert_eq!(
            validate_url("http://169.254.169.254/x", &p)
                .await
                .unwrap_err(),
            "URL host '169.254.169.254' resolves to a blocked address (169.254.169.254)."
        );
        assert_eq!(
            validate_url("file:///etc/passwd", &p).await.unwrap_err(),
            "URL scheme 'file' is not allowed (only http and https are)."
        );
        assert_eq!(
            validate_url("http:///x", &p).await.unwrap_err(),
            "URL does not contain a host."
        );
        let allow = Policy {
            allowed_hosts: vec!["example.org".into()],
            ..Policy::default()
        };
        assert_eq!(
            validate_url("http://other.example/", &allow)
                .await
                .unwrap_err(),
            "Host 'other.example' is not in [action_std_http] allowed_hosts."
        );
        let open = Policy {
            denied: parse_cidrs("10.0.0.0/8, bogus"),
            ..Policy::default()
        };
        assert!(validate_url("http://127.0.0.1:1/", &open).await.is_ok());
        assert!(validate_url("http://10.1.2.3/", &open).await.is_err());
    }

    // ------------------------------------------------------------ against a real local peer

    use tokio::net::TcpListener;
    use tokio::sync::mpsc;

    fn loopback_allowed() {
        set_policy(Policy {
            denied: parse_cidrs("169.254.0.0/16,fe80::/10"),
            ..Policy::default()
        });
    }

    /// A raw HTTP peer: answers each connection with the next canned response and reports
    /// the request it read (head and Content-Length body).
    async fn peer(responses: Vec<Vec<u8>>) -> (u16, mpsc::UnboundedReceiver<String>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            for resp in responses {
                let Ok((mut s, _)) = l.accept().await else {
                    return;
                };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = s.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..i]).to_lowercase();
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length: "))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if buf.len() >= i + 4 + len {
                            break;
                        }
                    }
                }
                let _ = tx.send(String::from_utf8_lossy(&buf).into_owned());
                let _ = s.write_all(&resp).await;
                let _ = s.shutdown().await;
            }
        });
        (port, rx)
    }

    fn ctx() -> ActionContext {
        ActionContext {
            action_execution_id: "a-1".into(),
            task_execution_id: Some("t-1".into()),
            workflow_execution_id: Some("w-1".into()),
            workflow_name: Some("wf".into()),
            timeout: None,
        }
    }

    fn error_text(o: Option<ActionOutcome>) -> String {
        match o {
            Some(ActionOutcome::Error(Value::String(s))) => s,
            other => panic!("expected an error text, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn get_with_params_auth_cookies_and_the_result_mapping() {
        loopback_allowed();
        let (port, mut rx) = peer(vec![b"HTTP/1.1 200 Fine Thanks\r\nContent-Type: application/json\r\nX-Request-ID: r1\r\nSet-Cookie: sid=abc; Path=/\r\nContent-Length: 8\r\n\r\n{\"a\": 1}".to_vec()]).await;
        let out = run(
            &ctx(),
            &json!({
                "url": format!("http://127.0.0.1:{port}/p?x=1"),
                "params": {"q": "a b", "n": 2},
                "headers": {"X-Num": 5, "X-Flag": true},
                "auth": "user:pass",
                "cookies": {"c": "d"},
                "timeout": 5,
            }),
            false,
        )
        .await;
        let req = rx.recv().await.unwrap();
        assert!(
            req.starts_with("GET /p?x=1&q=a+b&n=2 HTTP/1.1\r\n"),
            "{req}"
        );
        assert!(req.contains(&format!("\r\nHost: 127.0.0.1:{port}\r\n")));
        assert!(req.contains("\r\nX-Num: 5\r\nX-Flag: True\r\n"), "{req}");
        assert!(req.contains("\r\nAuthorization: Basic dXNlcjpwYXNz\r\n"));
        assert!(req.contains("\r\nCookie: c=d\r\n"));
        assert!(req.contains("\r\nUser-Agent: python-requests/2.34.2\r\n"));
        let Some(ActionOutcome::Success(r)) = out else {
            panic!("{out:?}")
        };
        assert_eq!(r["content"], json!({"a": 1}));
        assert_eq!(r["status"], json!(200));
        assert_eq!(r["reason"], json!("Fine Thanks"));
        assert_eq!(r["encoding"], json!("utf-8"));
        assert_eq!(r["headers"]["X-Request-ID"], json!("r1"));
        assert_eq!(r["cookies"], json!({"sid": "abc"}));
        assert_eq!(r["history"], json!([]));
        assert_eq!(
            r["url"],
            json!(format!("http://127.0.0.1:{port}/p?x=1&q=a+b&n=2"))
        );
        assert!(r["elapsed"].as_f64().unwrap() >= 0.0);
        let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "content", "status", "headers", "url", "history", "encoding", "reason", "cookies",
                "elapsed"
            ]
        );
    }

    #[tokio::test]
    async fn json_and_dict_bodies() {
        loopback_allowed();
        let ok = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n".to_vec();
        let (port, mut rx) = peer(vec![ok.clone(), ok]).await;
        let url = format!("http://127.0.0.1:{port}/x");
        let out = run(
            &ctx(),
            &json!({"url": url, "method": "post", "json": {"k": [1, "é"]}}),
            false,
        )
        .await;
        let req = rx.recv().await.unwrap();
        assert!(req.starts_with("POST /x HTTP/1.1\r\n"));
        assert!(req.contains("\r\nContent-Type: application/json\r\n"));
        assert!(req.ends_with("\r\n\r\n{\"k\": [1, \"\\u00e9\"]}"), "{req}");
        let Some(ActionOutcome::Success(r)) = out else {
            panic!("{out:?}")
        };
        assert_eq!(r["content"], json!(""));
        assert_eq!(r["encoding"], Value::Null);
        run(
            &ctx(),
            &json!({"url": url, "method": "PUT", "body": {"a": 1}}),
            false,
        )
        .await;
        let req = rx.recv().await.unwrap();
        assert!(!req.to_lowercase().contains("content-type"), "{req}");
        assert!(
            req.ends_with("\r\nContent-Length: 8\r\n\r\n{\"a\": 1}"),
            "{req}"
        );
    }

    #[tokio::test]
    async fn error_status_is_an_error_result_with_the_mapping() {
        loopback_allowed();
        let (port, _rx) = peer(vec![
            b"HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n\r\nno such thing".to_vec(),
        ])
        .await;
        let out = run(
            &ctx(),
            &json!({"url": format!("http://127.0.0.1:{port}/")}),
            false,
        )
        .await;
        let Some(ActionOutcome::Error(r)) = out else {
            panic!("{out:?}")
        };
        assert_eq!(r["status"], json!(404));
        assert_eq!(r["content"], json!("no such thing"));
        assert_eq!(r["encoding"], json!("ISO-8859-1"));
    }

    #[tokio::test]
    async fn redirects_are_followed_only_when_allowed() {
        loopback_allowed();
        let redirect =
            b"HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Length: 5\r\n\r\nmoved".to_vec();
        let chunked_gzip = {
            use std::io::Write;
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(b"[1, 2]").unwrap();
            let data = gz.finish().unwrap();
            let mut r =
                b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
                    .to_vec();
            r.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
            r.extend_from_slice(&data);
            r.extend_from_slice(b"\r\n0\r\n\r\n");
            r
        };
        let (port, mut rx) = peer(vec![redirect.clone(), chunked_gzip, redirect]).await;
        let url = format!("http://127.0.0.1:{port}/start");
        let out = run(
            &ctx(),
            &json!({"url": url, "method": "POST", "body": "x", "allow_redirects": true}),
            false,
        )
        .await;
        let Some(ActionOutcome::Success(r)) = out else {
            panic!("{out:?}")
        };
        assert_eq!(r["content"], json!([1, 2]));
        assert_eq!(r["history"], json!([["moved"]]));
        assert_eq!(r["url"], json!(format!("http://127.0.0.1:{port}/next")));
        rx.recv().await.unwrap();
        let second = rx.recv().await.unwrap();
        assert!(second.starts_with("GET /next HTTP/1.1"), "{second}");
        // Without allow_redirects the 302 itself is the (successful) answer.
        let out = run(&ctx(), &json!({"url": url}), false).await;
        let Some(ActionOutcome::Success(r)) = out else {
            panic!("{out:?}")
        };
        assert_eq!(r["status"], json!(302));
    }

    #[tokio::test]
    async fn mistral_http_sends_the_execution_headers_and_waits_for_the_callback() {
        loopback_allowed();
        let (port, mut rx) = peer(vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec(),
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n".to_vec(),
        ])
        .await;
        let url = format!("http://127.0.0.1:{port}/hook");
        assert!(run(&ctx(), &json!({"url": url}), true).await.is_none());
        let req = rx.recv().await.unwrap();
        for h in [
            "Mistral-Workflow-Name: wf",
            "Mistral-Workflow-Execution-Id: w-1",
            "Mistral-Task-Id: t-1",
            "Mistral-Action-Execution-Id: a-1",
            "Mistral-Callback-URL: /v2/action_executions/a-1",
        ] {
            assert!(req.contains(h), "{h} missing in {req}");
        }
        let out = run(&ctx(), &json!({"url": url}), true).await;
        assert!(matches!(out, Some(ActionOutcome::Error(ref r)) if r["status"] == json!(500)));
    }

    #[tokio::test]
    async fn transport_failures_name_their_cause() {
        loopback_allowed();
        // Refused: a port nobody listens on.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = error_text(
            run(
                &ctx(),
                &json!({"url": format!("http://127.0.0.1:{port}/x")}),
                false,
            )
            .await,
        );
        assert!(e.contains("HTTPAction object at 0x"), "{e}");
        assert!(e.contains(&format!("msg='Failed to send HTTP request: HTTPConnectionPool(host='127.0.0.1', port={port}): Max retries exceeded with url: /x (Caused by NewConnectionError(\"HTTPConnection(host='127.0.0.1', port={port}): Failed to establish a new connection: [Errno 111] Connection refused\"))']")), "{e}");
        // Unresolvable host.
        let e = error_text(run(&ctx(), &json!({"url": "http://nohost.invalid/"}), false).await);
        assert!(e.contains("Caused by NameResolutionError(\"HTTPConnection(host='nohost.invalid', port=80): Failed to resolve 'nohost.invalid'"), "{e}");
        // A peer that never answers: the read timeout.
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let hold = tokio::spawn(async move {
            let conn = l.accept().await;
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(conn);
        });
        let started = Instant::now();
        let e = error_text(
            run(
                &ctx(),
                &json!({"url": format!("http://127.0.0.1:{port}/"), "timeout": 0.3}),
                false,
            )
            .await,
        );
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(e.ends_with(&format!("msg='Failed to send HTTP request: HTTPConnectionPool(host='127.0.0.1', port={port}): Read timed out. (read timeout=0.3)']")), "{e}");
        hold.abort();
        // The egress policy.
        let e = error_text(
            run(
                &ctx(),
                &json!({"url": "http://169.254.169.254/latest"}),
                false,
            )
            .await,
        );
        assert!(e.ends_with("msg='URL host '169.254.169.254' resolves to a blocked address (169.254.169.254).']"), "{e}");
        // A too large answer (by Content-Length).
        let (port, _rx) = peer(vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n".to_vec()
        ])
        .await;
        let e = error_text(
            run(
                &ctx(),
                &json!({"url": format!("http://127.0.0.1:{port}/")}),
                false,
            )
            .await,
        );
        assert!(
            e.ends_with(
                "msg='HTTP response is too large (Content-Length=99999999, limit=5242880 bytes).']"
            ),
            "{e}"
        );
    }

    #[tokio::test]
    async fn https_verifies_certificates_unless_told_not_to() {
        use rustls::pki_types::pem::PemObject;
        loopback_allowed();
        let dir = tempfile::tempdir().unwrap();
        let made = std::process::Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-keyout",
            ])
            .arg(dir.path().join("k.pem"))
            .arg("-out")
            .arg(dir.path().join("c.pem"))
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !made {
            eprintln!("SKIPPED https: the openssl tool is not installed");
            return;
        }
        let certs: Vec<_> =
            rustls::pki_types::CertificateDer::pem_file_iter(dir.path().join("c.pem"))
                .unwrap()
                .map(|c| c.unwrap())
                .collect();
        let key =
            rustls::pki_types::PrivateKeyDer::from_pem_file(dir.path().join("k.pem")).unwrap();
        let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut t) = acceptor.accept(s).await else {
                        return;
                    };
                    let mut buf = [0u8; 4096];
                    let _ = t.read(&mut buf).await;
                    let _ = t
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"tls\": 1}\n")
                        .await;
                    let _ = t.shutdown().await;
                });
            }
        });
        let url = format!("https://127.0.0.1:{port}/");
        let out = run(&ctx(), &json!({"url": url, "verify": false}), false).await;
        let Some(ActionOutcome::Success(r)) = out else {
            panic!("{out:?}")
        };
        assert_eq!(r["content"], json!({"tls": 1}));
        let e = error_text(run(&ctx(), &json!({"url": url}), false).await);
        assert!(e.contains(&format!("msg='Failed to send HTTP request: HTTPSConnectionPool(host='127.0.0.1', port={port}): Max retries exceeded with url: / (Caused by SSLError(")), "{e}");
    }
}
