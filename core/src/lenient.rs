//! Lenient reading of JSON fields: a field that may arrive as text or as a number, read
//! straight from the parser into what the model wants, or `None` when it is unreadable.

/// A JSON scalar as a lenient field met it.
pub(crate) enum Scalar<'a> {
    Text(&'a str),
    Owned(String),
    Int(i64),
    UInt(u64),
    Float(f64),
}

/// Visits any JSON value without buffering it (unlike `#[serde(untagged)]`, which copies
/// every value into an intermediate tree first): scalars go to `scalar`, `null` and
/// absent to `None`, maps and sequences are skipped and read as `None`.
macro_rules! lenient_visitor {
    ($name:ident, $out:ty, $expecting:literal, |$scalar:ident| $convert:expr) => {
        struct $name;

        impl<'de> serde::de::Visitor<'de> for $name {
            type Value = Option<$out>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($expecting)
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                let $scalar = $crate::lenient::Scalar::Text(v);
                Ok($convert)
            }

            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                let $scalar = $crate::lenient::Scalar::Owned(v);
                Ok($convert)
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                let $scalar = $crate::lenient::Scalar::Int(v);
                Ok($convert)
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                let $scalar = $crate::lenient::Scalar::UInt(v);
                Ok($convert)
            }

            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
                let $scalar = $crate::lenient::Scalar::Float(v);
                Ok($convert)
            }

            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(None)
            }

            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }

            fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }

            fn visit_some<D: serde::Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(None)
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(None)
            }
        }
    };
}

pub(crate) use lenient_visitor;
