//! The shared vocabulary of stack elements: a few dozen technologies repeat across millions of
//! bards, so each distinct name is stored once and a bard keeps a small code per element.
//! Codes are process-local (assigned in arrival order); they never leave the process: events
//! and snapshots carry the names.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use parking_lot::{RwLock, RwLockReadGuard};

/// Distinct names kept; past this, new names are stored inline in each record, so hostile
/// input cannot grow the table without bound.
pub const MAX_NAMES: usize = 65_536;

#[derive(Default)]
pub struct Vocabulary {
    codes: HashMap<Arc<str>, u32>,
    names: Vec<Arc<str>>,
}

fn shared() -> &'static RwLock<Vocabulary> {
    static VOCABULARY: OnceLock<RwLock<Vocabulary>> = OnceLock::new();
    VOCABULARY.get_or_init(RwLock::default)
}

/// The shared copy of a name (registering it while there is room).
pub fn intern(name: &str) -> Arc<str> {
    {
        let vocabulary = shared().read();
        if let Some(&code) = vocabulary.codes.get(name) {
            return Arc::clone(&vocabulary.names[code as usize]);
        }
    }
    let mut vocabulary = shared().write();
    match vocabulary.register(name) {
        Some(code) => Arc::clone(&vocabulary.names[code as usize]),
        None => Arc::from(name),
    }
}

/// The code of a name, registering it while there is room; `None`: store it inline.
pub fn code_of(name: &str) -> Option<u32> {
    let known = shared().read().codes.get(name).copied();
    known.or_else(|| shared().write().register(name))
}

/// Read access for decoding many codes under one lock.
pub fn read() -> RwLockReadGuard<'static, Vocabulary> {
    shared().read()
}

impl Vocabulary {
    fn register(&mut self, name: &str) -> Option<u32> {
        if let Some(&code) = self.codes.get(name) {
            return Some(code);
        }
        if self.names.len() >= MAX_NAMES {
            return None;
        }
        let code = self.names.len() as u32;
        let name: Arc<str> = Arc::from(name);
        self.codes.insert(Arc::clone(&name), code);
        self.names.push(name);
        Some(code)
    }

    /// The name behind a code this process handed out.
    pub fn name(&self, code: u32) -> &Arc<str> {
        &self.names[code as usize]
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_code_and_one_copy_per_name() {
        let first = code_of("vocabulary-test-Rust").unwrap();
        assert_eq!(code_of("vocabulary-test-Rust"), Some(first));
        assert!(Arc::ptr_eq(&intern("vocabulary-test-Rust"), read().name(first)));
        assert_ne!(code_of("vocabulary-test-Go"), Some(first));
    }
}
