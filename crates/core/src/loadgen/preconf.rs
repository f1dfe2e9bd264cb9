//! Preconfirmation feeds: a [`PreconfSource`] pushes per-transaction status events; the
//! engine matches them to its transactions, measures time to preconfirmation and feeds
//! revocations to the circuit breaker.

use std::{fmt, str::FromStr};

use alloy::primitives::TxHash;
use async_trait::async_trait;
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::{sync::mpsc, time::Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// The status a preconfirmation feed reports for a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PreconfStatus {
    /// Seen by the sequencer, not yet promised.
    Pending,
    /// Promised for inclusion.
    Preconfirmed,
    /// Included.
    Confirmed,
    /// A promise withdrawn.
    Revoked,
    /// Dropped without inclusion.
    Dropped,
}

impl PreconfStatus {
    /// The lowercase name used on the wire and in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Preconfirmed => "preconfirmed",
            Self::Confirmed => "confirmed",
            Self::Revoked => "revoked",
            Self::Dropped => "dropped",
        }
    }
}

impl FromStr for PreconfStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "pending" => Self::Pending,
            "preconfirmed" | "preconf" => Self::Preconfirmed,
            "confirmed" | "included" => Self::Confirmed,
            "revoked" => Self::Revoked,
            "dropped" | "rejected" => Self::Dropped,
            other => return Err(format!("unknown preconfirmation status {other:?}")),
        })
    }
}

/// One status event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PreconfEvent {
    /// The transaction.
    pub hash: TxHash,
    /// Its new status.
    pub status: PreconfStatus,
    /// When the event arrived.
    pub at: Instant,
}

impl PreconfEvent {
    /// An event that arrived now.
    pub fn now(hash: TxHash, status: PreconfStatus) -> Self {
        Self {
            hash,
            status,
            at: Instant::now(),
        }
    }
}

/// A feed that could not be followed.
#[derive(Debug, thiserror::Error)]
#[error("preconfirmation feed {url}: {reason}")]
pub struct PreconfError {
    url: String,
    reason: String,
}

/// A source of preconfirmation events, e.g. a sequencer's WebSocket feed.
///
/// The engine calls [`run`](Self::run) once on its own task and stops it with `cancel`.
#[async_trait]
pub trait PreconfSource: fmt::Debug + Send + Sync {
    /// Pushes events into `events` until `cancel` fires or the feed ends.
    ///
    /// # Errors
    /// When the feed cannot be reached or breaks; the run goes on without it.
    ///
    /// # Cancel safety
    /// Stop it with `cancel`; dropping the future closes the feed where it is, and events not
    /// yet pushed are lost.
    async fn run(
        &self,
        events: mpsc::Sender<PreconfEvent>,
        cancel: CancellationToken,
    ) -> Result<(), PreconfError>;
}

/// A WebSocket feed of JSON status events.
///
/// Each text frame holds an event `{"hash": "0x…", "status": "preconfirmed"}`, an array of
/// them, or a JSON-RPC subscription notification whose `params.result` is one of those.
/// Statuses: `pending`, `preconfirmed`, `confirmed`, `revoked`, `dropped` (case-insensitive).
/// An optional text message is sent after connecting, e.g. an `eth_subscribe` request.
///
/// # Examples
///
/// ```
/// use spam_core::WsPreconfSource;
///
/// let feed = WsPreconfSource::new("ws://127.0.0.1:8546")
///     .subscribe_with(r#"{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["preconfs"]}"#);
/// ```
#[derive(Debug, Clone)]
pub struct WsPreconfSource {
    url: String,
    subscribe: Option<String>,
}

impl WsPreconfSource {
    /// A feed at `url` (`ws://` or `wss://`).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            subscribe: None,
        }
    }

    /// Sends `message` after connecting.
    pub fn subscribe_with(mut self, message: impl Into<String>) -> Self {
        self.subscribe = Some(message.into());
        self
    }

    fn error(&self, reason: impl fmt::Display) -> PreconfError {
        PreconfError {
            url: self.url.clone(),
            reason: reason.to_string(),
        }
    }
}

#[async_trait]
impl PreconfSource for WsPreconfSource {
    async fn run(
        &self,
        events: mpsc::Sender<PreconfEvent>,
        cancel: CancellationToken,
    ) -> Result<(), PreconfError> {
        let (mut ws, _) = tokio_tungstenite::connect_async(self.url.as_str())
            .await
            .map_err(|e| self.error(e))?;
        if let Some(message) = &self.subscribe {
            ws.send(Message::text(message.clone()))
                .await
                .map_err(|e| self.error(e))?;
        }
        loop {
            let frame = tokio::select! {
                frame = ws.next() => frame,
                () = cancel.cancelled() => {
                    let _ = ws.close(None).await;
                    return Ok(());
                }
            };
            let text = match frame {
                None => return Ok(()),
                Some(Err(e)) => return Err(self.error(e)),
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Close(_))) => return Ok(()),
                Some(Ok(_)) => continue,
            };
            let at = Instant::now();
            for (hash, status) in parse_events(text.as_str()) {
                if events
                    .send(PreconfEvent { hash, status, at })
                    .await
                    .is_err()
                {
                    return Ok(());
                }
            }
        }
    }
}

/// The events in one frame; malformed parts are skipped.
pub(crate) fn parse_events(text: &str) -> Vec<(TxHash, PreconfStatus)> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    let body = value
        .get("params")
        .and_then(|p| p.get("result"))
        .unwrap_or(&value);
    let one = |v: &serde_json::Value| {
        let hash = v.get("hash")?.as_str()?.parse::<TxHash>().ok()?;
        let status = v.get("status")?.as_str()?.parse().ok()?;
        Some((hash, status))
    };
    match body {
        serde_json::Value::Array(items) => items.iter().filter_map(one).collect(),
        other => one(other).into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        let h = TxHash::repeat_byte(0xab);
        let single = format!(r#"{{"hash":"{h}","status":"Preconfirmed"}}"#);
        assert_eq!(
            parse_events(&single),
            vec![(h, PreconfStatus::Preconfirmed)]
        );
        let array = format!(
            r#"[{{"hash":"{h}","status":"revoked"}},{{"hash":"0x12","status":"pending"}}]"#
        );
        assert_eq!(parse_events(&array), vec![(h, PreconfStatus::Revoked)]);
        let rpc = format!(
            r#"{{"jsonrpc":"2.0","method":"eth_subscription","params":{{"subscription":"0x1","result":{{"hash":"{h}","status":"dropped"}}}}}}"#
        );
        assert_eq!(parse_events(&rpc), vec![(h, PreconfStatus::Dropped)]);
        assert!(parse_events("not json").is_empty());
        assert!(parse_events(r#"{"hash":"0xab","status":"weird"}"#).is_empty());
    }

    #[test]
    fn status_names_round_trip() {
        for s in [
            PreconfStatus::Pending,
            PreconfStatus::Preconfirmed,
            PreconfStatus::Confirmed,
            PreconfStatus::Revoked,
            PreconfStatus::Dropped,
        ] {
            assert_eq!(s.name().parse::<PreconfStatus>(), Ok(s));
        }
    }
}
