//! Configuration: required settings, URL policy, environment variables, redaction.

use pesakit::paypack::{Client, ClientBuilder, DEFAULT_BASE_URL};
use pesakit::ErrorKind;

#[test]
fn credentials_are_required() {
    let err = Client::builder().client_secret("s").build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(err.to_string().contains("client id"));
    let err = Client::builder().client_id("i").build().unwrap_err();
    assert!(err.to_string().contains("client secret"));
    let err = Client::builder()
        .client_id(" ")
        .client_secret("s")
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
}

#[test]
fn plain_http_is_refused_except_loopback_when_allowed() {
    let b = || Client::builder().client_id("i").client_secret("s");
    let err = b()
        .base_url("http://payments.example.com/api")
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    let err = b()
        .base_url("http://payments.example.com/api")
        .allow_insecure_loopback(true)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    let err = b()
        .base_url("http://127.0.0.1:8080/api")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("allow_insecure_loopback"), "{err}");
    let ok = b()
        .base_url("http://127.0.0.1:8080/api/")
        .allow_insecure_loopback(true)
        .build()
        .unwrap();
    assert_eq!(ok.base_url(), "http://127.0.0.1:8080/api");
    assert_eq!(b().build().unwrap().base_url(), DEFAULT_BASE_URL);
}

#[test]
fn builds_from_the_environment() {
    // The only test in this binary that touches these variables.
    std::env::set_var("PAYPACK_CLIENT_ID", "env-id");
    std::env::set_var("PAYPACK_CLIENT_SECRET", "env-secret-value");
    std::env::set_var("PAYPACK_BASE_URL", "https://sandbox.example.rw/api");
    let client = Client::from_env().unwrap();
    assert_eq!(client.base_url(), "https://sandbox.example.rw/api");
    let debug = format!("{client:?}");
    assert!(debug.contains("env-id"));
    assert!(!debug.contains("env-secret-value"), "{debug}");
    let builder_debug = format!("{:?}", ClientBuilder::from_env());
    assert!(!builder_debug.contains("env-secret-value"));
    std::env::remove_var("PAYPACK_CLIENT_SECRET");
    let err = Client::from_env().unwrap_err();
    assert!(err.to_string().contains("PAYPACK_CLIENT_SECRET"));
    std::env::set_var("PAYPACK_CLIENT_SECRET", "env-secret-value");
    std::env::set_var("PAYPACK_BASE_URL", "http://127.0.0.1:9/api");
    let err = Client::from_env().unwrap_err();
    assert!(err.to_string().contains("allow_insecure_loopback"), "{err}");
    std::env::set_var("PAYPACK_ALLOW_INSECURE_LOOPBACK", "1");
    assert_eq!(
        Client::from_env().unwrap().base_url(),
        "http://127.0.0.1:9/api"
    );
    for var in [
        "PAYPACK_CLIENT_ID",
        "PAYPACK_CLIENT_SECRET",
        "PAYPACK_BASE_URL",
        "PAYPACK_ALLOW_INSECURE_LOOPBACK",
    ] {
        std::env::remove_var(var);
    }
}

#[test]
fn zero_timeouts_are_refused() {
    let err = Client::builder()
        .client_id("i")
        .client_secret("s")
        .request_timeout(std::time::Duration::ZERO)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
}
