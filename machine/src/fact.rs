//! `Fact<T>`: a measured value or an explicit reason why there is none.

use std::fmt::Display;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// A measured value, or the reason it could not be measured.
///
/// Serializes as the plain value, or as `{"unavailable": "<reason>"}`, so
/// `/status` never shows a made-up number.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact<T> {
    Value(T),
    Unavailable(String),
}

impl<T> Fact<T> {
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Fact::Unavailable(reason.into())
    }

    /// Turns a fallible measurement into a fact; the error becomes the reason.
    pub fn from_result<E: Display>(result: Result<T, E>, what: &str) -> Self {
        match result {
            Ok(value) => Fact::Value(value),
            Err(error) => Fact::Unavailable(format!("{what}: {error}")),
        }
    }

    pub fn value(&self) -> Option<&T> {
        match self {
            Fact::Value(value) => Some(value),
            Fact::Unavailable(_) => None,
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Fact::Value(_) => None,
            Fact::Unavailable(reason) => Some(reason),
        }
    }

    pub fn is_value(&self) -> bool {
        matches!(self, Fact::Value(_))
    }

    pub fn map<U>(self, convert: impl FnOnce(T) -> U) -> Fact<U> {
        match self {
            Fact::Value(value) => Fact::Value(convert(value)),
            Fact::Unavailable(reason) => Fact::Unavailable(reason),
        }
    }
}

impl Fact<f64> {
    /// A computed float that is NaN or infinite is not a measurement.
    pub fn finite(value: f64, what: &str) -> Self {
        if value.is_finite() {
            Fact::Value(value)
        } else {
            Fact::Unavailable(format!("{what} is not a finite number ({value})"))
        }
    }
}

impl<T: Serialize> Serialize for Fact<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Fact::Value(value) => value.serialize(serializer),
            Fact::Unavailable(reason) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("unavailable", reason)?;
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_serializes_as_the_plain_value() {
        let json = serde_json::to_string(&Fact::Value(42.5_f64)).expect("serialize");
        assert_eq!(json, "42.5");
    }

    #[test]
    fn unavailable_serializes_as_an_object_with_the_reason() {
        let fact: Fact<u64> = Fact::unavailable("no sensor");
        let json = serde_json::to_string(&fact).expect("serialize");
        assert_eq!(json, r#"{"unavailable":"no sensor"}"#);
    }

    #[test]
    fn non_finite_floats_become_unavailable() {
        assert!(!Fact::finite(f64::NAN, "ratio").is_value());
        assert!(!Fact::finite(f64::INFINITY, "ratio").is_value());
        assert_eq!(Fact::finite(1.5, "ratio"), Fact::Value(1.5));
    }
}
