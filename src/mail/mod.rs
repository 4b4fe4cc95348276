//! The digests as real e-mail (lettre): one message per recipient with a text and an HTML
//! part, sent through the SMTP server of the config (or `--smtp`), or written as `.eml` files
//! for a dry run. In: [`Outgoing`] messages; out: messages on the wire or on disk.
//!
//! Each message goes to one recipient, so a failure names exactly who did not get it, and the
//! store records each message the server accepted (`store::api::Mail`): a retry after a
//! failure sends only what did not go.

pub mod digest;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use serde::Deserialize;

use crate::config::KeyProblem;
use crate::error::{Error, Result};

/// The `mail:` section of the config.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    /// The sender (`OneLead <onelead@example.com>`).
    #[serde(default)]
    pub from: Option<String>,
    /// Who gets every digest whole when `--to` is not given.
    #[serde(default)]
    pub to: Vec<String>,
    /// Territory id → who gets that territory's part of each digest.
    #[serde(default)]
    pub territories: BTreeMap<String, Vec<String>>,
    /// The SMTP server.
    #[serde(default)]
    pub smtp: SmtpConfig,
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain SMTP, then `STARTTLS` before anything is sent; refuses a server that cannot.
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
    /// No encryption: a relay on the same host or network only.
    None,
}

/// The SMTP server's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// Host name (`--smtp HOST:PORT` overrides it and the port).
    #[serde(default)]
    pub host: Option<String>,
    /// Port [default: 587 for `starttls`, 465 for `tls`, 25 for `none`].
    #[serde(default)]
    pub port: Option<u16>,
    /// `starttls`, `tls` or `none`.
    #[serde(default)]
    pub tls: TlsMode,
    /// The login, when the server wants one.
    #[serde(default)]
    pub username: Option<String>,
    /// The environment variable holding the password: a config file is shared and versioned,
    /// a password does not belong in it.
    #[serde(default)]
    pub password_env: Option<String>,
    /// Seconds to wait for the server at each step.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_timeout() -> u64 {
    30
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: None,
            port: None,
            tls: TlsMode::default(),
            username: None,
            password_env: None,
            timeout_secs: default_timeout(),
        }
    }
}

impl MailConfig {
    /// Every address that is not one.
    pub fn problems(&self) -> Vec<KeyProblem> {
        let named = self
            .from
            .iter()
            .map(|a| ("mail.from".to_string(), a))
            .chain(self.to.iter().map(|a| ("mail.to".to_string(), a)))
            .chain(self.territories.iter().flat_map(|(t, list)| {
                list.iter()
                    .map(move |a| (format!("mail.territories.{t}"), a))
            }));
        named
            .filter_map(|(key, addr)| {
                parse_mailbox(addr).err().map(|e| KeyProblem {
                    message: format!("`{key}`: {e}"),
                    key,
                    help: None,
                })
            })
            .collect()
    }
}

/// Reads an address (`kim@example.com` or `Kim <kim@example.com>`).
pub fn parse_mailbox(s: &str) -> Result<Mailbox, String> {
    s.trim()
        .parse::<Mailbox>()
        .map_err(|e| format!("`{s}` is not an e-mail address ({e})"))
}

/// One message to one recipient.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// What it is, for the record of sends (`daily:run-3:territory-56088`).
    pub key: String,
    /// Who gets it.
    pub recipient: Mailbox,
    /// The subject.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
    /// The lead ids it lists.
    pub lead_ids: Vec<String>,
}

/// Builds the MIME message: `multipart/alternative` with the text part first.
pub fn compose(from: &Mailbox, o: &Outgoing) -> Result<Message> {
    Message::builder()
        .from(from.clone())
        .to(o.recipient.clone())
        .subject(o.subject.clone())
        .message_id(None)
        .multipart(MultiPart::alternative_plain_html(
            o.text.clone(),
            o.html.clone(),
        ))
        .map_err(|e| {
            Error::Mail(format!(
                "cannot build the message to `{}`: {e}",
                o.recipient
            ))
        })
}

/// A message's `Message-ID`.
pub fn message_id(m: &Message) -> String {
    m.headers()
        .get_raw("Message-ID")
        .unwrap_or_default()
        .to_string()
}

/// Writes `m` as an `.eml` file in `dir`, named after its key and recipient; returns the path.
pub fn write_eml(dir: &Path, o: &Outgoing, m: &Message) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| Error::WriteFile {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '@') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let path = dir.join(format!(
        "{}-{}.eml",
        safe(&o.key),
        safe(o.recipient.email.as_ref())
    ));
    std::fs::write(&path, m.formatted()).map_err(|e| Error::WriteFile {
        path: path.clone(),
        source: e,
    })?;
    Ok(path)
}

/// An SMTP server ready to send.
pub struct Server {
    transport: SmtpTransport,
    /// `host:port`, for messages.
    pub name: String,
}

impl Server {
    /// The server of the config, or `host:port` from `--smtp` instead of its host and port.
    pub fn connect(cfg: &SmtpConfig, over: Option<&str>) -> Result<Server> {
        let (host, port) = if let Some(hp) = over {
            split_host_port(hp)?
        } else {
            let host = cfg.host.clone().ok_or_else(|| {
                Error::Config(
                    "no SMTP server: set `mail.smtp.host` in the config or give `--smtp HOST:PORT`"
                        .into(),
                )
            })?;
            let port = cfg.port.unwrap_or(match cfg.tls {
                TlsMode::Starttls => 587,
                TlsMode::Tls => 465,
                TlsMode::None => 25,
            });
            (host, port)
        };
        let name = format!("{host}:{port}");
        let tls_params = || {
            TlsParameters::new(host.clone())
                .map_err(|e| Error::Mail(format!("cannot set up TLS for `{name}`: {e}")))
        };
        let tls = match cfg.tls {
            TlsMode::Starttls => Tls::Required(tls_params()?),
            TlsMode::Tls => Tls::Wrapper(tls_params()?),
            TlsMode::None => Tls::None,
        };
        let mut builder = SmtpTransport::builder_dangerous(host.clone())
            .port(port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(cfg.timeout_secs.max(1))));
        if let Some(user) = &cfg.username {
            if cfg.tls == TlsMode::None && !is_loopback(&host) {
                return Err(Error::Config(format!(
                    "refusing to send the password for `{user}` unencrypted to `{name}`: set \
                     `mail.smtp.tls` to `starttls` or `tls`"
                )));
            }
            builder = builder.credentials(Credentials::new(user.clone(), password(cfg)?));
        }
        Ok(Server {
            transport: builder.build(),
            name,
        })
    }

    /// Sends `m`; a failure names the server and the recipient.
    pub fn send(&self, m: &Message, recipient: &Mailbox) -> Result<()> {
        self.transport.send(m).map(|_| ()).map_err(|e| {
            Error::Mail(format!(
                "cannot send to `{}` through `{}`: {}",
                recipient.email,
                self.name,
                chain(&e)
            ))
        })
    }
}

/// The password from the environment variable the config names.
fn password(cfg: &SmtpConfig) -> Result<String> {
    let Some(var) = &cfg.password_env else {
        return Err(Error::Config(
            "`mail.smtp.username` is set but `mail.smtp.password_env` is not: name the \
             environment variable that holds the password"
                .into(),
        ));
    };
    std::env::var(var).map_err(|_| {
        Error::Config(format!(
            "the SMTP password is read from `{var}` (`mail.smtp.password_env`), which is not set"
        ))
    })
}

/// `host:port` → its parts.
fn split_host_port(s: &str) -> Result<(String, u16)> {
    let bad = || Error::Usage(format!("`--smtp` takes `HOST:PORT`, not `{s}`"));
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// An error and its causes, one after the other.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out = format!("{out}: {text}");
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_overrides_read_host_and_port() {
        assert_eq!(
            split_host_port("127.0.0.1:2525").unwrap(),
            ("127.0.0.1".into(), 2525)
        );
        assert_eq!(split_host_port("[::1]:25").unwrap(), ("::1".into(), 25));
        assert!(split_host_port("mail.example.com").is_err());
        assert!(split_host_port(":25").is_err());
    }

    #[test]
    fn bad_addresses_in_the_config_are_named() {
        let cfg = MailConfig {
            territories: BTreeMap::from([("56088".into(), vec!["not an address".into()])]),
            ..MailConfig::default()
        };
        let p = cfg.problems();
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].key, "mail.territories.56088");
        assert!(p[0].message.contains("`not an address`"), "{p:?}");
    }

    #[test]
    fn a_password_is_never_sent_unencrypted_to_another_host() {
        let cfg = SmtpConfig {
            host: Some("mail.example.com".into()),
            tls: TlsMode::None,
            username: Some("kim".into()),
            password_env: Some("PATH".into()),
            ..SmtpConfig::default()
        };
        let err = Server::connect(&cfg, None).err().unwrap().to_string();
        assert!(err.contains("refusing to send the password"), "{err}");
    }
}
