//! The secure operations under `/paga-webservices/oauth2/secure/`: merchant payment,
//! money transfer, user details, one-time token. All `POST`, bearer-authenticated,
//! parameters in the path or query string.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde_json::{json, Value};

use super::state::{random_token, BadToken, Grant};
use super::Paga;
use crate::paypack::wire::{money, parse_decimal_text};

/// Lifetime of a one-time token, seconds.
const ONE_TIME_TOKEN_TTL: u64 = 300;

/// `status` with `{"error", "error_description"}`.
fn refuse(status: StatusCode, error: &str, description: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description.into() })),
    )
        .into_response()
}

fn bad_request(description: impl Into<String>) -> Response {
    refuse(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// The grant behind the request's bearer token, if it carries `scope`.
fn authorize(
    paga: &Paga,
    headers: &HeaderMap,
    scope: Option<&str>,
) -> Result<Grant, Box<Response>> {
    let unauthorized = |description: &str| {
        Box::new(refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            description,
        ))
    };
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned())
        .ok_or_else(|| unauthorized("Full authentication is required to access this resource"))?;
    let grant = paga
        .lock()
        .check_access(&token, Timestamp::now())
        .map_err(|e| match e {
            BadToken::Unknown => unauthorized(&format!("Invalid access token: {token}")),
            BadToken::Expired => unauthorized(&format!("Access token expired: {token}")),
        })?;
    if let Some(scope) = scope {
        if !grant.scopes.iter().any(|s| s == scope) {
            return Err(Box::new(refuse(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!("Insufficient scope for this resource: {scope} was not granted"),
            )));
        }
    }
    Ok(grant)
}

/// A positive amount written as text; the refusal's description otherwise.
fn amount(text: &str) -> Result<Decimal, String> {
    parse_decimal_text(text.trim())
        .filter(|a| *a > Decimal::ZERO)
        .ok_or_else(|| format!("amount must be a positive number, got {text:?}"))
}

/// `POST …/merchantPayment/referenceNumber/{ref}/amount/{amount}/merchantCustomerReference/{customer}[/merchantProductCode/{product}][/currency/{currency}]`.
pub(super) async fn merchant_payment(
    State(paga): State<Arc<Paga>>,
    Path(path): Path<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let grant = match authorize(&paga, &headers, Some("MERCHANT_PAYMENT")) {
        Ok(grant) => grant,
        Err(response) => return *response,
    };
    let reference = path.get("ref").cloned().unwrap_or_default();
    let customer = path.get("customer").cloned().unwrap_or_default();
    let amount = match amount(path.get("amount").map(String::as_str).unwrap_or("")) {
        Ok(amount) => amount,
        Err(description) => return bad_request(description),
    };
    let currency = path
        .get("currency")
        .map(|c| c.to_ascii_uppercase())
        .unwrap_or_else(|| "NGN".to_owned());
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_alphabetic()) {
        return bad_request(format!(
            "currency must be an ISO 4217 code, got {currency:?}"
        ));
    }
    let product = path.get("product").map(String::as_str);
    let result = paga.lock().merchant_payment(
        &grant.login,
        &reference,
        amount,
        &customer,
        product,
        &currency,
        Timestamp::now(),
    );
    let result = match result {
        Ok(payment) => json!({
            "amount": money(payment.amount),
            "transactionId": payment.transaction_id,
            "confirmationCode": payment.confirmation_code,
            "agentCommission": 0,
            "fee": 0,
            "currency": payment.currency,
            "exchangeRate": null,
            "errorCode": "0",
            "errorMessage": null,
        }),
        Err((code, message)) => json!({
            "amount": money(amount),
            "transactionId": null,
            "confirmationCode": null,
            "agentCommission": 0,
            "fee": 0,
            "currency": currency,
            "exchangeRate": null,
            "errorCode": code,
            "errorMessage": message,
        }),
    };
    Json(json!({ "merchantPaymentResult": result })).into_response()
}

/// `POST …/moneyTransfer/v2?amount&referenceNumber&skipMessaging&recipientCredential`.
pub(super) async fn money_transfer(
    State(paga): State<Arc<Paga>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let grant = match authorize(&paga, &headers, Some("MONEY_TRANSFER")) {
        Ok(grant) => grant,
        Err(response) => return *response,
    };
    let required = |name: &str| {
        query
            .get(name)
            .filter(|v| !v.trim().is_empty())
            .cloned()
            .ok_or_else(|| format!("missing parameter {name}"))
    };
    let fields = (|| {
        let amount = amount(&required("amount")?)?;
        let reference = required("referenceNumber")?;
        let recipient = required("recipientCredential")?;
        let skip = match query.get("skipMessaging").map(String::as_str) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(format!(
                    "skipMessaging must be true or false, got {other:?}"
                ))
            }
        };
        Ok((amount, reference, recipient, skip))
    })();
    let (amount, reference, recipient, skip) = match fields {
        Ok(fields) => fields,
        Err(description) => return bad_request(description),
    };
    let result = paga.lock().money_transfer(
        &grant.login,
        &reference,
        amount,
        &recipient,
        skip,
        Timestamp::now(),
    );
    let (transaction_id, code, message) = match result {
        Ok(transfer) => (Value::from(transfer.transaction_id), "0", Value::Null),
        Err((code, message)) => (Value::Null, code, Value::from(message)),
    };
    Json(json!({
        "amount": money(amount),
        "exchangeRate": null,
        "fee": 0,
        "currency": "NGN",
        "transactionId": transaction_id,
        "externalReferenceNumber": reference,
        "errorCode": code,
        "errorMessage": message,
    }))
    .into_response()
}

/// `POST …/getUserDetails` (also `…/getUserDetails/referenceNumber/{ref}`).
pub(super) async fn user_details(State(paga): State<Arc<Paga>>, headers: HeaderMap) -> Response {
    let grant = match authorize(&paga, &headers, Some("USER_DETAILS_REQUEST")) {
        Ok(grant) => grant,
        Err(response) => return *response,
    };
    let ledger = paga.lock();
    let Some(user) = ledger.user(&grant.login) else {
        return Json(json!({ "detailsResult": {
            "errorCode": "4", "errorMessage": "Unknown user", "details": null,
        }}))
        .into_response();
    };
    let mut details = json!({
        "accountStatus": "ACTIVE",
        "firstName": user.first_name,
        "lastName": user.last_name,
        "email": user.email,
        "publicId": user.public_id,
        "username": user.username,
        "authorities": [{ "authority": "ROLE_USER" }],
    });
    if grant.user_data.iter().any(|d| d == "ACCOUNT_BALANCE") {
        details["accountBalance"] = money(user.balance);
    }
    Json(json!({ "detailsResult": {
        "errorCode": "0",
        "errorMessage": null,
        "details": details,
    }}))
    .into_response()
}

/// `POST …/getOneTimeToken/referenceNumber/{ref}`.
pub(super) async fn one_time_token(
    State(paga): State<Arc<Paga>>,
    Path(_reference): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = authorize(&paga, &headers, None) {
        return *response;
    }
    let token = random_token();
    paga.lock().one_time_tokens.insert(token.clone());
    Json(json!({
        "oneTimeToken": token,
        "expiresIn": ONE_TIME_TOKEN_TTL,
        "errorCode": "0",
    }))
    .into_response()
}
