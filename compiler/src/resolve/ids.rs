//! Minting the blob's ids as its tables grow.
//!
//! An id is a `u32` on the wire. A table that outgrew it would wrap onto ids already in use
//! and route requests to the wrong rule, so the entry past `u32::MAX` is refused instead.

use crate::diag::{Diagnostic, Diagnostics};

/// A table of the blob would need more ids than a `u32` holds; names the table.
#[derive(Debug, Clone, Copy)]
pub struct TooMany(pub &'static str);

impl TooMany {
    /// The error the compilation stops with.
    pub fn diagnostics(self) -> Diagnostics {
        let mut d = Diagnostics::new();
        d.push(Diagnostic::error(format!(
            "the route table would hold more than {} {}, more than the blob can number",
            u32::MAX,
            self.0
        )));
        d
    }
}

/// Appends `item` to `table` and returns its id; `from_index` is the id type's constructor
/// and `what` names the table's entries for the error.
pub fn push<T, I>(
    table: &mut Vec<T>,
    item: T,
    from_index: fn(usize) -> Option<I>,
    what: &'static str,
) -> Result<I, TooMany> {
    let id = from_index(table.len()).ok_or(TooMany(what))?;
    table.push(item);
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_without_ids_left_takes_nothing() {
        let mut table = vec!["a"];
        let full = push(&mut table, "b", |_| None::<u32>, "things");
        assert!(matches!(full, Err(TooMany("things"))));
        assert_eq!(table, ["a"]);
        let error = TooMany("things").diagnostics().to_string();
        assert!(error.contains("4294967295 things"), "{error}");
    }

    #[test]
    fn the_id_is_the_position_taken() {
        let mut table = vec!["a"];
        assert_eq!(
            push(&mut table, "b", |i| u32::try_from(i).ok(), "things").ok(),
            Some(1)
        );
        assert_eq!(table, ["a", "b"]);
    }
}
