//! Hosted-checkout webhooks: a `POST` of `{"payment": {…}}` to the application's
//! callback URL, stamped and signed afresh on every attempt, retried on the configured
//! schedule until a 2xx answer; every delivery is recorded for the control API.

use std::sync::{Arc, Mutex, MutexGuard};

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;
use sha2::Sha256;

use super::state::WebhookJob;
use super::wire;
use crate::server::Tasks;

/// Header naming the event, e.g. `payment.completed`.
pub(crate) const EVENT_HEADER: &str = "X-PaymentService-Event";
/// Header carrying the attempt's unix time, seconds.
pub(crate) const TIMESTAMP_HEADER: &str = "X-PaymentService-Timestamp";
/// Header carrying the signature.
pub(crate) const SIGNATURE_HEADER: &str = "X-PaymentService-Signature";

/// Lowercase hex HMAC-SHA256 over `"{timestamp}.{body}"`, keyed with `secret`.
pub(crate) fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    wire::hex(&mac.finalize().into_bytes())
}

/// What happened to one event sent to one URL.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Delivery {
    /// The payment's id.
    pub payment_id: String,
    /// The event, e.g. `payment.completed`.
    pub event: String,
    /// Where it was sent.
    pub url: String,
    /// How many attempts were made so far.
    pub attempts: u32,
    /// Status answered to each attempt, `null` when the connection failed.
    pub statuses: Vec<Option<u16>>,
    /// Why the last attempt failed, if it did.
    pub error: Option<String>,
    /// Whether the delivery is over (a 2xx answer, or every retry spent).
    pub done: bool,
}

/// Sends checkout webhooks in background tasks and records their outcome.
#[derive(Debug)]
pub(crate) struct Deliveries {
    client: reqwest::Client,
    tasks: Arc<Tasks>,
    records: Mutex<Vec<Delivery>>,
}

impl Deliveries {
    /// A sender using `client`, spawning on `tasks`.
    pub(crate) fn new(client: reqwest::Client, tasks: Arc<Tasks>) -> Self {
        Deliveries {
            client,
            tasks,
            records: Mutex::new(Vec::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Delivery>> {
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every delivery so far, oldest first.
    pub(crate) fn all(&self) -> Vec<Delivery> {
        self.lock().clone()
    }

    /// Records the delivery and runs it in the background; returns at once.
    pub(crate) fn send(self: &Arc<Self>, job: WebhookJob) {
        let index = {
            let mut records = self.lock();
            records.push(Delivery {
                payment_id: job.payment.id.clone(),
                event: job.event.clone(),
                url: job.url.clone(),
                attempts: 0,
                statuses: Vec::new(),
                error: None,
                done: false,
            });
            records.len() - 1
        };
        let this = Arc::clone(self);
        self.tasks.spawn(async move { this.run(index, job).await });
    }

    fn update(&self, index: usize, change: impl FnOnce(&mut Delivery)) {
        if let Some(delivery) = self.lock().get_mut(index) {
            change(delivery);
        }
    }

    async fn run(&self, index: usize, job: WebhookJob) {
        let body = serde_json::to_vec(&json!({ "payment": wire::payment(&job.payment) }))
            .expect("JSON serialises");
        let attempts = job.delays.len() + 1;
        for attempt in 0..attempts {
            if attempt > 0 {
                tokio::time::sleep(job.delays[attempt - 1]).await;
            }
            let timestamp = Timestamp::now().as_second();
            let result = self
                .client
                .post(&job.url)
                .header("Content-Type", "application/json")
                .header(EVENT_HEADER, &job.event)
                .header(TIMESTAMP_HEADER, timestamp.to_string())
                .header(SIGNATURE_HEADER, sign(&job.secret, timestamp, &body))
                .body(body.clone())
                .send()
                .await;
            let succeeded = matches!(&result, Ok(r) if r.status().is_success());
            let last = succeeded || attempt + 1 == attempts;
            self.update(index, |d| {
                d.attempts = (attempt + 1) as u32;
                match &result {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        d.statuses.push(Some(status));
                        d.error = (!succeeded).then(|| format!("answered {status}"));
                    }
                    Err(error) => {
                        d.statuses.push(None);
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
    fn signature_covers_timestamp_and_body() {
        // HMAC-SHA256("key", "1700000000.{}"), computed with Python's hmac module.
        let signature = super::sign("key", 1_700_000_000, b"{}");
        assert_eq!(
            signature,
            "9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
        assert_ne!(signature, super::sign("key", 1_700_000_001, b"{}"));
        assert_ne!(signature, super::sign("other", 1_700_000_000, b"{}"));
    }
}
