//! Paga Connect's scopes, user-data fields and results.

use std::fmt;

use crate::money::Amount;
use crate::time::Timestamp;

macro_rules! named {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $wire:literal,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
            /// A name this version of pesakit does not know, passed as given.
            Other(String),
        }

        impl $name {
            /// The wire name.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)*
                    $name::Other(raw) => raw,
                }
            }

            /// Reads a wire name.
            pub fn parse(raw: &str) -> Self {
                match raw.trim().to_ascii_uppercase().as_str() {
                    $($wire => $name::$variant,)*
                    _ => $name::Other(raw.trim().to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named! {
    /// A permission a Paga user grants the merchant.
    Scope {
        /// Charge the user (`MERCHANT_PAYMENT`).
        MerchantPayment = "MERCHANT_PAYMENT",
        /// Send money to the user (`MONEY_TRANSFER`).
        MoneyTransfer = "MONEY_TRANSFER",
        /// Read the user's details (`USER_DETAILS_REQUEST`).
        UserDetailsRequest = "USER_DETAILS_REQUEST",
        /// Deposit from the user's card (`USER_DEPOSIT_FROM_CARD`).
        UserDepositFromCard = "USER_DEPOSIT_FROM_CARD",
        /// Read the user's balance (`USER_REQUEST_ACCOUNT_BALANCE`, named in Paga's docs).
        UserRequestAccountBalance = "USER_REQUEST_ACCOUNT_BALANCE",
    }
}

named! {
    /// A piece of the user's data the merchant asks for.
    UserData {
        /// `FIRST_NAME`.
        FirstName = "FIRST_NAME",
        /// `LAST_NAME`.
        LastName = "LAST_NAME",
        /// `USERNAME`.
        Username = "USERNAME",
        /// `EMAIL`.
        Email = "EMAIL",
        /// `ACCOUNT_BALANCE` (the balance then comes with the user's details).
        AccountBalance = "ACCOUNT_BALANCE",
        /// `MOBILE_NUMBER` (named in Paga's docs).
        MobileNumber = "MOBILE_NUMBER",
    }
}

/// What the authorization of one user granted.
#[derive(Clone, Debug, PartialEq)]
pub struct Grant {
    /// The scopes granted.
    pub scopes: Vec<Scope>,
    /// The user-data fields granted.
    pub user_data: Vec<UserData>,
    /// When the access token expires.
    pub expires_at: Timestamp,
    /// Every other field of the token answer (`authorities`, `limitMaximum`, …).
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A charge to the user's Paga account.
#[derive(Clone, Debug, PartialEq)]
pub struct MerchantPaymentRequest {
    /// Your unique reference for this payment (see [`new_reference_number`](super::new_reference_number)).
    pub reference_number: String,
    /// The amount.
    pub amount: Amount,
    /// Your reference for the customer.
    pub customer_reference: String,
    /// The product code, when the merchant has several.
    pub product_code: Option<String>,
    /// The currency (ISO 4217), when not the default.
    pub currency: Option<String>,
}

/// The result of a merchant payment.
#[derive(Clone, Debug, PartialEq)]
pub struct MerchantPayment {
    /// Paga's transaction id.
    pub transaction_id: Option<String>,
    /// The confirmation code.
    pub confirmation_code: Option<String>,
    /// The amount charged.
    pub amount: Option<Amount>,
    /// Paga's fee.
    pub fee: Option<Amount>,
    /// The currency.
    pub currency: Option<String>,
    /// The raw result object.
    pub raw: serde_json::Value,
}

/// A transfer from the merchant to a Paga user.
#[derive(Clone, Debug, PartialEq)]
pub struct MoneyTransferRequest {
    /// Your unique reference for this transfer.
    pub reference_number: String,
    /// The amount.
    pub amount: Amount,
    /// The recipient's phone number (or other credential).
    pub recipient: String,
    /// Whether Paga skips its SMS to the recipient.
    pub skip_messaging: bool,
}

/// The result of a money transfer.
#[derive(Clone, Debug, PartialEq)]
pub struct MoneyTransfer {
    /// Paga's transaction id.
    pub transaction_id: Option<String>,
    /// The amount sent.
    pub amount: Option<Amount>,
    /// Paga's fee.
    pub fee: Option<Amount>,
    /// The currency.
    pub currency: Option<String>,
    /// The raw result object.
    pub raw: serde_json::Value,
}

/// A Paga user's details.
#[derive(Clone, Debug, PartialEq)]
pub struct UserDetails {
    /// `ACTIVE`, …
    pub account_status: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// The balance, when `ACCOUNT_BALANCE` was granted.
    pub account_balance: Option<Amount>,
    /// Email.
    pub email: Option<String>,
    /// Paga's public id of the user.
    pub public_id: Option<String>,
    /// Username.
    pub username: Option<String>,
    /// The raw details object.
    pub raw: serde_json::Value,
}
