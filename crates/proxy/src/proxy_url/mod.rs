//! Proxy addresses: parsing, list files, redaction.

use std::{fmt, fs, path::Path, str::FromStr};

use crate::error::{Error, ParseError};

/// The protocol spoken to a proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// HTTP proxy: absolute-form requests for `http://` targets, `CONNECT` tunnels for `https://`.
    Http,
    /// HTTP proxy reached over TLS.
    Https,
    /// SOCKS5; the target's host name is resolved locally.
    Socks5,
    /// SOCKS5; the target's host name is resolved by the proxy.
    Socks5h,
}

impl Scheme {
    /// The scheme as written in a URL (`"socks5h"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
            Self::Socks5 => "socks5",
            Self::Socks5h => "socks5h",
        }
    }

    fn parse(s: &str) -> Result<Self, ParseError> {
        match s.to_ascii_lowercase().as_str() {
            "http" => Ok(Self::Http),
            "https" => Ok(Self::Https),
            "socks5" => Ok(Self::Socks5),
            "socks5h" => Ok(Self::Socks5h),
            _ => Err(ParseError::UnsupportedScheme(s.to_owned())),
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A user name and password for a proxy. Never printed: `Debug` shows `***`.
#[derive(Clone, PartialEq, Eq)]
struct Credentials {
    user: String,
    password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***:***")
    }
}

/// One proxy: `scheme://[user:pass@]host:port`.
///
/// `Display` and `Debug` redact the credentials (`http://***:***@10.0.0.1:3128`), so a
/// `ProxyUrl` can go into logs, errors and reports as is.
///
/// # Examples
///
/// ```
/// use spam_proxy::{ProxyUrl, Scheme};
///
/// let proxy: ProxyUrl = "socks5h://alice:s3cret@127.0.0.1:1080".parse()?;
/// assert_eq!(proxy.scheme(), Scheme::Socks5h);
/// assert_eq!(proxy.to_string(), "socks5h://***:***@127.0.0.1:1080");
/// assert!(!format!("{proxy:?}").contains("s3cret"));
/// # Ok::<(), spam_proxy::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    scheme: Scheme,
    host: String,
    port: u16,
    auth: Option<Credentials>,
}

impl ProxyUrl {
    /// A proxy without credentials.
    ///
    /// # Errors
    /// [`Error::InvalidProxy`] if `host` is empty or not a host name or IP address, or `port` is 0.
    pub fn new(scheme: Scheme, host: &str, port: u16) -> Result<Self, Error> {
        let invalid = |reason| Error::InvalidProxy {
            input: format!("{scheme}://{host}:{port}"),
            reason,
        };
        let host = parse_host(host).map_err(invalid)?;
        if port == 0 {
            return Err(invalid(ParseError::BadPort("0".into())));
        }
        Ok(Self {
            scheme,
            host,
            port,
            auth: None,
        })
    }

    /// The same proxy with these credentials (replacing any it had).
    pub fn with_credentials(
        mut self,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.auth = Some(Credentials {
            user: user.into(),
            password: password.into(),
        });
        self
    }

    /// The same proxy without credentials.
    pub fn without_credentials(mut self) -> Self {
        self.auth = None;
        self
    }

    /// The protocol.
    pub const fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Host name or IP address (IPv6 without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Port.
    pub const fn port(&self) -> u16 {
        self.port
    }

    /// Whether a user name and password are set.
    pub const fn has_credentials(&self) -> bool {
        self.auth.is_some()
    }

    /// The reqwest proxy setting for this address, credentials included.
    pub(crate) fn to_reqwest(&self) -> reqwest::Result<reqwest::Proxy> {
        let proxy = reqwest::Proxy::all(format!(
            "{}://{}:{}",
            self.scheme,
            bracketed(&self.host),
            self.port
        ))?;
        Ok(match &self.auth {
            // Sets the URL's userinfo (percent-encoded); reqwest sends it as Basic auth to HTTP
            // proxies and as the username/password sub-negotiation to SOCKS5 ones.
            Some(c) => proxy.basic_auth(&c.user, &c.password),
            None => proxy,
        })
    }
}

impl FromStr for ProxyUrl {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s.trim()).map_err(|reason| Error::InvalidProxy {
            input: redact_input(s.trim()),
            reason,
        })
    }
}

impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth = if self.auth.is_some() { "***:***@" } else { "" };
        write!(
            f,
            "{}://{auth}{}:{}",
            self.scheme,
            bracketed(&self.host),
            self.port
        )
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProxyUrl({self})")
    }
}

/// Parses a proxy list: one proxy per line; blank lines and lines starting with `#` are skipped.
///
/// # Errors
/// [`Error::InvalidLine`] for the first bad line, with its 1-based number and what is wrong.
///
/// # Examples
///
/// ```
/// let list = "# office egress\nhttp://10.0.0.1:3128\n\nsocks5://u:p@10.0.0.2:1080\n";
/// let proxies = spam_proxy::parse_list(list)?;
/// assert_eq!(proxies.len(), 2);
///
/// let err = spam_proxy::parse_list("http://10.0.0.1:3128\nftp://u:p@h:21").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "line 2: invalid proxy `ftp://***:***@h:21`: unsupported scheme `ftp` \
///      (expected http, https, socks5 or socks5h)"
/// );
/// # Ok::<(), spam_proxy::Error>(())
/// ```
pub fn parse_list(text: &str) -> Result<Vec<ProxyUrl>, Error> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(line, text)| {
            parse(text).map_err(|reason| Error::InvalidLine {
                line,
                input: redact_input(text),
                reason,
            })
        })
        .collect()
}

/// Reads and parses a proxy list file; see [`parse_list`].
///
/// # Errors
/// [`Error::Read`] if the file cannot be read, [`Error::InvalidLine`] for a bad line.
pub fn load_list(path: impl AsRef<Path>) -> Result<Vec<ProxyUrl>, Error> {
    let path = path.as_ref();
    let text = fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_list(&text)
}

fn parse(s: &str) -> Result<ProxyUrl, ParseError> {
    let (scheme, rest) = s.split_once("://").ok_or(ParseError::MissingScheme)?;
    // Anything but a plain word before `://` (e.g. `user:pass@http://…`) is not a scheme, and
    // must not be echoed back in the error.
    if scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(ParseError::MissingScheme);
    }
    let scheme = Scheme::parse(scheme)?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains(['/', '?', '#']) {
        return Err(ParseError::HasPath);
    }
    let (auth, host_port) = match rest.rsplit_once('@') {
        Some((userinfo, host_port)) => (Some(parse_userinfo(userinfo)?), host_port),
        None => (None, rest),
    };
    let (host, port) = split_host_port(host_port)?;
    Ok(ProxyUrl {
        scheme,
        host: parse_host(host)?,
        port: parse_port(port)?,
        auth,
    })
}

fn parse_userinfo(userinfo: &str) -> Result<Credentials, ParseError> {
    let (user, password) = userinfo
        .split_once(':')
        .ok_or(ParseError::BadCredentials("expected `user:password`"))?;
    if user.is_empty() {
        return Err(ParseError::BadCredentials("empty user name"));
    }
    Ok(Credentials {
        user: percent_decode(user)?,
        password: percent_decode(password)?,
    })
}

fn split_host_port(s: &str) -> Result<(&str, &str), ParseError> {
    if let Some(v6) = s.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or(ParseError::BadHost)?;
        let port = after.strip_prefix(':').ok_or(ParseError::MissingPort)?;
        return Ok((host, port));
    }
    s.rsplit_once(':').ok_or(ParseError::MissingPort)
}

fn parse_host(host: &str) -> Result<String, ParseError> {
    if host.is_empty() {
        return Err(ParseError::MissingHost);
    }
    let ok = host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':'));
    if !ok || (host.contains(':') && host.parse::<std::net::Ipv6Addr>().is_err()) {
        return Err(ParseError::BadHost);
    }
    Ok(host.to_ascii_lowercase())
}

fn parse_port(port: &str) -> Result<u16, ParseError> {
    if port.is_empty() {
        return Err(ParseError::MissingPort);
    }
    match port.parse::<u16>() {
        Ok(p) if p != 0 => Ok(p),
        _ => Err(ParseError::BadPort(port.to_owned())),
    }
}

fn bracketed(host: &str) -> std::borrow::Cow<'_, str> {
    if host.contains(':') {
        format!("[{host}]").into()
    } else {
        host.into()
    }
}

fn percent_decode(s: &str) -> Result<String, ParseError> {
    const BAD: ParseError = ParseError::BadCredentials("invalid percent-encoding");
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next().ok_or(BAD)?, bytes.next().ok_or(BAD)?];
            let hex = std::str::from_utf8(&hex).map_err(|_| BAD)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| BAD)?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).map_err(|_| BAD)
}

/// The input with anything that may be a credential replaced, for error messages.
pub(crate) fn redact_input(s: &str) -> String {
    let Some((_, host)) = s.rsplit_once('@') else {
        return s.to_owned();
    };
    let prefix = match s.split_once("://") {
        Some((scheme, _))
            if !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            format!("{scheme}://")
        }
        _ => String::new(),
    };
    format!("{prefix}***:***@{host}")
}

#[cfg(test)]
mod tests;
