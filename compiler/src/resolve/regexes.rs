//! The table's regular expressions: one list for route matches and rate limit selectors,
//! each pattern stored once.

use std::collections::HashMap;

use gatewasm_filter::blob::RegexId;

use super::ids::{self, TooMany};

/// Patterns in the order they were first used, with the id of each.
#[derive(Debug, Default)]
pub struct Regexes {
    list: Vec<String>,
    ids: HashMap<String, RegexId>,
}

impl Regexes {
    /// The id of `pattern`, added at the end if it is new.
    pub fn id(&mut self, pattern: &str) -> Result<RegexId, TooMany> {
        if let Some(&id) = self.ids.get(pattern) {
            return Ok(id);
        }
        let id = ids::push(
            &mut self.list,
            pattern.to_owned(),
            RegexId::from_index,
            "regular expressions",
        )?;
        self.ids.insert(pattern.to_owned(), id);
        Ok(id)
    }

    /// The patterns, indexed by [`RegexId`].
    pub fn list(&self) -> &[String] {
        &self.list
    }

    /// The patterns as the blob stores them.
    pub fn into_list(self) -> Vec<String> {
        self.list
    }
}
