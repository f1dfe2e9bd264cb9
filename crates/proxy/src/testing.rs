//! Real proxies on loopback for tests (feature `test-utils`): Debian's `tinyproxy` (HTTP with
//! Basic auth) and `microsocks` (SOCKS5 with user/password), each on a free 127.0.0.1 port and
//! killed on drop.
//!
//! `./scripts/setup.sh` installs both with apt. [`TinyProxy::for_test`] and
//! [`MicroSocks::for_test`] return `None` with a message on stderr when a binary is missing, so
//! the test can return early; under `CI=true` they panic instead.
//!
//! ```no_run
//! use spam_proxy::testing::{MicroSocks, TinyProxy};
//!
//! let Some(http) = TinyProxy::for_test("user", "pass") else { return };
//! let Some(mut socks) = MicroSocks::for_test("user", "pass") else { return };
//! let proxies = vec![http.url(), socks.url()]; // with the right credentials
//! socks.kill(); // from now on its port refuses connections
//! ```

use std::{
    env, fmt,
    io::{self, Write},
    net::{Ipv4Addr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use crate::proxy_url::{ProxyUrl, Scheme};

/// The script that installs the proxies.
pub const SETUP_SCRIPT: &str = "./scripts/setup.sh";

const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a proxy fixture did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FixtureError {
    /// The binary is not installed.
    #[error(
        "{tool} not found (looked at ${env_var}, PATH, /usr/bin, /usr/sbin): run {SETUP_SCRIPT} \
         or `apt-get install tinyproxy microsocks`"
    )]
    NotFound {
        /// `tinyproxy` or `microsocks`.
        tool: &'static str,
        /// The variable that can point at it (`TINYPROXY_BIN`, `MICROSOCKS_BIN`).
        env_var: &'static str,
    },
    /// Starting it failed.
    #[error("cannot start {tool}")]
    Spawn {
        /// Which tool.
        tool: &'static str,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// It did not accept connections in time.
    #[error("{tool} did not listen on 127.0.0.1:{port} within {}s{}", READY_TIMEOUT.as_secs(), exited.as_ref().map(|s| format!(" (exited: {s})")).unwrap_or_default())]
    NotReady {
        /// Which tool.
        tool: &'static str,
        /// The port it was given.
        port: u16,
        /// Its exit status if it exited.
        exited: Option<String>,
    },
}

/// Whether `CI=true`: missing proxies are then a failure, never a skip.
pub fn in_ci() -> bool {
    env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A loopback port nothing listens on (bound, then released).
///
/// # Panics
/// If no port can be bound on 127.0.0.1.
pub fn dead_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}

/// Finds `tool`: `$env_var`, then `PATH`, then `/usr/bin` and `/usr/sbin`.
pub fn tool_path(tool: &'static str, env_var: &'static str) -> Result<PathBuf, FixtureError> {
    let from_env = env::var_os(env_var).map(PathBuf::from);
    let on_path = env::var_os("PATH")
        .iter()
        .flat_map(env::split_paths)
        .map(|dir| dir.join(tool))
        .collect::<Vec<_>>();
    from_env
        .into_iter()
        .chain(on_path)
        .chain(["/usr/bin", "/usr/sbin"].map(|d| Path::new(d).join(tool)))
        .find(|p| p.is_file())
        .ok_or(FixtureError::NotFound { tool, env_var })
}

fn skip_or_fail<T>(result: Result<T, FixtureError>) -> Option<T> {
    match result {
        Ok(t) => Some(t),
        Err(e) if in_ci() => panic!("{e} (CI=true: proxy tests cannot be skipped)"),
        Err(e) => {
            eprintln!("SKIPPED: {e}");
            None
        }
    }
}

/// A running proxy process; killed on drop.
struct Process {
    tool: &'static str,
    child: Child,
    port: u16,
}

impl Process {
    /// Starts `command` (already given `port`) and waits until it accepts connections.
    fn start(tool: &'static str, mut command: Command, port: u16) -> Result<Self, FixtureError> {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| FixtureError::Spawn { tool, source })?;
        let mut process = Self { tool, child, port };
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                return Ok(process);
            }
            let exited = process.child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() >= deadline {
                return Err(FixtureError::NotReady {
                    tool,
                    port,
                    exited: exited.map(|s| s.to_string()),
                });
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
            tracing::debug!(target: "spam::proxy::testing", tool = self.tool, port = self.port, "killed");
        }
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_none()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts a fixture, retrying with a new port if another process took the free one first.
fn start_retrying<T>(
    mut start: impl FnMut(u16) -> Result<T, FixtureError>,
) -> Result<T, FixtureError> {
    let mut last = None;
    for _ in 0..3 {
        match start(dead_port()) {
            Err(e @ FixtureError::NotReady { .. }) => last = Some(e),
            other => return other,
        }
    }
    Err(last.expect("three attempts"))
}

/// `tinyproxy` on 127.0.0.1 with Basic auth, allowing only 127.0.0.1 clients; any target
/// (including loopback ones) may be reached through it.
pub struct TinyProxy {
    process: Process,
    user: String,
    password: String,
    _dir: tempfile::TempDir,
}

impl TinyProxy {
    /// Starts tinyproxy requiring `user`/`password`.
    ///
    /// # Errors
    /// [`FixtureError`] when tinyproxy is missing or does not start.
    pub fn start(user: &str, password: &str) -> Result<Self, FixtureError> {
        let bin = tool_path("tinyproxy", "TINYPROXY_BIN")?;
        let spawn = |source| FixtureError::Spawn {
            tool: "tinyproxy",
            source,
        };
        let dir = tempfile::tempdir().map_err(spawn)?;
        let process = start_retrying(|port| {
            let config = dir.path().join("tinyproxy.conf");
            let mut file = std::fs::File::create(&config).map_err(spawn)?;
            // No `ConnectPort` lines: CONNECT to any port. No `Filter`: loopback targets allowed.
            write!(
                file,
                "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 256\nAllow 127.0.0.1\n\
                 BasicAuth {user} {password}\nDisableViaHeader Yes\nLogLevel Warning\n\
                 LogFile \"{}\"\n",
                dir.path().join("tinyproxy.log").display()
            )
            .map_err(spawn)?;
            let mut command = Command::new(&bin);
            command.arg("-d").arg("-c").arg(&config);
            Process::start("tinyproxy", command, port)
        })?;
        Ok(Self {
            process,
            user: user.into(),
            password: password.into(),
            _dir: dir,
        })
    }

    /// [`start`](Self::start), or `None` after printing why (a panic under `CI=true`).
    pub fn for_test(user: &str, password: &str) -> Option<Self> {
        skip_or_fail(Self::start(user, password))
    }

    /// `http://user:password@127.0.0.1:PORT`.
    pub fn url(&self) -> ProxyUrl {
        loopback(Scheme::Http, self.process.port).with_credentials(&self.user, &self.password)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.process.port
    }

    /// Kills it now; its port then refuses connections.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }
}

impl fmt::Debug for TinyProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TinyProxy")
            .field("port", &self.process.port)
            .finish_non_exhaustive()
    }
}

/// `microsocks` (SOCKS5) on 127.0.0.1 with user/password authentication.
pub struct MicroSocks {
    process: Process,
    user: String,
    password: String,
}

impl MicroSocks {
    /// Starts microsocks requiring `user`/`password`.
    ///
    /// # Errors
    /// [`FixtureError`] when microsocks is missing or does not start.
    pub fn start(user: &str, password: &str) -> Result<Self, FixtureError> {
        let bin = tool_path("microsocks", "MICROSOCKS_BIN")?;
        let process = start_retrying(|port| {
            let mut command = Command::new(&bin);
            command
                .args(["-i", "127.0.0.1", "-p", &port.to_string()])
                .args(["-u", user, "-P", password]);
            Process::start("microsocks", command, port)
        })?;
        Ok(Self {
            process,
            user: user.into(),
            password: password.into(),
        })
    }

    /// [`start`](Self::start), or `None` after printing why (a panic under `CI=true`).
    pub fn for_test(user: &str, password: &str) -> Option<Self> {
        skip_or_fail(Self::start(user, password))
    }

    /// `socks5h://user:password@127.0.0.1:PORT`.
    pub fn url(&self) -> ProxyUrl {
        loopback(Scheme::Socks5h, self.process.port).with_credentials(&self.user, &self.password)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.process.port
    }

    /// Kills it now; its port then refuses connections.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }
}

impl fmt::Debug for MicroSocks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MicroSocks")
            .field("port", &self.process.port)
            .finish_non_exhaustive()
    }
}

fn loopback(scheme: Scheme, port: u16) -> ProxyUrl {
    ProxyUrl::new(scheme, "127.0.0.1", port).expect("valid loopback address")
}
