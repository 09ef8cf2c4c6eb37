//! `std.ssh` and `std.ssh_proxied`: run a command over SSH (password or private key auth,
//! host keys accepted as upstream's AutoAddPolicy does) on one host or a list of hosts.
//!
//! Results and errors as upstream's SSHAction: stdout of the command (a list for a host
//! list); with `return_result_on_error` `{stdout, stderr, exit_code}` per host; any failure
//! (connection, auth, non-zero exit) is `Failed to execute ssh cmd '<cmd>' on <hosts>` --
//! upstream keeps the cause out of the API-visible text and only logs it; so do we.
//!
//! Deviations, both additive: a host may carry a port (`host:2222`, `[::1]:2222`; upstream
//! always uses 22), and std.ssh_proxied reaches the target through a direct-tcpip channel of
//! the gateway instead of running `nc <host> 22` there.

use std::sync::Arc;
use std::time::Duration;

use russh::client;
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::ChannelMsg;
use serde_json::{json, Value};

use super::{raised, ActionContext};
use crate::engine::controller::ActionOutcome;
use crate::engine::util::{py_repr, py_str, truthy};

/// TCP connect and SSH handshake limit (upstream has none; nothing may hang forever).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

struct AcceptAny;

impl client::Handler for AcceptAny {
    type Error = russh::Error;

    async fn check_server_key(&mut self, _: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// The action's inputs.
#[derive(Debug, Clone)]
struct Params {
    cmd: String,
    username: String,
    password: Option<String>,
    private_key_filename: Option<String>,
    private_key: Option<String>,
    /// std.ssh_proxied only.
    gateway: Option<Gateway>,
}

#[derive(Debug, Clone)]
struct Gateway {
    host: String,
    username: Option<String>,
    proxy_command: Option<String>,
}

/// What one host answered.
struct Output {
    exit_code: i64,
    stdout: String,
    stderr: String,
}

fn opt_str(v: Option<&Value>) -> Option<String> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(py_str(other)),
    }
}

pub async fn run(ctx: &ActionContext, input: &Value, proxied: bool) -> ActionOutcome {
    let class = if proxied {
        "SSHProxiedAction"
    } else {
        "SSHAction"
    };
    let cmd = opt_str(input.get("cmd")).unwrap_or_default();
    let host_v = input.get("host").cloned().unwrap_or(Value::Null);
    let hosts: Vec<Value> = match &host_v {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    // Upstream's message shows the host input after it became a list.
    let fail = || {
        raised(
            class,
            &ctx.action_execution_id,
            &format!(
                "Failed to execute ssh cmd '{cmd}' on {}",
                py_repr(&Value::Array(hosts.clone()))
            ),
        )
    };
    let params = Params {
        cmd: cmd.clone(),
        username: opt_str(input.get("username")).unwrap_or_default(),
        // std.ssh defaults the password to "", std.ssh_proxied to None.
        password: opt_str(input.get("password")),
        private_key_filename: opt_str(input.get("private_key_filename")),
        private_key: opt_str(input.get("private_key")),
        gateway: proxied.then(|| Gateway {
            host: opt_str(input.get("gateway_host")).unwrap_or_default(),
            username: opt_str(input.get("gateway_username")),
            proxy_command: opt_str(input.get("proxy_command")),
        }),
    };
    // return_result_on_error exists on std.ssh only.
    let keep = !proxied && input.get("return_result_on_error").is_some_and(truthy);
    let mut results = Vec::new();
    for h in &hosts {
        let host = py_str(h);
        match run_on(&params, &host).await {
            Ok(out) if keep => results.push(json!({
                "stdout": out.stdout,
                "stderr": out.stderr,
                "exit_code": out.exit_code,
            })),
            Ok(out) if out.exit_code > 0 => {
                tracing::warn!(
                    "ssh cmd '{cmd}' on {host} exited with {}: {}",
                    out.exit_code,
                    out.stderr
                );
                return fail();
            }
            Ok(out) => results.push(Value::String(out.stdout)),
            Err(e) => {
                tracing::warn!("ssh cmd '{cmd}' on {host} failed: {e}");
                return fail();
            }
        }
    }
    if results.len() == 1 {
        ActionOutcome::Success(results.remove(0))
    } else {
        ActionOutcome::Success(Value::Array(results))
    }
}

/// `host`, `host:port`, `[v6]:port`, bare IPv6 -> (host, port).
fn split_host(h: &str) -> (String, u16) {
    if let Some(rest) = h.strip_prefix('[') {
        if let Some((host, tail)) = rest.split_once(']') {
            let port = tail
                .strip_prefix(':')
                .and_then(|p| p.parse().ok())
                .unwrap_or(22);
            return (host.to_string(), port);
        }
    }
    match h.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(p) => (host.to_string(), p),
            Err(_) => (h.to_string(), 22),
        },
        _ => (h.to_string(), 22),
    }
}

/// The private key from `private_key` text or `private_key_filename` (relative names are in
/// `~/.ssh/`); the password doubles as its passphrase, as upstream has it.
fn load_key(p: &Params) -> Result<Option<PrivateKey>, String> {
    let pass = p.password.as_deref().filter(|s| !s.is_empty());
    if let Some(k) = p.private_key.as_deref().filter(|s| !s.is_empty()) {
        return russh::keys::decode_secret_key(k, pass)
            .map(Some)
            .map_err(|e| format!("invalid private key: {e}"));
    }
    if let Some(f) = p.private_key_filename.as_deref().filter(|s| !s.is_empty()) {
        if f.contains("../") || f.contains("..\\") {
            return Err(format!(
                "Private key filename must not contain '..'. Actual: {f}"
            ));
        }
        let path = if f.starts_with('/') {
            std::path::PathBuf::from(f)
        } else {
            let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
            std::path::Path::new(&home).join(".ssh").join(f)
        };
        return russh::keys::load_secret_key(&path, pass)
            .map(Some)
            .map_err(|e| format!("cannot load private key {}: {e}", path.display()));
    }
    Ok(None)
}

async fn connect_tcp(host: &str, port: u16) -> Result<tokio::net::TcpStream, String> {
    match tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio::net::TcpStream::connect((host, port)),
    )
    .await
    {
        Err(_) => Err(format!("connection to {host}:{port} timed out")),
        Ok(Err(e)) => Err(format!("cannot connect to {host}:{port}: {e}")),
        Ok(Ok(s)) => Ok(s),
    }
}

async fn handshake<S>(stream: S, what: &str) -> Result<client::Handle<AcceptAny>, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let config = Arc::new(client::Config {
        inactivity_timeout: None,
        ..Default::default()
    });
    match tokio::time::timeout(
        CONNECT_TIMEOUT,
        client::connect_stream(config, stream, AcceptAny),
    )
    .await
    {
        Err(_) => Err(format!("SSH handshake with {what} timed out")),
        Ok(Err(e)) => Err(format!("SSH handshake with {what} failed: {e}")),
        Ok(Ok(h)) => Ok(h),
    }
}

/// Key first, then the password (paramiko's order).
async fn authenticate(
    h: &mut client::Handle<AcceptAny>,
    user: &str,
    key: Option<&PrivateKey>,
    password: Option<&str>,
) -> Result<(), String> {
    let e = |e: russh::Error| format!("authentication failed: {e}");
    if let Some(k) = key {
        let hash = h.best_supported_rsa_hash().await.map_err(e)?.flatten();
        let res = h
            .authenticate_publickey(user, PrivateKeyWithHashAlg::new(Arc::new(k.clone()), hash))
            .await
            .map_err(e)?;
        if res.success() {
            return Ok(());
        }
    }
    if let Some(pw) = password {
        if h.authenticate_password(user, pw)
            .await
            .map_err(e)?
            .success()
        {
            return Ok(());
        }
    }
    Err(format!("Authentication failed for user {user}"))
}

async fn run_on(p: &Params, host: &str) -> Result<Output, String> {
    let key = load_key(p)?;
    let (h, port) = split_host(host);
    let mut session = match &p.gateway {
        None => {
            let tcp = connect_tcp(&h, port).await?;
            let mut s = handshake(tcp, host).await?;
            authenticate(&mut s, &p.username, key.as_ref(), p.password.as_deref()).await?;
            s
        }
        Some(g) => {
            // The gateway: by proxy_command's stdio or TCP; key auth only (as upstream).
            let gw_user = g.username.clone().unwrap_or_else(|| p.username.clone());
            let mut gw = match &g.proxy_command {
                Some(pc) if !pc.is_empty() => handshake(proxy_command(pc)?, &g.host).await?,
                _ => {
                    let (gh, gp) = split_host(&g.host);
                    handshake(connect_tcp(&gh, gp).await?, &g.host).await?
                }
            };
            authenticate(&mut gw, &gw_user, key.as_ref(), None)
                .await
                .map_err(|e| format!("gateway {}: {e}", g.host))?;
            let chan = gw
                .channel_open_direct_tcpip(h.clone(), port as u32, "127.0.0.1", 0)
                .await
                .map_err(|e| format!("gateway {} cannot reach {host}: {e}", g.host))?;
            let mut s = handshake(chan.into_stream(), host).await?;
            authenticate(&mut s, &p.username, key.as_ref(), None).await?;
            // The gateway session lives as long as the tunnel is used.
            let out = exec(&mut s, &p.cmd).await;
            let _ = s.disconnect(russh::Disconnect::ByApplication, "", "").await;
            let _ = gw
                .disconnect(russh::Disconnect::ByApplication, "", "")
                .await;
            return out;
        }
    };
    let out = exec(&mut session, &p.cmd).await;
    let _ = session
        .disconnect(russh::Disconnect::ByApplication, "", "")
        .await;
    out
}

/// A local command whose stdin/stdout is the connection to the gateway. It runs in a
/// process group of its own, ended with the connection (proxy scripts may fork helpers).
fn proxy_command(cmd: &str) -> Result<ProxyStream, String> {
    let mut child = tokio::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start proxy command: {e}"))?;
    let stdin = child.stdin.take().ok_or("proxy command has no stdin")?;
    let stdout = child.stdout.take().ok_or("proxy command has no stdout")?;
    let group = child.id().map(|p| p as i32);
    // The runtime reaps the child once it has exited.
    tokio::spawn(async move {
        let _ = child.wait().await;
    });
    Ok(ProxyStream {
        io: tokio::io::join(stdout, stdin),
        group,
    })
}

/// The proxy command's stdio as one stream; dropping it ends the command's process group.
struct ProxyStream {
    io: tokio::io::Join<tokio::process::ChildStdout, tokio::process::ChildStdin>,
    group: Option<i32>,
}

impl Drop for ProxyStream {
    fn drop(&mut self) {
        if let Some(g) = self.group.filter(|g| *g > 1) {
            // SAFETY: kill(2) with a negative pid signals that process group only.
            unsafe {
                libc::kill(-g, libc::SIGKILL);
            }
        }
    }
}

impl tokio::io::AsyncRead for ProxyStream {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for ProxyStream {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

async fn exec(s: &mut client::Handle<AcceptAny>, cmd: &str) -> Result<Output, String> {
    let mut chan = s
        .channel_open_session()
        .await
        .map_err(|e| format!("cannot open a session channel: {e}"))?;
    chan.exec(true, cmd)
        .await
        .map_err(|e| format!("exec failed: {e}"))?;
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let mut code = None;
    while let Some(msg) = chan.wait().await {
        match msg {
            ChannelMsg::Data { data } => stdout.extend_from_slice(&data),
            ChannelMsg::ExtendedData { data, ext: 1 } => stderr.extend_from_slice(&data),
            ChannelMsg::ExitStatus { exit_status } => code = Some(exit_status as i64),
            ChannelMsg::ExitSignal { .. } => code = code.or(Some(255)),
            _ => {}
        }
    }
    Ok(Output {
        // paramiko reports -1 when the server sent no exit status.
        exit_code: code.unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_may_carry_ports() {
        assert_eq!(split_host("example.org"), ("example.org".into(), 22));
        assert_eq!(split_host("127.0.0.1:2222"), ("127.0.0.1".into(), 2222));
        assert_eq!(split_host("[::1]:2200"), ("::1".into(), 2200));
        assert_eq!(split_host("::1"), ("::1".into(), 22));
    }

    #[test]
    fn key_file_names_must_not_climb() {
        let p = Params {
            cmd: "ls".into(),
            username: "u".into(),
            password: None,
            private_key_filename: Some("../etc/key".into()),
            private_key: None,
            gateway: None,
        };
        assert_eq!(
            load_key(&p).unwrap_err(),
            "Private key filename must not contain '..'. Actual: ../etc/key"
        );
    }

    // ------------------------------------------------------------ against a real local sshd

    use std::process::{Child, Command, Stdio};

    /// A throwaway OpenSSH server on 127.0.0.1 with its own host key and a user key.
    struct Sshd {
        child: Child,
        port: u16,
        dir: tempfile::TempDir,
    }

    impl Drop for Sshd {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    impl Sshd {
        fn host(&self) -> String {
            format!("127.0.0.1:{}", self.port)
        }
        fn key_path(&self) -> String {
            self.dir.path().join("user_key").display().to_string()
        }
        fn key(&self) -> String {
            std::fs::read_to_string(self.key_path()).unwrap()
        }
    }

    const PASSWORD_USER: &str = "mistralrs-ssh-test";
    const PASSWORD: &str = "s3cret-Pass";

    fn keygen(path: &std::path::Path, kind: &str) {
        let ok = Command::new("ssh-keygen")
            .args(["-q", "-t", kind, "-N", "", "-f"])
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ssh-keygen failed");
    }

    /// Starts sshd, or says loudly why it cannot (scripts/test.sh installs openssh-server).
    fn start_sshd() -> Option<Sshd> {
        let sshd = "/usr/sbin/sshd";
        if !std::path::Path::new(sshd).exists() {
            eprintln!("SKIPPED: {sshd} is not installed (apt-get install openssh-server)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        keygen(&dir.path().join("host_key"), "ed25519");
        keygen(&dir.path().join("user_key"), "ed25519");
        keygen(&dir.path().join("other_key"), "rsa");
        std::fs::copy(
            dir.path().join("user_key.pub"),
            dir.path().join("authorized_keys"),
        )
        .unwrap();
        // sshd's privilege separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let d = dir.path().display();
        let cfg = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nUsePAM no\n\
             PasswordAuthentication yes\nKbdInteractiveAuthentication no\nPermitRootLogin yes\n\
             PubkeyAuthentication yes\nAllowTcpForwarding yes\nLogLevel ERROR\n"
        );
        std::fs::write(dir.path().join("sshd_config"), cfg).unwrap();
        // Output to a file: session processes outlive a killed sshd for a moment and must
        // not hold the test's output open.
        let log = std::fs::File::create(dir.path().join("sshd.log")).unwrap();
        let child = Command::new(sshd)
            .args(["-D", "-e", "-f"])
            .arg(dir.path().join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("sshd starts");
        let server = Sshd { child, port, dir };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("sshd did not start listening on {port}");
    }

    /// A local account with a password for password auth (root only; created once).
    fn password_user() -> bool {
        let exists = Command::new("id")
            .arg(PASSWORD_USER)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !exists {
            let made = Command::new("useradd")
                .args(["-M", "-s", "/bin/sh", PASSWORD_USER])
                .status()
                .is_ok_and(|s| s.success());
            if !made {
                eprintln!("SKIPPED password auth: cannot create user {PASSWORD_USER} (not root?)");
                return false;
            }
        }
        let mut c = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .spawn()
            .expect("chpasswd");
        use std::io::Write;
        let _ = writeln!(c.stdin.take().unwrap(), "{PASSWORD_USER}:{PASSWORD}");
        c.wait().is_ok_and(|s| s.success())
    }

    fn ctx() -> ActionContext {
        ActionContext::for_action("ssh-1")
    }

    async fn ssh(input: Value) -> ActionOutcome {
        tokio::time::timeout(Duration::from_secs(60), run(&ctx(), &input, false))
            .await
            .expect("std.ssh does not hang")
    }

    fn error_msg(o: ActionOutcome) -> String {
        match o {
            ActionOutcome::Error(Value::String(s)) => s,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn std_ssh_against_a_local_sshd() {
        let Some(server) = start_sshd() else { return };
        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        let host = server.host();
        // Private key text; stdout is the result, stderr is not.
        let out = ssh(json!({"cmd": "echo hello; echo noise >&2", "host": host, "username": user, "private_key": server.key()})).await;
        assert_eq!(out, ActionOutcome::Success(json!("hello\n")));
        // Key file; a host list gives a list.
        let out = ssh(json!({"cmd": "printf x", "host": [host, host], "username": user, "private_key_filename": server.key_path()})).await;
        assert_eq!(out, ActionOutcome::Success(json!(["x", "x"])));
        // return_result_on_error reports the exit code instead of failing.
        let out = ssh(json!({"cmd": "echo out; echo bad >&2; exit 3", "host": host, "username": user, "private_key": server.key(), "return_result_on_error": true})).await;
        assert_eq!(
            out,
            ActionOutcome::Success(json!({"stdout": "out\n", "stderr": "bad\n", "exit_code": 3}))
        );
        // A non-zero exit fails with upstream's text.
        let e = error_msg(ssh(json!({"cmd": "exit 3", "host": host, "username": user, "private_key": server.key()})).await);
        assert!(e.contains("SSHAction object at 0x"), "{e}");
        assert!(
            e.ends_with(&format!(
                "msg='Failed to execute ssh cmd 'exit 3' on ['{host}']']"
            )),
            "{e}"
        );
        // A key the server does not know.
        let other = std::fs::read_to_string(server.dir.path().join("other_key")).unwrap();
        let e = error_msg(
            ssh(json!({"cmd": "true", "host": host, "username": user, "private_key": other})).await,
        );
        assert!(
            e.ends_with(&format!(
                "msg='Failed to execute ssh cmd 'true' on ['{host}']']"
            )),
            "{e}"
        );
        // Nobody listening.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = error_msg(ssh(json!({"cmd": "true", "host": format!("127.0.0.1:{closed}"), "username": user, "password": "x"})).await);
        assert!(
            e.contains("Failed to execute ssh cmd 'true' on ['127.0.0.1:"),
            "{e}"
        );
        // Password auth.
        if password_user() {
            let out = ssh(json!({"cmd": "id -un", "host": host, "username": PASSWORD_USER, "password": PASSWORD})).await;
            assert_eq!(
                out,
                ActionOutcome::Success(json!(format!("{PASSWORD_USER}\n")))
            );
            let e = error_msg(ssh(json!({"cmd": "id -un", "host": host, "username": PASSWORD_USER, "password": "wrong"})).await);
            assert!(e.contains("Failed to execute ssh cmd 'id -un'"), "{e}");
        }
        // Through a gateway (the same server), key auth on both hops.
        let out = tokio::time::timeout(
            Duration::from_secs(60),
            run(
                &ctx(),
                &json!({"cmd": "echo via", "host": host, "username": user, "private_key_filename": server.key_path(), "gateway_host": host}),
                true,
            ),
        )
        .await
        .unwrap();
        assert_eq!(out, ActionOutcome::Success(json!("via\n")));
        // ... and with proxy_command as the way to the gateway.
        let out = tokio::time::timeout(
            Duration::from_secs(60),
            run(
                &ctx(),
                &json!({"cmd": "echo pc", "host": host, "username": user, "private_key": server.key(), "gateway_host": "gw", "proxy_command": format!("bash -c 'exec 3<>/dev/tcp/127.0.0.1/{}; cat <&3 & exec cat >&3'", server.port)}),
                true,
            ),
        )
        .await
        .unwrap();
        assert_eq!(out, ActionOutcome::Success(json!("pc\n")));
    }
}
