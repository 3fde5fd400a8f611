//! The record of one bard in an arena:
//!
//! ```text
//! id (16 bytes) · birth date (3 bytes: year << 9 | month << 5 | day)
//! · varint length + apelido · varint length + nome
//! · stack: varint 0 = null, else count + 1, then per element
//!   varint (code << 1) for a vocabulary name, or varint (length << 1 | 1) + the name inline
//! ```
//!
//! A tournament bard (16-char apelido, 51-char nome, 12 stack elements) takes ≈ 103 bytes
//! here, against ≈ 380 as boxed strings and interned `Arc`s behind an `Arc<Bard>`.

use uuid::Uuid;

use super::vocabulary::{self, Vocabulary};
use crate::model::{fold_case, Bard, BirthDate};

const ID_BYTES: usize = 16;
const DATE_BYTES: usize = 3;

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Reads a varint at `*at`, moving `*at` past it.
fn get_varint(bytes: &[u8], at: &mut usize) -> u64 {
    let mut value = 0u64;
    let mut shift = 0;
    loop {
        let byte = bytes[*at];
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return value;
        }
        shift += 7;
    }
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    put_varint(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

fn get_text<'a>(bytes: &'a [u8], at: &mut usize) -> &'a str {
    let len = get_varint(bytes, at) as usize;
    let text = &bytes[*at..*at + len];
    *at += len;
    std::str::from_utf8(text).expect("arena records hold the UTF-8 they were given")
}

/// Appends the record of `bard` to `out` (stack names get vocabulary codes where there is room).
pub fn encode_bard(bard: &Bard, out: &mut Vec<u8>) {
    out.extend_from_slice(bard.id.as_bytes());
    out.extend_from_slice(&bard.nascimento.to_packed().to_le_bytes()[..DATE_BYTES]);
    put_text(out, &bard.apelido);
    put_text(out, &bard.nome);
    let Some(stack) = &bard.stack else {
        return put_varint(out, 0);
    };
    put_varint(out, stack.len() as u64 + 1);
    for item in stack.iter() {
        match vocabulary::code_of(item) {
            Some(code) => put_varint(out, u64::from(code) << 1),
            None => {
                put_varint(out, ((item.len() as u64) << 1) | 1);
                out.extend_from_slice(item.as_bytes());
            }
        }
    }
}

/// A record read in place: borrowed texts, nothing allocated.
#[derive(Debug, Clone, Copy)]
pub struct BardRef<'a> {
    pub id: Uuid,
    pub nascimento: BirthDate,
    pub apelido: &'a str,
    pub nome: &'a str,
    pub stack: Option<StackItems<'a>>,
    /// Bytes the record takes.
    pub len: usize,
}

/// The encoded stack elements of one record.
#[derive(Debug, Clone, Copy)]
pub struct StackItems<'a> {
    bytes: &'a [u8],
    count: usize,
}

impl<'a> BardRef<'a> {
    /// Reads the record at the start of `bytes`.
    pub fn decode(bytes: &'a [u8]) -> BardRef<'a> {
        let id = Uuid::from_slice(&bytes[..ID_BYTES]).expect("16 bytes");
        let mut packed = [0u8; 4];
        packed[..DATE_BYTES].copy_from_slice(&bytes[ID_BYTES..ID_BYTES + DATE_BYTES]);
        let nascimento = BirthDate::from_packed(u32::from_le_bytes(packed)).expect("a date that was valid");
        let mut at = ID_BYTES + DATE_BYTES;
        let apelido = get_text(bytes, &mut at);
        let nome = get_text(bytes, &mut at);
        let count = get_varint(bytes, &mut at) as usize;
        let stack_start = at;
        for _ in 1..count.max(1) {
            let item = get_varint(bytes, &mut at);
            if item & 1 == 1 {
                at += (item >> 1) as usize;
            }
        }
        let stack = (count > 0).then(|| StackItems { bytes: &bytes[stack_start..at], count: count - 1 });
        BardRef { id, nascimento, apelido, nome, stack, len: at }
    }

    /// Only the apelido, for uniqueness checks (skips the rest).
    pub fn apelido_of(bytes: &'a [u8]) -> &'a str {
        let mut at = ID_BYTES + DATE_BYTES;
        get_text(bytes, &mut at)
    }

    pub fn id_of(bytes: &[u8]) -> Uuid {
        Uuid::from_slice(&bytes[..ID_BYTES]).expect("16 bytes")
    }

    /// Every searchable text: apelido, nome, each stack element.
    pub fn texts<'s>(&self, vocabulary: &'s Vocabulary) -> impl Iterator<Item = &'s str> + 's
    where
        'a: 's,
    {
        let stack = self.stack.into_iter().flat_map(move |items| items.names(vocabulary));
        [self.apelido, self.nome].into_iter().chain(stack)
    }

    /// Case-insensitive substring match; `folded_term` must already be [`fold_case`]d.
    pub fn matches(&self, folded_term: &str, vocabulary: &Vocabulary) -> bool {
        self.texts(vocabulary).any(|text| contains_folded(text, folded_term))
    }

    /// The owned bard (what HTTP answers with).
    pub fn to_bard(&self, vocabulary: &Vocabulary) -> Bard {
        let stack = self.stack.map(|items| {
            items.iter().map(|item| item.shared(vocabulary)).collect::<Vec<_>>().into_boxed_slice()
        });
        let (apelido, nome) = (self.apelido.into(), self.nome.into());
        Bard { id: self.id, apelido, nome, nascimento: self.nascimento, stack }
    }
}

/// `fold_case(text).contains(folded_term)`, without allocating when both are ASCII.
pub fn contains_folded(text: &str, folded_term: &str) -> bool {
    if text.is_ascii() && folded_term.is_ascii() {
        let (text, term) = (text.as_bytes(), folded_term.as_bytes());
        return term.is_empty() || text.windows(term.len()).any(|window| window.eq_ignore_ascii_case(term));
    }
    fold_case(text).contains(folded_term)
}

enum StackItem<'a> {
    Code(u32),
    Inline(&'a str),
}

impl StackItem<'_> {
    fn shared(&self, vocabulary: &Vocabulary) -> std::sync::Arc<str> {
        match self {
            StackItem::Code(code) => std::sync::Arc::clone(vocabulary.name(*code)),
            StackItem::Inline(name) => std::sync::Arc::from(*name),
        }
    }
}

impl<'a> StackItems<'a> {
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn iter(&self) -> impl Iterator<Item = StackItem<'a>> + 'a {
        let bytes = self.bytes;
        let mut at = 0;
        (0..self.count).map(move |_| {
            let item = get_varint(bytes, &mut at);
            if item & 1 == 0 {
                return StackItem::Code((item >> 1) as u32);
            }
            let len = (item >> 1) as usize;
            let name = std::str::from_utf8(&bytes[at..at + len]).expect("UTF-8 as given");
            at += len;
            StackItem::Inline(name)
        })
    }

    /// The element names, resolved through the vocabulary.
    pub fn names<'s>(self, vocabulary: &'s Vocabulary) -> impl Iterator<Item = &'s str> + 's
    where
        'a: 's,
    {
        self.iter().map(move |item| match item {
            StackItem::Code(code) => &**vocabulary.name(code),
            StackItem::Inline(name) => name,
        })
    }
}

#[cfg(test)]
mod tests;
