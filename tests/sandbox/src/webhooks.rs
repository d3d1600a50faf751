//! Webhook delivery: an unsigned `HEAD`, then a signed `POST` retried on failure, each
//! delivery recorded so tests can see what was sent and what the receiver answered.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::server::Tasks;

/// How many times a failed `POST` is tried again.
pub(crate) const POST_RETRIES: u32 = 3;

/// Pause between two `POST` attempts.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// base64 (standard alphabet, padded) of HMAC-SHA256 over `body`, keyed with `secret`.
pub(crate) fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// What happened to one event sent to one URL.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Delivery {
    /// The event's id.
    pub event_id: String,
    /// The event's kind, e.g. `transaction:processed`.
    pub event_kind: String,
    /// Where it was sent.
    pub url: String,
    /// Status answered to the `HEAD`, `None` if it failed or has not happened yet.
    pub head_status: Option<u16>,
    /// Status answered to the last `POST`, `None` if it failed or has not happened yet.
    pub post_status: Option<u16>,
    /// How many `POST`s were sent.
    pub attempts: u32,
    /// The last error, if the last attempt failed.
    pub error: Option<String>,
    /// Whether the delivery is over (success, or every attempt failed).
    pub done: bool,
}

/// Sends webhooks in background tasks and records their outcome.
#[derive(Debug)]
pub(crate) struct Webhooks {
    client: reqwest::Client,
    tasks: Arc<Tasks>,
    deliveries: Mutex<Vec<Delivery>>,
}

/// One webhook to send.
#[derive(Debug)]
pub(crate) struct Outgoing {
    /// Destination.
    pub url: String,
    /// Event id, for the record.
    pub event_id: String,
    /// Event kind, for the record.
    pub event_kind: String,
    /// Exact bytes to POST.
    pub body: Vec<u8>,
    /// Extra headers of the POST (the signature).
    pub headers: Vec<(&'static str, String)>,
}

impl Webhooks {
    /// A sender using `client`, spawning on `tasks`.
    pub(crate) fn new(client: reqwest::Client, tasks: Arc<Tasks>) -> Self {
        Webhooks {
            client,
            tasks,
            deliveries: Mutex::new(Vec::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Delivery>> {
        self.deliveries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every delivery so far, oldest first.
    pub(crate) fn deliveries(&self) -> Vec<Delivery> {
        self.lock().clone()
    }

    /// Records the delivery and sends it in the background; returns at once.
    pub(crate) fn send(self: &Arc<Self>, outgoing: Outgoing) {
        let index = {
            let mut deliveries = self.lock();
            deliveries.push(Delivery {
                event_id: outgoing.event_id.clone(),
                event_kind: outgoing.event_kind.clone(),
                url: outgoing.url.clone(),
                head_status: None,
                post_status: None,
                attempts: 0,
                error: None,
                done: false,
            });
            deliveries.len() - 1
        };
        let this = Arc::clone(self);
        self.tasks
            .spawn(async move { this.run(index, outgoing).await });
    }

    fn update(&self, index: usize, change: impl FnOnce(&mut Delivery)) {
        if let Some(delivery) = self.lock().get_mut(index) {
            change(delivery);
        }
    }

    async fn run(&self, index: usize, outgoing: Outgoing) {
        match self.client.head(&outgoing.url).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                self.update(index, |d| d.head_status = Some(status));
            }
            Err(error) => {
                let error = format!("HEAD failed: {error}");
                self.update(index, |d| d.error = Some(error));
            }
        }
        for attempt in 1..=POST_RETRIES + 1 {
            if attempt > 1 {
                tokio::time::sleep(RETRY_PAUSE).await;
            }
            let mut request = self
                .client
                .post(&outgoing.url)
                .header("Content-Type", "application/json")
                .body(outgoing.body.clone());
            for (name, value) in &outgoing.headers {
                request = request.header(*name, value);
            }
            let result = request.send().await;
            let succeeded = matches!(&result, Ok(r) if r.status().is_success());
            let last = succeeded || attempt == POST_RETRIES + 1;
            self.update(index, |d| {
                d.attempts = attempt;
                match &result {
                    Ok(response) => {
                        d.post_status = Some(response.status().as_u16());
                        d.error = (!succeeded)
                            .then(|| format!("POST answered {}", response.status().as_u16()));
                    }
                    Err(error) => {
                        d.post_status = None;
                        d.error = Some(format!("POST failed: {error}"));
                    }
                }
                d.done = last;
            });
            if succeeded {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn signature_matches_a_known_vector() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
        assert_eq!(
            super::sign("key", b"The quick brown fox jumps over the lazy dog"),
            "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg="
        );
    }
}
