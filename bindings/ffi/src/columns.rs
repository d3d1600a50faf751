//! Pages of records in column form, for the Python package.
//!
//! UniFFI hands a record to Python as one buffer that the generated code reads field by
//! field, one Python call per value: for a page of 10,000 events that is most of the
//! time the page takes to reach Python. In column form each field of a record type is
//! one array, and every string, amount and instant is written once into a table, so
//! Python builds the values with a few calls that each loop in C (`str` slices,
//! `map(Decimal, …)`, `datetime.fromisoformat`), and the records from the columns
//! (`docs/adr/0010-python-pages-in-columns.md`).
//!
//! The records are the same FFI records (`EventPage`, `TransactionPage`, …), converted
//! from the core exactly as for the other languages; only how they cross differs. The
//! methods returning this form are left out of the Kotlin and Swift bindings
//! (`uniffi.toml`).
//!
//! # Format
//!
//! Integers are little-endian. A "name" is a `u8` length and that many UTF-8 bytes.
//!
//! ```text
//! magic       b"PKC1"
//! strings     u32 count, u32 byte length, count × u32 end offset (in code points,
//!             cumulative), the UTF-8 text of all strings one after the other
//! amounts     u32 count, u32 byte length, the amounts' decimal text separated by b' '
//! instants    u32 count, u32 byte length, the instants separated by b' ', each
//!             `YYYY-MM-DDTHH:MM:SS.ffffff+00:00` (UTC, microseconds rounded half to
//!             even as UniFFI's Python reader does), or `-` when Python's `datetime`
//!             cannot hold it (before year 1 or after 9999)
//! records     u32 count of record sets; each: name of the record type, u32 rows,
//!             u8 fields, and for each field its name, a kind byte and its column:
//!   b's' string   rows × u32: 1 + index into strings, 0 for none
//!   b'd' amount   rows × u32: 1 + index into amounts, 0 for none
//!   b't' instant  rows × u32: 1 + index into instants, 0 for none
//!   b'e' enum     name of the enum type, rows × u8: UniFFI's variant number (from 1)
//!   b'u' u64      rows × u64
//!   b'r' record   name of an earlier set, rows × u32: 1 + its row, 0 for none
//!   b'l' list     name of an earlier set, rows × u32: cumulative end of each row's
//!                 run of that set's rows
//! ```
//!
//! The last set holds the result, in one row.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{SystemTime, UNIX_EPOCH};

use pesakit::Amount;

use crate::types::{Bytes, Event, EventPage, Transaction, TransactionPage};
use crate::UniFfiTag;

/// A value table: each distinct value is written once and referred to by `1 + index`.
///
/// Its map uses foldhash rather than the standard SipHash: a 10,000-event page makes
/// about 150,000 look-ups of short keys, and with SipHash they were about a tenth of the
/// CPU a Python process spent on the page (`perf`). foldhash's seeds are still chosen at
/// random per process.
struct Table<K> {
    index: HashMap<K, u32, foldhash::fast::RandomState>,
    count: u32,
    text: Vec<u8>,
}

impl<K: Hash + Eq> Table<K> {
    fn new() -> Self {
        Table {
            index: HashMap::default(),
            count: 0,
            text: Vec::new(),
        }
    }

    /// The reference of `key`, writing it with `write` the first time it is seen.
    fn reference(&mut self, key: K, write: impl FnOnce(&mut Vec<u8>)) -> u32 {
        let next = self.count + 1;
        let id = *self.index.entry(key).or_insert(next);
        if id == next {
            self.count = next;
            write(&mut self.text);
        }
        id
    }
}

/// Builds one page in column form.
pub(crate) struct Packer<'a> {
    strings: Table<&'a str>,
    string_ends: Vec<u8>,
    chars: u32,
    // Keyed by the amount's 128 bits and the instant's microseconds: one table type
    // (and its hash map's code) serves both.
    amounts: Table<u128>,
    instants: Table<u128>,
    sets: Vec<u8>,
    set_count: u32,
    scratch: Vec<u8>,
}

impl<'a> Packer<'a> {
    pub(crate) fn new() -> Self {
        Packer {
            strings: Table::new(),
            string_ends: Vec::new(),
            chars: 0,
            amounts: Table::new(),
            instants: Table::new(),
            sets: Vec::new(),
            set_count: 0,
            scratch: Vec::with_capacity(8),
        }
    }

    /// Starts the set of `rows` records of type `name`, with `fields` fields.
    fn set(&mut self, name: &str, rows: usize, fields: u8) {
        self.set_count += 1;
        put_name(&mut self.sets, name);
        put_u32(&mut self.sets, rows);
        self.sets.push(fields);
    }

    fn field(&mut self, name: &str, kind: u8) {
        put_name(&mut self.sets, name);
        self.sets.push(kind);
    }

    fn strings(&mut self, name: &str, values: impl Iterator<Item = Option<&'a str>>) {
        self.field(name, b's');
        for value in values {
            let id = match value {
                None => 0,
                Some(s) => {
                    let (ends, chars) = (&mut self.string_ends, &mut self.chars);
                    self.strings.reference(s, |text| {
                        text.extend_from_slice(s.as_bytes());
                        // Python slices the text by code point.
                        *chars += if s.is_ascii() {
                            s.len() as u32
                        } else {
                            s.chars().count() as u32
                        };
                        ends.extend_from_slice(&chars.to_le_bytes());
                    })
                }
            };
            self.sets.extend_from_slice(&id.to_le_bytes());
        }
    }

    fn amounts<'b>(&mut self, name: &str, values: impl Iterator<Item = Option<&'b Amount>>) {
        self.field(name, b'd');
        for value in values {
            let id = match value {
                None => 0,
                Some(amount) => {
                    let key = u128::from_le_bytes(amount.as_decimal().serialize());
                    self.amounts.reference(key, |text| {
                        if !text.is_empty() {
                            text.push(b' ');
                        }
                        // The text UniFFI's lowering of `Amount` gives (lib.rs).
                        text.extend_from_slice(amount.to_string().as_bytes());
                    })
                }
            };
            self.sets.extend_from_slice(&id.to_le_bytes());
        }
    }

    fn instants(&mut self, name: &str, values: impl Iterator<Item = Option<SystemTime>>) {
        self.field(name, b't');
        for value in values {
            let id = match value {
                None => 0,
                Some(at) => {
                    let us = microseconds(at);
                    self.instants.reference(us as u128, |text| {
                        if !text.is_empty() {
                            text.push(b' ');
                        }
                        write_instant(text, us);
                    })
                }
            };
            self.sets.extend_from_slice(&id.to_le_bytes());
        }
    }

    fn enums<E>(&mut self, name: &str, type_name: &str, values: impl Iterator<Item = E>)
    where
        E: uniffi::Lower<UniFfiTag>,
    {
        self.field(name, b'e');
        put_name(&mut self.sets, type_name);
        for value in values {
            // UniFFI's own number for the variant, so both forms cannot disagree.
            self.scratch.clear();
            E::write(value, &mut self.scratch);
            let number = match self.scratch[..] {
                [0, 0, 0, n] => n,
                _ => unreachable!("enums of pages have fewer than 256 variants"),
            };
            self.sets.push(number);
        }
    }

    fn counts(&mut self, name: &str, values: impl Iterator<Item = u64>) {
        self.field(name, b'u');
        for value in values {
            self.sets.extend_from_slice(&value.to_le_bytes());
        }
    }

    /// Row `i` of this set is row `i` of the set `set` (one record each).
    fn records(&mut self, name: &str, set: &str, rows: usize) {
        self.field(name, b'r');
        put_name(&mut self.sets, set);
        for row in 1..=rows {
            put_u32(&mut self.sets, row);
        }
    }

    /// Row `i` of this set holds the next `lengths[i]` rows of the set `set`.
    fn lists(&mut self, name: &str, set: &str, lengths: impl Iterator<Item = usize>) {
        self.field(name, b'l');
        put_name(&mut self.sets, set);
        let mut end = 0;
        for length in lengths {
            end += length;
            put_u32(&mut self.sets, end);
        }
    }

    fn transactions(&mut self, rows: &[&'a Transaction]) {
        let each = || rows.iter().copied();
        self.set("Transaction", rows.len(), 14);
        self.strings("reference", each().map(|t| Some(t.reference.as_str())));
        self.enums("status", "TransactionStatus", each().map(|t| t.status));
        self.strings("status_raw", each().map(|t| Some(t.status_raw.as_str())));
        self.amounts("amount", each().map(|t| Some(&t.amount)));
        self.amounts("fee", each().map(|t| t.fee.as_ref()));
        self.enums("kind", "TransactionKind", each().map(|t| t.kind));
        self.strings("kind_raw", each().map(|t| Some(t.kind_raw.as_str())));
        self.strings("provider", each().map(|t| t.provider.as_deref()));
        self.strings("client", each().map(|t| t.client.as_deref()));
        self.strings("merchant", each().map(|t| t.merchant.as_deref()));
        self.instants("created_at", each().map(|t| t.created_at));
        self.instants("processed_at", each().map(|t| t.processed_at));
        self.strings("user_ref", each().map(|t| t.user_ref.as_deref()));
        self.strings("metadata_json", each().map(|t| t.metadata_json.as_deref()));
    }

    /// The finished bytes.
    pub(crate) fn finish(self) -> Bytes {
        let mut out = Vec::with_capacity(
            32 + self.string_ends.len()
                + self.strings.text.len()
                + self.amounts.text.len()
                + self.instants.text.len()
                + self.sets.len(),
        );
        out.extend_from_slice(b"PKC1");
        put_u32(&mut out, self.strings.count as usize);
        put_u32(&mut out, self.strings.text.len());
        out.extend_from_slice(&self.string_ends);
        out.extend_from_slice(&self.strings.text);
        for (count, text) in [
            (self.amounts.count, &self.amounts.text),
            (self.instants.count, &self.instants.text),
        ] {
            put_u32(&mut out, count as usize);
            put_u32(&mut out, text.len());
            out.extend_from_slice(text);
        }
        put_u32(&mut out, self.set_count as usize);
        out.extend_from_slice(&self.sets);
        Bytes(out)
    }
}

fn put_u32(out: &mut Vec<u8>, value: usize) {
    let value = u32::try_from(value).expect("pages have fewer than 2^32 rows and bytes");
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_name(out: &mut Vec<u8>, name: &str) {
    out.push(name.len() as u8);
    out.extend_from_slice(name.as_bytes());
}

/// Microseconds since the epoch, rounded as UniFFI's Python reader rounds: it adds the
/// nanoseconds as `nanos / 1000` fractional microseconds to a `timedelta`, which rounds
/// half to even (on the magnitude: instants before the epoch are subtracted).
fn microseconds(at: SystemTime) -> i128 {
    let (sign, since) = match at.duration_since(UNIX_EPOCH) {
        Ok(d) => (1, d),
        Err(e) => (-1, e.duration()),
    };
    let (whole, rest) = (since.subsec_micros(), since.subsec_nanos() % 1000);
    let rounded = whole + u32::from(rest > 500 || (rest == 500 && whole % 2 == 1));
    sign * (i128::from(since.as_secs()) * 1_000_000 + i128::from(rounded))
}

/// The instant `us` microseconds from the epoch as `YYYY-MM-DDTHH:MM:SS.ffffff+00:00`,
/// or `-` outside years 1 to 9999.
fn write_instant(out: &mut Vec<u8>, us: i128) {
    let civil = i64::try_from(us)
        .ok()
        .and_then(|us| jiff::Timestamp::from_microsecond(us).ok())
        .map(|ts| jiff::tz::Offset::UTC.to_datetime(ts))
        .filter(|dt| (1..=9999).contains(&dt.year()));
    let Some(dt) = civil else {
        out.push(b'-');
        return;
    };
    let mut text = *b"0000-00-00T00:00:00.000000+00:00";
    let fields = [
        (0, 4, i32::from(dt.year())),
        (5, 2, dt.month().into()),
        (8, 2, dt.day().into()),
        (11, 2, dt.hour().into()),
        (14, 2, dt.minute().into()),
        (17, 2, dt.second().into()),
        (20, 6, dt.subsec_nanosecond() / 1000),
    ];
    for (at, width, value) in fields {
        let mut value = value.unsigned_abs();
        for slot in text[at..at + width].iter_mut().rev() {
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    out.extend_from_slice(&text);
}

/// An events page in column form.
pub(crate) fn event_page(page: &EventPage) -> Bytes {
    let mut p = Packer::new();
    let events = &page.events;
    let transactions: Vec<&Transaction> = events.iter().map(|e| &e.transaction).collect();
    p.transactions(&transactions);
    let each = || events.iter();
    p.set("Event", events.len(), 5);
    p.strings("id", each().map(|e: &Event| Some(e.id.as_str())));
    p.enums("kind", "EventKind", each().map(|e| e.kind));
    p.strings("kind_raw", each().map(|e| Some(e.kind_raw.as_str())));
    p.instants("created_at", each().map(|e| e.created_at));
    p.records("transaction", "Transaction", events.len());
    p.set("EventPage", 1, 4);
    p.lists("events", "Event", std::iter::once(events.len()));
    p.counts("offset", std::iter::once(page.offset));
    p.counts("limit", std::iter::once(page.limit));
    p.counts("total", std::iter::once(page.total));
    p.finish()
}

/// A transactions page in column form.
pub(crate) fn transaction_page(page: &TransactionPage) -> Bytes {
    let mut p = Packer::new();
    let transactions: Vec<&Transaction> = page.transactions.iter().collect();
    p.transactions(&transactions);
    p.set("TransactionPage", 1, 7);
    p.lists(
        "transactions",
        "Transaction",
        std::iter::once(transactions.len()),
    );
    p.counts("offset", std::iter::once(page.offset));
    p.counts("limit", std::iter::once(page.limit));
    p.counts("total", std::iter::once(page.total));
    p.amounts("cashin_total", std::iter::once(page.cashin_total.as_ref()));
    p.amounts(
        "cashout_total",
        std::iter::once(page.cashout_total.as_ref()),
    );
    p.amounts("fee_total", std::iter::once(page.fee_total.as_ref()));
    p.finish()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::types::{EventKind, TransactionKind, TransactionStatus};

    fn at(seconds: i64, nanos: u32) -> SystemTime {
        if seconds >= 0 {
            UNIX_EPOCH + Duration::new(seconds as u64, nanos)
        } else {
            UNIX_EPOCH - Duration::new(seconds.unsigned_abs(), 0) + Duration::new(0, nanos)
        }
    }

    fn instant(at: SystemTime) -> String {
        let mut out = Vec::new();
        write_instant(&mut out, microseconds(at));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn instants_round_half_to_even_like_the_python_reader() {
        assert_eq!(microseconds(at(0, 500)), 0);
        assert_eq!(microseconds(at(0, 1_500)), 2);
        assert_eq!(microseconds(at(0, 2_500)), 2);
        assert_eq!(microseconds(at(0, 2_501)), 3);
        assert_eq!(microseconds(at(1, 999_999_500)), 2_000_000);
        // Before the epoch the magnitude is rounded: -0.0000025 s is -2 µs.
        assert_eq!(microseconds(UNIX_EPOCH - Duration::from_nanos(2_500)), -2);
        assert_eq!(microseconds(at(-1, 0)), -1_000_000);
    }

    #[test]
    fn instants_are_written_as_python_reads_them() {
        assert_eq!(instant(at(0, 0)), "1970-01-01T00:00:00.000000+00:00");
        assert_eq!(
            instant(at(1_709_251_199, 999_999_500)),
            "2024-03-01T00:00:00.000000+00:00"
        );
        assert_eq!(
            instant(at(-315_619_200, 2_500)),
            "1960-01-01T00:00:00.000002+00:00"
        );
        // Year 1 is the first Python's datetime holds; year 0 is not.
        assert_eq!(
            instant(at(-62_135_596_800, 0)),
            "0001-01-01T00:00:00.000000+00:00"
        );
        assert_eq!(instant(at(-62_135_596_801, 0)), "-");
    }

    fn transaction(reference: &str, amount: &str, provider: Option<&str>) -> Transaction {
        Transaction {
            reference: reference.into(),
            status: TransactionStatus::Successful,
            status_raw: "successful".into(),
            amount: amount.parse().unwrap(),
            fee: None,
            kind: TransactionKind::CashOut,
            kind_raw: "CASHOUT".into(),
            provider: provider.map(Into::into),
            client: None,
            merchant: provider.map(Into::into),
            created_at: Some(at(1, 0)),
            processed_at: None,
            user_ref: Some("\u{1F44D}é".into()),
            metadata_json: None,
        }
    }

    fn u32_at(bytes: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn each_value_is_written_once() {
        let page = TransactionPage {
            transactions: vec![
                transaction("a", "10.50", Some("mtn")),
                transaction("b", "10.5", Some("mtn")),
                transaction("c", "7", None),
            ],
            offset: 0,
            limit: 3,
            total: 3,
            cashin_total: None,
            cashout_total: Some("28".parse().unwrap()),
            fee_total: None,
        };
        let bytes = transaction_page(&page).0;
        assert_eq!(&bytes[..4], b"PKC1");
        // Strings, column by column: a b c successful CASHOUT mtn 👍é; code-point ends.
        let count = u32_at(&bytes, 4) as usize;
        let text_len = u32_at(&bytes, 8) as usize;
        assert_eq!(count, 7);
        let ends: Vec<u32> = (0..count).map(|i| u32_at(&bytes, 12 + 4 * i)).collect();
        assert_eq!(ends, [1, 2, 3, 13, 20, 23, 25]);
        let text_at = 12 + 4 * count;
        let text = std::str::from_utf8(&bytes[text_at..text_at + text_len]).unwrap();
        assert_eq!(text, "abcsuccessfulCASHOUTmtn\u{1F44D}é");
        // Amounts: 10.50 and 10.5 are one value, written once.
        let amounts_at = text_at + text_len;
        let amounts_len = u32_at(&bytes, amounts_at + 4) as usize;
        let amounts = &bytes[amounts_at + 8..amounts_at + 8 + amounts_len];
        assert_eq!(u32_at(&bytes, amounts_at), 3);
        assert_eq!(amounts, b"10.5 7 28");
        let instants_at = amounts_at + 8 + amounts_len;
        assert_eq!(u32_at(&bytes, instants_at), 1, "one distinct instant");
    }

    #[test]
    fn enums_carry_uniffis_variant_numbers() {
        let mut packer = Packer::new();
        packer.enums(
            "kind",
            "EventKind",
            [
                EventKind::TransactionCreated,
                EventKind::TransactionProcessed,
                EventKind::Unknown,
            ]
            .into_iter(),
        );
        let numbers = &packer.sets[packer.sets.len() - 3..];
        assert_eq!(numbers, [1, 2, 3]);
    }
}
