//! The substitution of a regular-expression rewrite (Envoy's `regex_rewrite`, RE2's
//! rewrite string): `\0`–`\9` name capture groups, `\\` is a backslash, and any other `\`
//! is refused, by the compiler and again when a blob is decoded.

/// Why a substitution cannot be used with an expression of `groups` capture groups (the
/// whole match included), if it cannot: a `\` must be followed by `\` or the digit of a group
/// the expression has, as RE2 checks it.
pub fn substitution_error(substitution: &str, groups: usize) -> Option<String> {
    let mut chars = substitution.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            continue;
        }
        match chars.next() {
            Some('\\') => {}
            Some(d @ '0'..='9') => {
                let group = d as usize - '0' as usize;
                if group >= groups {
                    return Some(format!(
                        "refers to group \\{group}, but the expression has {} capture group{}",
                        groups - 1,
                        if groups == 2 { "" } else { "s" }
                    ));
                }
            }
            _ => {
                return Some(
                    "has a '\\' not followed by a group digit or another '\\' (write \\\\ for a backslash)".to_owned(),
                )
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutions_are_checked_as_re2_checks_them() {
        assert_eq!(substitution_error("/\\1\\\\", 2), None);
        assert!(substitution_error("/\\2", 2)
            .unwrap()
            .ends_with("has 1 capture group"));
        assert!(substitution_error("/\\1", 1)
            .unwrap()
            .ends_with("has 0 capture groups"));
        assert!(substitution_error("/\\x", 3).is_some());
        assert!(substitution_error("/\\", 3).is_some());
    }
}
