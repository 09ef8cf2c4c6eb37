//! `std.email`: sends a message over SMTP as upstream's SendEmailAction does -- plain SMTP
//! to `smtp_server` (`host` or `host:port`, port 25 by default); with `smtp_password`
//! STARTTLS and then login as `from_addr`. Like Python's `starttls()` without a context, the
//! server certificate is not verified. The message is a MIME text (or
//! multipart/alternative with `html_body`) laid out as Python's email package writes it.
//! Result `null`; failures read `Failed to send an email message: <cause>`.

use std::time::Duration;

use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde_json::Value;

use super::{raised, ActionContext};
use crate::engine::controller::ActionOutcome;
use crate::engine::util::py_str;

/// Connection and command timeout (smtplib has none by default; nothing may hang forever).
const TIMEOUT: Duration = Duration::from_secs(60);

fn list(v: Option<&Value>) -> Vec<String> {
    match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(py_str).collect(),
        // A single address given as a string (upstream needs a list here).
        Some(Value::String(s)) if s.is_empty() => Vec::new(),
        Some(other) => vec![py_str(other)],
    }
}

fn text_or(v: Option<&Value>, default: &str) -> String {
    match v {
        Some(v) if crate::engine::util::truthy(v) => py_str(v),
        _ => default.to_string(),
    }
}

/// Base64 in 76-character lines (Python's `encodebytes`).
fn b64_lines(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut flat = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                flat.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                flat.push('=');
            }
        }
    }
    let mut out = String::new();
    for chunk in flat.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        out.push_str("\r\n");
    }
    out
}

/// An RFC 2047 encoded word as `Header(s, 'utf-8')` writes it: Q or B, whichever is
/// shorter; long texts become several words on folded lines.
fn encode_header(s: &str) -> String {
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in s.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(encode_word(&chunk));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() || words.is_empty() {
        words.push(encode_word(&chunk));
    }
    words.join("\r\n ")
}

fn encode_word(s: &str) -> String {
    let b = b64_lines(s.as_bytes()).replace("\r\n", "");
    let mut q = String::new();
    for byte in s.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'!' | b'*' | b'+' | b'-' | b'/' => {
                q.push(byte as char)
            }
            b' ' => q.push('_'),
            _ => q.push_str(&format!("={byte:02X}")),
        }
    }
    if b.len() < q.len() {
        format!("=?utf-8?b?{b}?=")
    } else {
        format!("=?utf-8?q?{q}?=")
    }
}

fn text_part(body: &str, subtype: &str) -> String {
    format!(
        "Content-Type: text/{subtype}; charset=\"utf-8\"\r\nMIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\n"
    ) + "\r\n"
        + &b64_lines(body.as_bytes())
}

/// The message text, headers in upstream's order.
fn message(
    from: &str,
    to: &[String],
    cc: &[String],
    reply_to: &[String],
    subject: &str,
    body: &str,
    html: Option<&str>,
) -> String {
    let mut top = String::new();
    let payload = match html {
        None => {
            top.push_str("Content-Type: text/plain; charset=\"utf-8\"\r\nMIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\n");
            b64_lines(body.as_bytes())
        }
        Some(h) => {
            let boundary = format!(
                "==============={:019}==",
                uuid::Uuid::new_v4().as_u128() % 10_000_000_000_000_000_000
            );
            top.push_str(&format!(
                "Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\nMIME-Version: 1.0\r\n"
            ));
            format!(
                "--{boundary}\r\n{}\r\n--{boundary}\r\n{}\r\n--{boundary}--\r\n",
                text_part(body, "plain"),
                text_part(h, "html")
            )
        }
    };
    top.push_str(&format!("Subject: {}\r\n", encode_header(subject)));
    top.push_str(&format!("From: {from}\r\n"));
    top.push_str(&format!("Reply-To: {}\r\n", reply_to.join(", ")));
    top.push_str(&format!("To: {}\r\n", to.join(", ")));
    if !cc.is_empty() {
        top.push_str(&format!("cc: {}\r\n", cc.join(", ")));
    }
    top + "\r\n" + &payload
}

/// `host[:port]` as smtplib reads it.
fn server(s: &str) -> Result<(String, u16), String> {
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => p
            .parse()
            .map(|p| (h.to_string(), p))
            .map_err(|_| "nonnumeric port".to_string()),
        _ => Ok((s.to_string(), 25)),
    }
}

/// The innermost cause, worded as Python words OS errors.
fn cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: &(dyn std::error::Error + 'static) = e;
    let mut text = e.to_string();
    while let Some(src) = cur.source() {
        cur = src;
        if let Some(io) = cur.downcast_ref::<std::io::Error>() {
            if let Some(code) = io.raw_os_error() {
                let s = io.to_string();
                let msg = s.split(" (os error").next().unwrap_or(&s).to_string();
                return format!("[Errno {code}] {msg}");
            }
        }
        text = format!("{text}: {cur}");
    }
    text
}

pub async fn run(ctx: &ActionContext, input: &Value) -> ActionOutcome {
    match send(input).await {
        Ok(()) => ActionOutcome::Success(Value::Null),
        Err(e) => raised(
            "SendEmailAction",
            &ctx.action_execution_id,
            &format!("Failed to send an email message: {e}"),
        ),
    }
}

async fn send(input: &Value) -> Result<(), String> {
    let from = input.get("from_addr").map(py_str).unwrap_or_default();
    let to = list(input.get("to_addrs"));
    let cc = list(input.get("cc_addrs"));
    let bcc = list(input.get("bcc_addrs"));
    let reply_to = list(input.get("reply_to"));
    let subject = text_or(input.get("subject"), "<No subject>");
    let body = text_or(input.get("body"), "<No body>");
    let html = match input.get("html_body") {
        Some(v) if crate::engine::util::truthy(v) => Some(py_str(v)),
        _ => None,
    };
    let password = match input.get("smtp_password") {
        None | Some(Value::Null) => None,
        Some(v) => Some(py_str(v)),
    };
    let (host, port) = server(&input.get("smtp_server").map(py_str).unwrap_or_default())?;
    let msg = message(&from, &to, &cc, &reply_to, &subject, &body, html.as_deref());
    let addr = |a: &str| {
        a.parse::<Address>()
            .map_err(|e| format!("{{'{a}': (553, b'5.1.3 invalid address: {e}')}}"))
    };
    let rcpt = cc
        .iter()
        .chain(&bcc)
        .chain(&to)
        .map(|a| addr(a))
        .collect::<Result<Vec<_>, _>>()?;
    let envelope = Envelope::new(Some(addr(&from)?), rcpt).map_err(|e| e.to_string())?;
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
        .port(port)
        .timeout(Some(TIMEOUT));
    if let Some(pw) = password {
        let tls = TlsParameters::builder(host)
            .dangerous_accept_invalid_certs(true)
            .dangerous_accept_invalid_hostnames(true)
            .build_rustls()
            .map_err(|e| cause(&e))?;
        b = b
            .tls(Tls::Required(tls))
            .credentials(Credentials::new(from, pw));
    }
    let transport = b.build();
    match tokio::time::timeout(TIMEOUT * 2, transport.send_raw(&envelope, msg.as_bytes())).await {
        Err(_) => Err("timed out".into()),
        Ok(Err(e)) => Err(cause(&e)),
        Ok(Ok(_)) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_encoded_like_python() {
        assert_eq!(encode_header("Hi there"), "=?utf-8?q?Hi_there?=");
        assert_eq!(encode_header("Ünï"), "=?utf-8?b?w5xuw68=?=");
        assert_eq!(b64_lines(b"Hello body"), "SGVsbG8gYm9keQ==\r\n");
    }

    #[test]
    fn message_layout() {
        let m = message(
            "a@x",
            &["b@y".into(), "c@z".into()],
            &["d@w".into()],
            &[],
            "Hi there",
            "Hello body",
            None,
        );
        assert_eq!(
            m,
            "Content-Type: text/plain; charset=\"utf-8\"\r\nMIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\nSubject: =?utf-8?q?Hi_there?=\r\nFrom: a@x\r\nReply-To: \r\nTo: b@y, c@z\r\ncc: d@w\r\n\r\nSGVsbG8gYm9keQ==\r\n"
        );
    }

    #[test]
    fn server_with_port() {
        assert_eq!(server("mail:2525").unwrap(), ("mail".into(), 2525));
        assert_eq!(server("mail").unwrap(), ("mail".into(), 25));
    }

    // ------------------------------------------------------------ against a local SMTP sink

    use std::sync::Arc;

    use serde_json::json;
    use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;
    use tokio::sync::mpsc;
    use tokio_rustls::rustls;

    /// What the sink received in one session.
    #[derive(Debug, Default)]
    struct Received {
        tls: bool,
        auth: Option<String>,
        from: String,
        rcpt: Vec<String>,
        data: String,
    }

    fn b64_decode(s: &str) -> Vec<u8> {
        const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = Vec::new();
        let (mut acc, mut bits) = (0u32, 0);
        for c in s.bytes() {
            let Some(v) = T.iter().position(|t| *t == c) else {
                continue;
            };
            acc = acc << 6 | v as u32;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
        }
        out
    }

    /// A self-signed certificate made with the openssl tool (None when it is missing).
    fn tls_acceptor(dir: &std::path::Path) -> Option<tokio_rustls::TlsAcceptor> {
        use rustls::pki_types::pem::PemObject;
        let ok = std::process::Command::new("openssl")
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
                "-keyout",
            ])
            .arg(dir.join("k.pem"))
            .arg("-out")
            .arg(dir.join("c.pem"))
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("SKIPPED STARTTLS: the openssl tool is not installed");
            return None;
        }
        let certs: Vec<_> = rustls::pki_types::CertificateDer::pem_file_iter(dir.join("c.pem"))
            .unwrap()
            .map(|c| c.unwrap())
            .collect();
        let key = rustls::pki_types::PrivateKeyDer::from_pem_file(dir.join("k.pem")).unwrap();
        let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        Some(tokio_rustls::TlsAcceptor::from(Arc::new(cfg)))
    }

    /// Speaks SMTP on one stream until QUIT or STARTTLS; `Some(rx)` = upgrade requested.
    async fn session<S: AsyncRead + AsyncWrite + Unpin>(
        s: S,
        r: &mut Received,
        can_tls: bool,
        password: &str,
    ) -> (S, bool) {
        let mut s = BufReader::new(s);
        let mut line = String::new();
        loop {
            line.clear();
            if s.read_line(&mut line).await.unwrap_or(0) == 0 {
                return (s.into_inner(), false);
            }
            let cmd = line.trim_end().to_string();
            let upper = cmd.to_ascii_uppercase();
            let reply: String = if upper.starts_with("EHLO") {
                if can_tls && !r.tls {
                    "250-sink\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n".into()
                } else {
                    "250-sink\r\n250 AUTH PLAIN LOGIN\r\n".into()
                }
            } else if upper == "STARTTLS" {
                let _ = s.write_all(b"220 ready\r\n").await;
                return (s.into_inner(), true);
            } else if let Some(b) = upper.strip_prefix("AUTH PLAIN ") {
                let raw = b64_decode(&cmd[cmd.len() - b.len()..]);
                let parts: Vec<String> = raw
                    .split(|c| *c == 0)
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect();
                r.auth = Some(parts.get(1).cloned().unwrap_or_default());
                if parts.get(2).map(String::as_str) == Some(password) {
                    "235 2.7.0 Authentication successful\r\n".into()
                } else {
                    "535 5.7.8 Authentication credentials invalid\r\n".into()
                }
            } else if upper.starts_with("MAIL FROM:") {
                r.from = cmd[10..].trim().trim_matches(['<', '>']).to_string();
                "250 OK\r\n".into()
            } else if upper.starts_with("RCPT TO:") {
                r.rcpt
                    .push(cmd[8..].trim().trim_matches(['<', '>']).to_string());
                "250 OK\r\n".into()
            } else if upper == "DATA" {
                let _ = s.write_all(b"354 go\r\n").await;
                loop {
                    line.clear();
                    if s.read_line(&mut line).await.unwrap_or(0) == 0 || line == ".\r\n" {
                        break;
                    }
                    r.data.push_str(&line);
                }
                "250 queued\r\n".into()
            } else if upper == "QUIT" {
                let _ = s.write_all(b"221 bye\r\n").await;
                return (s.into_inner(), false);
            } else {
                "250 OK\r\n".into()
            };
            let _ = s.write_all(reply.as_bytes()).await;
        }
    }

    /// An SMTP sink on 127.0.0.1 serving one session per connection.
    async fn sink(
        tls: Option<tokio_rustls::TlsAcceptor>,
        password: &'static str,
    ) -> (u16, mpsc::UnboundedReceiver<Received>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let tls = tls.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let _ = s.write_all(b"220 sink ESMTP\r\n").await;
                    let mut r = Received::default();
                    let (s, upgrade) = session(s, &mut r, tls.is_some(), password).await;
                    if upgrade {
                        if let Some(acc) = tls {
                            if let Ok(t) = acc.accept(s).await {
                                r.tls = true;
                                session(t, &mut r, false, password).await;
                            }
                        }
                    }
                    let _ = tx.send(r);
                });
            }
        });
        (port, rx)
    }

    fn ctx() -> ActionContext {
        ActionContext::for_action("mail-1")
    }

    #[tokio::test]
    async fn plain_smtp_delivers_the_message() {
        let (port, mut rx) = sink(None, "").await;
        let out = run(
            &ctx(),
            &json!({
                "from_addr": "wf@example.org",
                "to_addrs": ["a@example.org", "b@example.org"],
                "cc_addrs": ["c@example.org"],
                "bcc_addrs": ["d@example.org"],
                "reply_to": ["r@example.org"],
                "smtp_server": format!("127.0.0.1:{port}"),
                "subject": "Report ü",
                "body": "All done.\nBye",
            }),
        )
        .await;
        assert_eq!(out, ActionOutcome::Success(Value::Null));
        let r = rx.recv().await.unwrap();
        assert!(!r.tls && r.auth.is_none());
        assert_eq!(r.from, "wf@example.org");
        assert_eq!(
            r.rcpt,
            [
                "c@example.org",
                "d@example.org",
                "a@example.org",
                "b@example.org"
            ]
        );
        assert!(
            r.data.contains("Subject: =?utf-8?b?UmVwb3J0IMO8?=\r\n"),
            "{}",
            r.data
        );
        assert!(r
            .data
            .contains("\r\nTo: a@example.org, b@example.org\r\ncc: c@example.org\r\n"));
        assert!(r.data.contains("\r\nReply-To: r@example.org\r\n"));
        assert!(
            !r.data.contains("d@example.org"),
            "bcc stays out of the headers"
        );
        let body = r.data.split("\r\n\r\n").nth(1).unwrap();
        assert_eq!(b64_decode(body), b"All done.\nBye");
    }

    #[tokio::test]
    async fn password_means_starttls_and_login() {
        let dir = tempfile::tempdir().unwrap();
        let Some(acc) = tls_acceptor(dir.path()) else {
            return;
        };
        let (port, mut rx) = sink(Some(acc), "pw").await;
        let input = |pw: &str| {
            json!({
                "from_addr": "wf@example.org",
                "to_addrs": ["a@example.org"],
                "smtp_server": format!("127.0.0.1:{port}"),
                "smtp_password": pw,
                "html_body": "<b>hi</b>",
            })
        };
        assert_eq!(
            run(&ctx(), &input("pw")).await,
            ActionOutcome::Success(Value::Null)
        );
        let r = rx.recv().await.unwrap();
        assert!(r.tls, "STARTTLS was used");
        assert_eq!(r.auth.as_deref(), Some("wf@example.org"));
        assert!(r
            .data
            .contains("Content-Type: multipart/alternative; boundary="));
        assert!(r
            .data
            .contains("Content-Type: text/html; charset=\"utf-8\""));
        assert!(
            r.data.contains("Subject: =?utf-8?q?=3CNo_subject=3E?="),
            "{}",
            r.data
        );
        let ActionOutcome::Error(Value::String(e)) = run(&ctx(), &input("wrong")).await else {
            panic!("a wrong password fails")
        };
        assert!(e.contains("SendEmailAction object at 0x"), "{e}");
        assert!(e.contains("msg='Failed to send an email message: "), "{e}");
        assert!(e.contains("535"), "{e}");
    }

    #[tokio::test]
    async fn unreachable_server_fails_with_the_cause() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let ActionOutcome::Error(Value::String(e)) = run(
            &ctx(),
            &json!({"from_addr": "a@x.org", "to_addrs": ["b@x.org"], "smtp_server": format!("127.0.0.1:{port}")}),
        )
        .await
        else {
            panic!("refused")
        };
        assert!(
            e.ends_with("msg='Failed to send an email message: [Errno 111] Connection refused']"),
            "{e}"
        );
    }
}
