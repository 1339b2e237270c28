//! `rewrite-target` and `x-forwarded-prefix`. ingress-nginx writes
//! `rewrite "(?i)<path>" <target> break;` in each location of the Ingress: when the path
//! expression matches, the whole URI becomes the target, `$1`… filled from the expression's
//! groups, and the query is kept. The location matched `^<path>`, so the expression matches
//! from the start; an Envoy Gateway HTTPRouteFilter replacing `(?i)^(?:<path>)` and the rest
//! of the path by the target (`\1`…) does the same. `X-Forwarded-Prefix` is sent only on
//! rewritten requests (docs/ingress-nginx-behaviour.md §5).

use serde_json::{json, Value};

use super::settings::{unread, value};
use super::Served;
use crate::diag::Diagnostics;
use crate::model::Object;

/// The annotations read here, without the prefix: carried out, so not warned about.
pub const ANNOTATIONS: [&str; 2] = ["rewrite-target", "x-forwarded-prefix"];

/// What an Ingress's rewrite annotations ask of each of its paths.
#[derive(Debug, Clone)]
pub struct Rewrite {
    /// The target as written (`/$2`).
    target: String,
    /// The `X-Forwarded-Prefix` value, sent with rewritten requests.
    forwarded_prefix: Option<String>,
}

/// Whether ingress-nginx reads a rewrite value at all: one outside its
/// `RegexPathWithCapture` (`^/?[-._~a-zA-Z0-9/:$]*$`) is taken as unset there, regex mode
/// included.
pub fn nginx_reads(v: &str) -> bool {
    v.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._~/:$".contains(c))
}

/// The rewrite `object` asks for; a value ingress-nginx ignores, or one gatewasm cannot carry
/// out, is a warning and no rewrite.
pub fn read(object: &Object, diagnostics: &mut Diagnostics) -> Option<Rewrite> {
    let mut warn = |name: &str, message: String| diagnostics.push(unread(object, name, message));
    let target = value(object, "rewrite-target")?;
    let name = "nginx.ingress.kubernetes.io/rewrite-target";
    if !nginx_reads(target) {
        warn("rewrite-target", format!("{name} {target} has characters ingress-nginx refuses: the paths are not rewritten, as there"));
        return None;
    }
    if !target.starts_with('/') {
        warn("rewrite-target", format!("{name} {target} does not start with '/': gatewasm rewrites only to paths, so the paths are not rewritten"));
        return None;
    }
    if variable(target) {
        warn("rewrite-target", format!("{name} {target} uses an nginx variable, which gatewasm cannot expand: the paths are not rewritten"));
        return None;
    }
    let forwarded_prefix = match value(object, "x-forwarded-prefix") {
        Some(v) if !nginx_reads(v) => {
            warn("x-forwarded-prefix", format!("{v} has characters ingress-nginx refuses: no X-Forwarded-Prefix is sent, as there"));
            None
        }
        Some(v) if v.contains('$') => {
            warn("x-forwarded-prefix", format!("{v} uses a group or an nginx variable, which gatewasm cannot put in a header: no X-Forwarded-Prefix is sent"));
            None
        }
        v => v.map(str::to_owned),
    };
    Some(Rewrite {
        target: target.to_owned(),
        forwarded_prefix,
    })
}

/// Whether `target` has a `$` not followed by a digit: an nginx variable.
fn variable(target: &str) -> bool {
    let mut chars = target.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && !chars.peek().is_some_and(char::is_ascii_digit) {
            return true;
        }
    }
    false
}

impl Rewrite {
    /// For the Ingress path `path`: the filters each of its forwarding rules gets, and the
    /// HTTPRouteFilter `name` they name. `None` when the target is the path itself, which
    /// ingress-nginx takes as no rewrite, or when the path is no expression (its route
    /// reports that).
    pub fn for_path(
        &self,
        served: &Served<'_>,
        path: &str,
        name: &str,
    ) -> Option<(Vec<Value>, Value)> {
        if self.target == path {
            return None;
        }
        let pattern = format!("(?i)^(?:{path})(?s:.*)");
        let groups = regex_lite::Regex::new(&pattern).ok()?.captures_len();
        let spec = json!({"urlRewrite": {"path": {
            "type": "ReplaceRegexMatch",
            "replaceRegexMatch": {"pattern": pattern, "substitution": substitution(&self.target, groups)},
        }}});
        let filter = super::envoy_gateway::object(served, "HTTPRouteFilter", name, spec);
        let mut filters = vec![super::envoy_gateway::extension_ref(name)];
        if let Some(prefix) = &self.forwarded_prefix {
            filters.push(
                json!({"type": "RequestHeaderModifier", "requestHeaderModifier": {
                    "set": [{"name": "X-Forwarded-Prefix", "value": prefix}],
                }}),
            );
        }
        Some((filters, filter))
    }
}

/// nginx's target as an RE2 substitution: `$n` becomes `\n`, or nothing for a group the
/// expression does not have (nginx leaves it empty).
fn substitution(target: &str, groups: usize) -> String {
    let mut out = String::with_capacity(target.len());
    let mut chars = target.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek().and_then(|d| d.to_digit(10))) {
            ('$', Some(d)) => {
                chars.next();
                if (d as usize) < groups {
                    out.push('\\');
                    out.push_str(&d.to_string());
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_become_substitutions() {
        assert_eq!(substitution("/$2", 3), "/\\2");
        assert_eq!(substitution("/a/$1/$3", 3), "/a/\\1/");
        assert_eq!(substitution("/", 1), "/");
        assert!(variable("/$host"));
        assert!(variable("/a$"));
        assert!(!variable("/$1x"));
        assert!(nginx_reads("/$1:~._-"));
        assert!(!nginx_reads("/a?b=1"));
    }
}
