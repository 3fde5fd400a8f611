//! Create-request validation, exactly per the SPEC table: the first failing rule decides the
//! status, the error body lists every problem found.

use serde::Serialize;
use serde_json::{Map, Value};

use std::sync::Arc;

use crate::model::{
    intern_stack_item, BirthDate, NewBard, Stack, MAX_APELIDO_CHARS, MAX_NOME_CHARS, MAX_STACK_ITEM_CHARS,
};

/// Which HTTP class a rejected create belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// Wrong JSON types, malformed JSON, impossible dates: 400.
    Malformed,
    /// Missing, null, empty, too long or duplicate values: 422.
    Unprocessable,
}

/// One problem with one field, as shown in the error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

/// Why a create request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?} create request: {problems:?}")]
pub struct Rejection {
    pub kind: RejectionKind,
    pub problems: Vec<FieldProblem>,
}

impl Rejection {
    pub fn single(kind: RejectionKind, field: &str, message: impl Into<String>) -> Self {
        let problem = FieldProblem { field: field.to_owned(), message: message.into() };
        Rejection { kind, problems: vec![problem] }
    }
}

/// Collects problems in rule order; the first one fixes the status.
#[derive(Default)]
struct Problems {
    first_kind: Option<RejectionKind>,
    found: Vec<FieldProblem>,
}

impl Problems {
    fn add(&mut self, kind: RejectionKind, field: &str, message: String) {
        self.first_kind.get_or_insert(kind);
        self.found.push(FieldProblem { field: field.to_owned(), message });
    }

    fn into_rejection(self) -> Option<Rejection> {
        let kind = self.first_kind?;
        Some(Rejection { kind, problems: self.found })
    }
}

/// Parses and validates a create body.
pub fn parse_new_bard(body: &[u8]) -> Result<NewBard, Rejection> {
    let value: Value = serde_json::from_slice(body).map_err(|error| {
        Rejection::single(RejectionKind::Malformed, "body", format!("not valid JSON: {error}"))
    })?;
    let Value::Object(object) = value else {
        return Err(Rejection::single(RejectionKind::Malformed, "body", "expected a JSON object"));
    };
    validate_object(&object)
}

fn validate_object(object: &Map<String, Value>) -> Result<NewBard, Rejection> {
    let mut problems = Problems::default();
    let apelido = required_text(object, "apelido", MAX_APELIDO_CHARS, &mut problems);
    let nome = required_text(object, "nome", MAX_NOME_CHARS, &mut problems);
    let nascimento = birth_date(object, &mut problems);
    let stack = optional_stack(object, &mut problems);
    if let Some(rejection) = problems.into_rejection() {
        return Err(rejection);
    }
    match (apelido, nome, nascimento, stack) {
        (Some(apelido), Some(nome), Some(nascimento), Some(stack)) => {
            Ok(NewBard { apelido: apelido.into(), nome: nome.into(), nascimento, stack })
        }
        _ => unreachable!("every missing field records a problem"),
    }
}

fn required_text<'a>(
    object: &'a Map<String, Value>,
    field: &str,
    max_chars: usize,
    problems: &mut Problems,
) -> Option<&'a str> {
    match object.get(field) {
        None | Some(Value::Null) => problems.add(RejectionKind::Unprocessable, field, "is required".into()),
        Some(Value::String(text)) => match check_length(text, max_chars) {
            Ok(()) => return Some(text),
            Err(message) => problems.add(RejectionKind::Unprocessable, field, message),
        },
        Some(other) => problems.add(RejectionKind::Malformed, field, type_message(other, "a string")),
    }
    None
}

fn check_length(text: &str, max_chars: usize) -> Result<(), String> {
    if text.is_empty() {
        return Err("must not be empty".into());
    }
    // Characters, not bytes: `é` counts once. Stop counting just past the limit.
    match text.chars().nth(max_chars) {
        Some(_) => Err(format!("must be at most {max_chars} characters")),
        None => Ok(()),
    }
}

fn birth_date(object: &Map<String, Value>, problems: &mut Problems) -> Option<BirthDate> {
    let field = "nascimento";
    match object.get(field) {
        None | Some(Value::Null) => problems.add(RejectionKind::Unprocessable, field, "is required".into()),
        Some(Value::String(text)) if text.is_empty() => {
            problems.add(RejectionKind::Unprocessable, field, "must not be empty".into())
        }
        Some(Value::String(text)) => match BirthDate::parse(text) {
            Some(date) => return Some(date),
            None => problems.add(
                RejectionKind::Malformed,
                field,
                format!("{text:?} is not a calendar date in the form YYYY-MM-DD"),
            ),
        },
        Some(other) => problems.add(RejectionKind::Malformed, field, type_message(other, "a string")),
    }
    None
}

/// `Some(None)` is a valid absent stack; `None` means a problem was recorded.
fn optional_stack(object: &Map<String, Value>, problems: &mut Problems) -> Option<Option<Stack>> {
    let items = match object.get("stack") {
        None | Some(Value::Null) => return Some(None),
        Some(Value::Array(items)) => items,
        Some(other) => {
            problems.add(RejectionKind::Malformed, "stack", type_message(other, "an array"));
            return None;
        }
    };
    let before = problems.found.len();
    let accepted: Vec<Arc<str>> =
        items.iter().enumerate().filter_map(|(index, item)| stack_item(index, item, problems)).collect();
    (problems.found.len() == before).then(|| Some(accepted.into_boxed_slice()))
}

/// Element problems are reported on field `stack`, the element's index in the message.
fn stack_item(index: usize, item: &Value, problems: &mut Problems) -> Option<Arc<str>> {
    let (kind, message) = match item {
        Value::Null => (RejectionKind::Unprocessable, "must not be null".into()),
        Value::String(text) => match check_length(text, MAX_STACK_ITEM_CHARS) {
            Ok(()) => return Some(intern_stack_item(text)),
            Err(message) => (RejectionKind::Unprocessable, message),
        },
        other => (RejectionKind::Malformed, type_message(other, "a string")),
    };
    problems.add(kind, "stack", format!("element {index} {message}"));
    None
}

fn type_message(value: &Value, expected: &str) -> String {
    let found = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    format!("must be {expected}, found {found}")
}

#[cfg(test)]
mod tests;
