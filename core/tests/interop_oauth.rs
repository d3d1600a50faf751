//! The Paga client's OAuth 2.0 side against an independent authorization server:
//! github.com/go-oauth2/oauth2 (from the Go module proxy), mounted at Paga's paths by
//! `tests/interop/oauth-server` and started here. pesakit shares no code with it, so
//! this proves the client follows RFC 6749 rather than only agreeing with our emulator.
//! Needs `go` on the PATH (`.ci/run` installs it where missing).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use pesakit::paga::{AuthorizationRequest, Client, Environment, Scope};
use pesakit::{ErrorKind, MemoryTokenStore, Timestamp, TokenStore};

const REDIRECT: &str = "https://shop.example/paga/callback";

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server() -> Server {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/oauth-server");
    let binary = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("interop-oauth-server");
    let built = Command::new("go")
        .args(["build", "-o"])
        .arg(&binary)
        .arg(".")
        .current_dir(&source)
        .status()
        .expect("`go` must be installed to run the OAuth interoperability test");
    assert!(
        built.success(),
        "building the interoperability OAuth server failed"
    );
    let mut child = Command::new(&binary)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the OAuth server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("oauth-server listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();
    Server { child, url }
}

fn client(server: &Server, store: Arc<MemoryTokenStore>, secret: &str) -> Client {
    Client::builder()
        .environment(Environment::Custom(server.url.clone()))
        .client_id("interop-client")
        .client_secret(secret)
        .redirect_uri(REDIRECT)
        .allow_insecure_loopback(true)
        .token_store(store)
        .build()
        .unwrap()
}

async fn callback(request: &AuthorizationRequest) -> String {
    let answer = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(&request.url)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_redirection(), "{}", answer.status());
    answer.headers()["location"].to_str().unwrap().to_owned()
}

fn key(server: &Server, user: &str) -> String {
    format!("paga|{}|interop-client|{user}", server.url)
}

#[tokio::test]
async fn code_exchange_refresh_rotation_and_errors_against_go_oauth2() {
    let server = start_server();
    let store = Arc::new(MemoryTokenStore::new());
    let c = client(&server, store.clone(), "interop-secret");

    // Authorization-code exchange with HTTP Basic client authentication.
    let request = c.authorization_url(&[Scope::MerchantPayment], &[]);
    let back = callback(&request).await;
    assert!(back.starts_with(REDIRECT), "{back}");
    let grant = c.handle_callback(&back, &request, "u").await.unwrap();
    assert!(grant.expires_at > Timestamp::now());
    let first = store.load(&key(&server, "u")).unwrap().unwrap();
    assert!(first.refresh_token.is_some());

    // A code is single-use: the server's invalid_grant becomes an authentication error
    // that keeps the OAuth code.
    let e = c.handle_callback(&back, &request, "u2").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication);
    assert_eq!(e.gateway_code(), Some("invalid_grant"), "{e:?}");

    // A wrong client secret: invalid_client.
    let request = c.authorization_url(&[Scope::MerchantPayment], &[]);
    let back = callback(&request).await;
    let wrong = client(&server, Arc::new(MemoryTokenStore::new()), "not-the-secret");
    let e = wrong
        .handle_callback(&back, &request, "u3")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication);
    assert_eq!(e.gateway_code(), Some("invalid_client"), "{e:?}");

    // Refresh with rotation: make the stored access token look expired; the next call
    // refreshes first (the server then answers 404, having no Paga operations).
    let mut expired = first.clone();
    expired.expires_at = Timestamp::from_second(1_000_000_000).unwrap();
    store.save(&key(&server, "u"), &expired).unwrap();
    let fresh_client = client(&server, store.clone(), "interop-secret");
    let e = fresh_client.user_details("u").await.unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::NotFound,
        "the refresh worked, the operation does not exist: {e}"
    );
    let rotated = store.load(&key(&server, "u")).unwrap().unwrap();
    assert_ne!(rotated.access_token, first.access_token);
    assert_ne!(
        rotated.refresh_token, first.refresh_token,
        "the server rotated the refresh token"
    );

    // The rotated-out refresh token is refused; the client asks for a new authorization.
    let stale_store = Arc::new(MemoryTokenStore::new());
    stale_store.save(&key(&server, "u"), &expired).unwrap();
    let stale = client(&server, stale_store, "interop-secret");
    let e = stale.user_details("u").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication);
    assert!(e.to_string().contains("send the user to Paga again"), "{e}");
}
