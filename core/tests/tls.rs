//! TLS: certificates are always verified. A gateway (or someone in the middle) with a
//! certificate no trusted authority signed gets no request at all, whatever the client's
//! settings; no API exists to switch verification off.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use pesakit::paypack::Client;
use pesakit::ErrorKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;

/// A TLS server on loopback with a self-signed certificate for `localhost`, counting
/// the connections it accepts and the requests that reach it after a completed handshake.
async fn self_signed_server() -> (u16, Arc<AtomicUsize>, Arc<AtomicUsize>, Vec<u8>) {
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .unwrap();
    let der = cert.cert.der().to_vec();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = Arc::new(AtomicUsize::new(0));
    let counter = served.clone();
    let connections = Arc::new(AtomicUsize::new(0));
    let accepted = connections.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            accepted.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let mut buf = [0u8; 4096];
                    if tls.read(&mut buf).await.unwrap_or(0) > 0 {
                        counter.fetch_add(1, Ordering::SeqCst);
                        let body = r#"{"access":"a","refresh":"r","expires":9999999999}"#;
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = tls.write_all(answer.as_bytes()).await;
                    }
                }
            });
        }
    });
    (port, served, connections, der)
}

#[tokio::test]
async fn an_untrusted_certificate_gets_no_request() {
    let (port, served, connections, der) = self_signed_server().await;
    for allow_loopback in [false, true] {
        let client = Client::builder()
            .client_id("id")
            .client_secret("secret-that-must-not-leave")
            .base_url(format!("https://localhost:{port}/api"))
            .allow_insecure_loopback(allow_loopback)
            .build()
            .unwrap();
        let e = client.profile().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Network, "{e}");
        assert!(e.to_string().contains("TLS handshake"), "{e}");
        assert!(e.to_string().contains("certificate"), "{e}");
    }
    // A refused certificate is final: one connection per call, never retried.
    assert_eq!(connections.load(Ordering::SeqCst), 2);
    assert_eq!(
        served.load(Ordering::SeqCst),
        0,
        "no request (and no secret) was sent"
    );

    // The server itself works: a client told to trust its certificate gets through.
    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_der(&der).unwrap())
        .build()
        .unwrap();
    let answer = trusting
        .post(format!(
            "https://localhost:{port}/api/auth/agents/authorize"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(served.load(Ordering::SeqCst), 1);
}

#[test]
fn plain_http_is_refused_off_loopback_whatever_the_flags() {
    for allow in [false, true] {
        let e = Client::builder()
            .client_id("id")
            .client_secret("s")
            .base_url("http://payments.example.rw/api")
            .allow_insecure_loopback(allow)
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Configuration);
    }
}
