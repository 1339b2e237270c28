//! Regular-expression path rewrites, as Envoy's `regex_rewrite` does them (and so Envoy
//! Gateway's HTTPRouteFilter `ReplaceRegexMatch`, which is how ingress-nginx's
//! `rewrite-target` is carried): every non-overlapping match of the expression in the path is
//! replaced by the substitution, in which `\0`–`\9` name capture groups and `\\` is a
//! backslash. The walk is RE2's `GlobalReplace`: an empty match right where the previous
//! match ended is skipped by copying one character, and `^` holds only at the path's start.

use regex_lite::{Captures, Regex};

/// `input` with every match of `re` replaced by `substitution`. `pay` is asked before each
/// search with the text the search may read; when it refuses, the rewrite stops and the
/// answer is `None` (the request's regex budget is spent).
pub(super) fn global_replace(
    re: &Regex,
    input: &str,
    substitution: &str,
    mut pay: impl FnMut(&str) -> bool,
) -> Option<String> {
    let mut out = String::with_capacity(input.len());
    let mut at = 0;
    let mut last_end = None;
    while let Some(rest) = input.get(at..) {
        if !pay(rest) {
            return None;
        }
        let Some(caps) = re.captures_at(input, at) else {
            break;
        };
        let whole = caps.get(0)?;
        out.push_str(input.get(at..whole.start())?);
        if whole.is_empty() && last_end == Some(whole.start()) {
            let Some(c) = rest.chars().next() else {
                break;
            };
            out.push(c);
            at += c.len_utf8();
            continue;
        }
        expand(&caps, substitution, &mut out);
        at = whole.end();
        last_end = Some(at);
    }
    out.push_str(input.get(at..).unwrap_or_default());
    Some(out)
}

/// Appends `substitution` with its group references filled in; a group that took no part in
/// the match is empty.
fn expand(caps: &Captures<'_>, substitution: &str, out: &mut String) {
    let mut chars = substitution.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(d @ '0'..='9') => {
                let group = d as usize - '0' as usize;
                out.push_str(caps.get(group).map_or("", |m| m.as_str()));
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replace(pattern: &str, input: &str, substitution: &str) -> String {
        let re = Regex::new(pattern).unwrap();
        global_replace(&re, input, substitution, |_| true).unwrap()
    }

    #[test]
    fn replaces_every_match_and_fills_groups() {
        assert_eq!(
            replace(
                "^/service/([^/]+)(/.*)$",
                "/service/foo/v1/api",
                "\\2/instance/\\1"
            ),
            "/v1/api/instance/foo"
        );
        assert_eq!(replace("o", "/foo/boo", "0"), "/f00/b00");
        assert_eq!(replace("x", "/foo", "y"), "/foo");
        assert_eq!(replace("(?i)^(?:/a(/|$)(.*)).*", "/A/b/c", "/\\2"), "/b/c");
        assert_eq!(replace("(?i)^(?:/a(/|$)(.*)).*", "/a", "/\\2"), "/");
        assert_eq!(replace("/(x)?y", "/y", "[\\1]\\\\"), "[]\\");
    }

    #[test]
    fn empty_matches_advance_as_re2_does() {
        // RE2::GlobalReplace("abc", "x*", "-") is "-a-b-c-".
        assert_eq!(replace("x*", "abc", "-"), "-a-b-c-");
        assert_eq!(replace("b*", "abc", "-"), "-a-c-");
        assert_eq!(replace("^", "/é", "-"), "-/é");
        assert_eq!(replace("", "é", "-"), "-é-");
    }

    #[test]
    fn a_refused_payment_stops_the_rewrite() {
        let re = Regex::new("o").unwrap();
        let mut searches = 0;
        let out = global_replace(&re, "/foo", "0", |_| {
            searches += 1;
            searches < 2
        });
        assert_eq!(out, None);
    }
}
