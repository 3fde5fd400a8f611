//! The bard: the one resource bardo stores.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// Longest `apelido` and longest stack element, in Unicode characters.
pub const MAX_APELIDO_CHARS: usize = 32;
/// Longest `nome`, in Unicode characters.
pub const MAX_NOME_CHARS: usize = 100;
/// Longest stack element, in Unicode characters.
pub const MAX_STACK_ITEM_CHARS: usize = 32;

/// A registered bard. Strings are boxed (no spare capacity): a million of them live in RAM.
/// Stack elements are interned: a few dozen technologies repeat across a million bards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bard {
    pub id: Uuid,
    pub apelido: Box<str>,
    pub nome: Box<str>,
    pub nascimento: BirthDate,
    #[serde(deserialize_with = "deserialize_stack")]
    pub stack: Option<Stack>,
}

/// The stack of a bard: interned element names.
pub type Stack = Box<[Arc<str>]>;

/// The shared copy of a stack element's name (see [`crate::store::vocabulary`]).
pub fn intern_stack_item(name: &str) -> Arc<str> {
    crate::store::vocabulary::intern(name)
}

fn deserialize_stack<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Stack>, D::Error> {
    let items = Option::<Vec<std::borrow::Cow<'de, str>>>::deserialize(deserializer)?;
    Ok(items.map(|items| items.iter().map(|item| intern_stack_item(item)).collect()))
}

impl Bard {
    /// Every text a search term may match: apelido, nome and each stack element.
    pub fn searchable_texts(&self) -> impl Iterator<Item = &str> {
        let stack = self.stack.iter().flat_map(|items| items.iter()).map(|item| &**item);
        [&*self.apelido, &*self.nome].into_iter().chain(stack)
    }

    /// Case-insensitive substring match; `folded_term` must already be [`fold_case`]d.
    pub fn matches(&self, folded_term: &str) -> bool {
        self.searchable_texts().any(|text| fold_case(text).contains(folded_term))
    }
}

/// The case folding search uses on both sides: lowercase, with the final sigma `ς` as `σ`.
/// `str::to_lowercase` writes a word-final `Σ` as `ς` but a lone `Σ` as `σ`, so without this
/// `t=Σ` would not find `ΟΔΟΣ`. Folding can lengthen a text: `İ` becomes two characters.
pub fn fold_case(text: &str) -> String {
    let lower = text.to_lowercase();
    if lower.contains('ς') {
        lower.replace('ς', "σ")
    } else {
        lower
    }
}

/// A folded text is at most this many times longer, in characters, than the original (`İ`).
pub const FOLD_GROWTH: usize = 2;

/// A create request that passed validation, before it gets an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBard {
    pub apelido: Box<str>,
    pub nome: Box<str>,
    pub nascimento: BirthDate,
    pub stack: Option<Stack>,
}

impl NewBard {
    pub fn into_bard(self, id: Uuid) -> Bard {
        Bard { id, apelido: self.apelido, nome: self.nome, nascimento: self.nascimento, stack: self.stack }
    }
}

/// A real calendar date (proleptic Gregorian, years 1–9999), packed in 4 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BirthDate {
    year: u16,
    month: u8,
    day: u8,
}

impl BirthDate {
    /// Parses exactly `YYYY-MM-DD` and rejects dates that do not exist (`2001-02-29`).
    pub fn parse(text: &str) -> Option<BirthDate> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let year = parse_digits(&bytes[0..4])? as u16;
        let month = parse_digits(&bytes[5..7])? as u8;
        let day = parse_digits(&bytes[8..10])? as u8;
        let valid = year >= 1 && (1..=12).contains(&month) && day >= 1;
        (valid && day <= days_in_month(year, month)).then_some(BirthDate { year, month, day })
    }
}

impl BirthDate {
    /// The date in 23 bits: year << 9 | month << 5 | day (the arena's 3 bytes).
    pub fn to_packed(self) -> u32 {
        (u32::from(self.year) << 9) | (u32::from(self.month) << 5) | u32::from(self.day)
    }

    /// The inverse of [`BirthDate::to_packed`]; `None` for bits that are no calendar date.
    pub fn from_packed(packed: u32) -> Option<BirthDate> {
        let (year, month, day) = ((packed >> 9) as u16, ((packed >> 5) & 0xf) as u8, (packed & 0x1f) as u8);
        let valid = (1..=9999).contains(&year) && (1..=12).contains(&month) && day >= 1;
        (valid && day <= days_in_month(year, month)).then_some(BirthDate { year, month, day })
    }
}

fn parse_digits(digits: &[u8]) -> Option<u32> {
    digits
        .iter()
        .try_fold(0u32, |value, &byte| byte.is_ascii_digit().then(|| value * 10 + u32::from(byte - b'0')))
}

fn days_in_month(year: u16, month: u8) -> u8 {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl fmt::Display for BirthDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for BirthDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BirthDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        BirthDate::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not a calendar date: {text:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_calendar_dates_only() {
        for good in ["2000-02-29", "1999-12-31", "0001-01-01", "2024-04-30"] {
            assert_eq!(BirthDate::parse(good).unwrap().to_string(), good);
        }
        for bad in [
            "2001-13-01",
            "2001-02-29",
            "1900-02-29",
            "12-12-2000",
            "?!?!?",
            "2001-04-31",
            "0000-01-01",
            "2001-00-10",
            "2001-01-00",
            "2001-1-01",
            "2001/01/01",
            "",
            "null",
            "10",
            "+001-01-01",
            "２００１-01-01",
        ] {
            assert_eq!(BirthDate::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn matching_is_case_insensitive_over_every_text() {
        let bard = NewBard {
            apelido: "josé".into(),
            nome: "José Roberto".into(),
            nascimento: BirthDate::parse("2000-10-01").unwrap(),
            stack: Some(vec!["C#".into(), "Node".into()].into()),
        }
        .into_bard(Uuid::nil());
        for term in ["jo", "berto", "node", "c#", "é", "josé r"] {
            assert!(bard.matches(term), "{term}");
        }
        assert!(!bard.matches("oracle"));
    }
}
