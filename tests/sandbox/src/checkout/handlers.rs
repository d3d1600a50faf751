//! The hosted-checkout API: create/get payments, payer instructions, payment
//! applications, and the hosted page itself. Laravel conventions throughout.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use jiff::Timestamp;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::state::{
    forbidden, not_found, unauthenticated, NewApplication, NewPayment, Principal, State as Ledger,
};
use super::wire::{self, Invalid};
use super::Checkout;
use crate::error::ApiError;

/// Scope of `POST /api/payment/checkout`.
pub(crate) const SCOPE_CREATE: &str = "payments.create";
/// Scope of `GET /api/payment/{id}`.
pub(crate) const SCOPE_GET: &str = "payments.get";
/// Scope of `GET /api/payment/{id}/provider/{provider}/method/{method}`.
pub(crate) const SCOPE_INSTRUCTIONS: &str = "payments.user-instructions.get";

/// Providers the payer-instructions endpoint knows, with their methods.
pub(crate) const PROVIDERS: &[(&str, &[&str])] = &[
    ("bitcoin", &["onchain", "lightning"]),
    ("litecoin", &["onchain"]),
    ("ethereum", &["native", "erc20"]),
    ("tron", &["trc20"]),
];

/// An answer the API refuses with: `{"message"}` or a 422 with field errors.
#[derive(Debug)]
pub(super) enum Refusal {
    /// 401, 403, 404…
    Api(ApiError),
    /// 422.
    Invalid(Invalid),
}

impl From<ApiError> for Refusal {
    fn from(error: ApiError) -> Self {
        Refusal::Api(error)
    }
}

impl From<Invalid> for Refusal {
    fn from(invalid: Invalid) -> Self {
        Refusal::Invalid(invalid)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Api(error) => error.into_response(),
            Refusal::Invalid(invalid) => invalid.into_response(),
        }
    }
}

type Answer = Result<Response, Refusal>;

/// `{"data": value}` with status 200.
fn data(value: Value) -> Response {
    Json(json!({ "data": value })).into_response()
}

/// The token of `Authorization: Bearer <token>` (Laravel's `bearerToken()`: the scheme
/// is case-sensitive).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let token = value.trim().strip_prefix("Bearer ")?.trim();
    (!token.is_empty()).then_some(token)
}

/// Checks that the request carries a client token with `scope` (or `*`).
fn require_scope(ledger: &Ledger, headers: &HeaderMap, scope: &str) -> Result<(), ApiError> {
    let token = bearer(headers).ok_or_else(unauthenticated)?;
    match ledger.authenticate(token, Timestamp::now())? {
        Principal::Client(scopes) if scopes.iter().any(|s| s == "*" || s == scope) => Ok(()),
        _ => Err(forbidden()),
    }
}

/// Checks that the request carries a live OAuth2 access token; its user.
fn require_user(ledger: &Ledger, headers: &HeaderMap) -> Result<u64, ApiError> {
    let token = bearer(headers).ok_or_else(unauthenticated)?;
    match ledger.authenticate(token, Timestamp::now())? {
        Principal::User(user) => Ok(user),
        Principal::Client(_) => Err(forbidden()),
    }
}

/// The body as a JSON object; anything else reads as no input at all (as Laravel does).
fn input(body: &[u8]) -> Map<String, Value> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// A field's value after Laravel's `TrimStrings` and `ConvertEmptyStringsToNull`:
/// `None` when absent, `null` or blank.
fn field<'a>(input: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    match input.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(value) => Some(value),
    }
}

/// A required string of at most `max` characters.
fn required_string(
    input: &Map<String, Value>,
    name: &str,
    max: usize,
    errors: &mut Invalid,
) -> Option<String> {
    match field(input, name) {
        None => {
            errors.add(name, "The :attribute field is required.");
            None
        }
        Some(value) => string(value, name, max, errors),
    }
}

/// A present value that must be a string of at most `max` characters, trimmed.
fn string(value: &Value, name: &str, max: usize, errors: &mut Invalid) -> Option<String> {
    let Some(text) = value.as_str() else {
        errors.add(name, "The :attribute field must be a string.");
        return None;
    };
    let text = text.trim();
    if text.chars().count() > max {
        errors.add(
            name,
            &format!("The :attribute field must not be greater than {max} characters."),
        );
        return None;
    }
    Some(text.to_owned())
}

/// An integer: a JSON integer or a string of digits (Laravel's `integer` rule).
fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            let s = s.trim();
            let digits = s.strip_prefix('-').unwrap_or(s);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                s.parse().ok()
            } else {
                None
            }
        }
        _ => None,
    }
}

/// `[A-Z]{3,5}`.
fn is_currency(text: &str) -> bool {
    (3..=5).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_uppercase())
}

/// An optional currency code.
fn currency(value: &Value, name: &str, errors: &mut Invalid) -> Option<String> {
    let text = string(value, name, 255, errors)?;
    if is_currency(&text) {
        Some(text)
    } else {
        errors.add(name, "The :attribute field format is invalid.");
        None
    }
}

/// An optional absolute http(s) URL.
fn url_field(input: &Map<String, Value>, name: &str, errors: &mut Invalid) -> Option<String> {
    let value = field(input, name)?;
    let text = string(value, name, 2048, errors)?;
    match url::Url::parse(&text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Some(text),
        _ => {
            errors.add(name, "The :attribute field must be a valid URL.");
            None
        }
    }
}

/// An optional boolean: `true`, `false`, `0`, `1`, `"0"`, `"1"` (Laravel's `boolean`).
fn boolean(input: &Map<String, Value>, name: &str, errors: &mut Invalid) -> bool {
    match field(input, name) {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(value) => match integer(value) {
            Some(0) => false,
            Some(1) => true,
            _ => {
                errors.add(name, "The :attribute field must be true or false.");
                false
            }
        },
    }
}

/// An ISO 8601 instant; without an offset, UTC; a bare date is its midnight, UTC.
fn parse_date(text: &str) -> Option<Timestamp> {
    if let Ok(ts) = Timestamp::from_str(text) {
        return Some(ts);
    }
    if let Ok(dt) = jiff::civil::DateTime::from_str(text) {
        return dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp());
    }
    jiff::civil::Date::from_str(text)
        .ok()
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
}

/// Validates a create-checkout body against the applications known.
fn validate_checkout(
    ledger: &Ledger,
    input: &Map<String, Value>,
    now: Timestamp,
) -> Result<NewPayment, Invalid> {
    let mut errors = Invalid::default();
    let amount = match field(input, "amount") {
        None => {
            errors.add("amount", "The :attribute field is required.");
            None
        }
        Some(value) => match integer(value) {
            None => {
                errors.add("amount", "The :attribute field must be an integer.");
                None
            }
            Some(n) if n < 1 => {
                errors.add("amount", "The :attribute field must be at least 1.");
                None
            }
            Some(n) => Some(n),
        },
    };
    let currency_code = match field(input, "currencyCode") {
        None => {
            errors.add("currencyCode", "The :attribute field is required.");
            None
        }
        Some(value) => currency(value, "currencyCode", &mut errors),
    };
    let reference = required_string(input, "reference", 255, &mut errors);
    let reference_label = required_string(input, "referenceLabel", 255, &mut errors);

    let client_id = field(input, "clientId");
    let site_id = field(input, "siteId");
    let mut application = None;
    if client_id.is_none() && site_id.is_none() {
        errors.add(
            "clientId",
            "The :attribute field is required when site id is not present.",
        );
        errors.add(
            "siteId",
            "The :attribute field is required when client id is not present.",
        );
    }
    if let Some(value) = client_id {
        if let Some(text) = string(value, "clientId", 255, &mut errors) {
            match ledger.application_by_client_id(&text) {
                Some(app) => application = Some(app),
                None => errors.add("clientId", "The selected :attribute is invalid."),
            }
        }
    }
    if let Some(value) = site_id {
        match integer(value).and_then(|n| u64::try_from(n).ok()) {
            None => errors.add("siteId", "The :attribute field must be an integer."),
            Some(site) => match ledger.application_by_site(site) {
                Some(app) => {
                    application.get_or_insert(app);
                }
                None => errors.add("siteId", "The selected :attribute is invalid."),
            },
        }
    }
    if let (Some(app), Some(code)) = (application, &currency_code) {
        if !app.currency_whitelist.is_empty() && !app.currency_whitelist.contains(code) {
            errors.add("currencyCode", "The selected :attribute is invalid.");
        }
    }

    let redirect_url = url_field(input, "redirectUrl", &mut errors);
    let expires_at = match field(input, "expiresAt") {
        None => None,
        Some(value) => match value.as_str().map(str::trim).and_then(parse_date) {
            None => {
                errors.add("expiresAt", "The :attribute field must be a valid date.");
                None
            }
            Some(ts) if ts <= now => {
                errors.add(
                    "expiresAt",
                    "The :attribute field must be a date after now.",
                );
                None
            }
            Some(ts) => Some(ts),
        },
    };
    let product_id = match field(input, "productId") {
        None => None,
        Some(Value::String(s)) => Some(Value::String(s.trim().to_owned())),
        Some(value @ Value::Number(n)) if n.is_i64() || n.is_u64() => Some(value.clone()),
        Some(_) => {
            errors.add("productId", "The :attribute field must be a string.");
            None
        }
    };
    let settlement_currency_code = field(input, "settlementCurrencyCode")
        .and_then(|value| currency(value, "settlementCurrencyCode", &mut errors));

    match (
        errors.is_empty(),
        amount,
        currency_code,
        reference,
        reference_label,
        application,
    ) {
        (
            true,
            Some(amount),
            Some(currency_code),
            Some(reference),
            Some(reference_label),
            Some(app),
        ) => Ok(NewPayment {
            application_id: app.id,
            amount,
            currency_code,
            reference,
            reference_label,
            settlement_currency_code,
            expires_at,
            redirect_url,
            product_id,
        }),
        _ => Err(errors),
    }
}

/// `POST /api/payment/checkout`: a new `OPEN` payment and its signed hosted-page URL.
/// No idempotency: every call creates a payment.
pub(super) async fn create_checkout(
    State(checkout): State<Arc<Checkout>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let mut ledger = checkout.lock();
    require_scope(&ledger, &headers, SCOPE_CREATE)?;
    let now = Timestamp::now();
    let request = validate_checkout(&ledger, &input(&body), now)?;
    let payment = ledger.create_payment(request, now, |id, expires| {
        checkout.checkout_url(id, expires)
    });
    Ok(data(json!({ "checkoutUrl": payment.checkout_url })))
}

/// `GET /api/payment/{id}`.
pub(super) async fn get_payment(
    State(checkout): State<Arc<Checkout>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    let ledger = checkout.lock();
    require_scope(&ledger, &headers, SCOPE_GET)?;
    let payment = ledger.payment(&id).ok_or_else(not_found)?;
    Ok(data(wire::payment(payment)))
}

/// A sandbox address for a provider and method, derived from the payment id.
fn address(payment_id: &str, provider: &str, method: &str) -> String {
    let digest = wire::hex(&Sha256::digest(
        format!("{payment_id}/{provider}/{method}").as_bytes(),
    ));
    match (provider, method) {
        ("bitcoin", "lightning") => format!("lnbcrt1{}", &digest[..58]),
        ("bitcoin", _) => format!("bcrt1q{}", &digest[..38]),
        ("litecoin", _) => format!("rltc1q{}", &digest[..38]),
        ("tron", _) => format!("T{}", &digest[..33]),
        _ => format!("0x{}", &digest[..40]),
    }
}

/// `GET /api/payment/{id}/provider/{provider}/method/{method}`: how the payer pays.
pub(super) async fn instructions(
    State(checkout): State<Arc<Checkout>>,
    headers: HeaderMap,
    Path((id, provider, method)): Path<(String, String, String)>,
) -> Answer {
    let ledger = checkout.lock();
    require_scope(&ledger, &headers, SCOPE_INSTRUCTIONS)?;
    let payment = ledger.payment(&id).ok_or_else(not_found)?;
    let mut errors = Invalid::default();
    match PROVIDERS.iter().find(|(name, _)| *name == provider) {
        None => errors.add("provider", "The selected :attribute is invalid."),
        Some((_, methods)) if !methods.contains(&method.as_str()) => {
            errors.add("method", "The selected :attribute is invalid.")
        }
        Some(_) => {}
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let address = address(&payment.id, &provider, &method);
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"200\" height=\"20\">\
         <text x=\"0\" y=\"15\">{address}</text></svg>"
    );
    Ok(data(json!({
        "provider": provider,
        "method": method,
        "address": address,
        "amount": wire::money(payment.amount, &payment.currency_code),
        "qrCode": format!("data:image/svg+xml;base64,{}", STANDARD.encode(svg)),
        "expiresAt": wire::iso(payment.expires_at),
        "extra": { "memo": payment.reference },
    })))
}

/// `GET /api/payment-applications`.
pub(super) async fn list_applications(
    State(checkout): State<Arc<Checkout>>,
    headers: HeaderMap,
) -> Answer {
    let ledger = checkout.lock();
    let user = require_user(&ledger, &headers)?;
    let list: Vec<Value> = ledger
        .applications
        .iter()
        .filter(|app| app.user_id == user)
        .map(wire::application)
        .collect();
    Ok(data(Value::Array(list)))
}

/// `GET /api/payment-applications/{id}`.
pub(super) async fn get_application(
    State(checkout): State<Arc<Checkout>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    let ledger = checkout.lock();
    let user = require_user(&ledger, &headers)?;
    let app = id
        .parse::<u64>()
        .ok()
        .and_then(|id| ledger.application(id))
        .filter(|app| app.user_id == user)
        .ok_or_else(not_found)?;
    Ok(data(wire::application(app)))
}

/// Validates a create-application body.
fn validate_application(input: &Map<String, Value>) -> Result<NewApplication, Invalid> {
    let mut errors = Invalid::default();
    let name = required_string(input, "name", 255, &mut errors).filter(|name| {
        let long_enough = name.chars().count() >= 3;
        if !long_enough {
            errors.add(
                "name",
                "The :attribute field must be at least 3 characters.",
            );
        }
        long_enough
    });
    let secret = required_string(input, "secret", 255, &mut errors);
    let url = url_field(input, "url", &mut errors);
    let callback_url = url_field(input, "callbackUrl", &mut errors);
    let mut currency_whitelist = Vec::new();
    match field(input, "currencyWhitelist") {
        None => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let name = format!("currencyWhitelist.{i}");
                match item.as_str().map(str::trim) {
                    Some(code) if is_currency(code) => currency_whitelist.push(code.to_owned()),
                    _ => errors.add(&name, "The :attribute field format is invalid."),
                }
            }
        }
        Some(_) => errors.add(
            "currencyWhitelist",
            "The :attribute field must be an array.",
        ),
    }
    let allow_underpay = boolean(input, "allowUnderpay", &mut errors);
    let allow_overpay = boolean(input, "allowOverpay", &mut errors);
    match (errors.is_empty(), name, secret) {
        (true, Some(name), Some(secret)) => Ok(NewApplication {
            name,
            secret,
            url,
            callback_url,
            currency_whitelist,
            allow_underpay,
            allow_overpay,
        }),
        _ => Err(errors),
    }
}

/// `POST /api/payment-applications`: `201 {"data": application}`.
pub(super) async fn create_application(
    State(checkout): State<Arc<Checkout>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let mut ledger = checkout.lock();
    require_user(&ledger, &headers)?;
    let request = validate_application(&input(&body))?;
    let app = ledger.create_application(request, Timestamp::now());
    Ok((
        StatusCode::CREATED,
        Json(json!({ "data": wire::application(&app) })),
    )
        .into_response())
}

/// `GET /checkout/{id}?expires=…&signature=…`: the hosted page, behind Laravel's signed
/// URL check (`403 {"message": "Invalid signature."}` when the signature is wrong or the
/// link has expired).
pub(super) async fn checkout_page(
    State(checkout): State<Arc<Checkout>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Answer {
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let invalid = || ApiError::new(StatusCode::FORBIDDEN, "Invalid signature.");
    let expires: i64 = query
        .get("expires")
        .and_then(|e| e.parse().ok())
        .ok_or_else(invalid)?;
    let expected = checkout.url_signature(&checkout.unsigned_checkout_url(&id, expires));
    let signature = query.get("signature").ok_or_else(invalid)?;
    if *signature != expected || Timestamp::now().as_second() > expires {
        return Err(invalid().into());
    }
    let ledger = checkout.lock();
    let payment = ledger.payment(&id).ok_or_else(not_found)?;
    let mut response = wire::checkout_page(payment).into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=UTF-8"),
    );
    Ok(response)
}

/// Unknown routes under `/checkout`: `404 {"message": "The route … could not be found."}`.
/// (Nested under `/checkout`, the path seen here is relative to it, as Laravel's is to
/// the application root.)
pub(super) async fn route_not_found(uri: Uri) -> ApiError {
    let route = uri.path().trim_start_matches('/');
    ApiError::not_found(format!("The route {route} could not be found."))
}

/// A known path with another method: `405 {"message": "The M method is not supported
/// for route …"}`.
pub(super) async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    let route = uri.path().trim_start_matches('/');
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("The {method} method is not supported for route {route}."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_follow_laravel() {
        assert_eq!(integer(&json!(5)), Some(5));
        assert_eq!(integer(&json!("12")), Some(12));
        assert_eq!(integer(&json!(1.5)), None);
        assert_eq!(integer(&json!("1.0")), None);
        assert_eq!(integer(&json!("")), None);
        assert_eq!(integer(&json!(true)), None);
    }

    #[test]
    fn dates_accept_iso_8601_forms() {
        let expected: Timestamp = "2030-01-02T03:04:05Z".parse().unwrap();
        assert_eq!(parse_date("2030-01-02T03:04:05+00:00"), Some(expected));
        assert_eq!(parse_date("2030-01-02T05:04:05+02:00"), Some(expected));
        assert_eq!(parse_date("2030-01-02T03:04:05"), Some(expected));
        assert!(parse_date("2030-01-02").is_some());
        assert_eq!(parse_date("tomorrow"), None);
    }

    #[test]
    fn currencies_are_three_to_five_capitals() {
        assert!(is_currency("USD"));
        assert!(is_currency("USDT"));
        assert!(!is_currency("usd"));
        assert!(!is_currency("US"));
        assert!(!is_currency("TOOLONG"));
    }
}
