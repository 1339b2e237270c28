//! The winning rule's backends: how the rule splits requests between them, which one this
//! request drew, and why a backendRef that answers 500 is invalid.

use std::fmt::Write as _;

use gatewasm_filter::blob::{RouteKind, RuleId};

use serde_json::{json, Value};

use super::Known;
use crate::diag::Severity;
use crate::warning::Warning;

/// One backendRef of the rule and its share of the rule's requests.
pub(super) struct Share {
    /// `name:port` of the Service, or the backendRef as written when it is invalid.
    name: String,
    weight: u32,
    /// Percent of the rule's requests.
    percent: f64,
    /// This request went to it.
    chosen: bool,
    /// Its share is answered 500.
    invalid: bool,
}

/// Why the chosen backendRef answers 500, from the warning compile gave about it.
pub(super) struct Invalid {
    /// `file:line` of the backendRef.
    at: String,
    /// The route and field, `HTTPRoute ns/name spec.rules[0].backendRefs[1]`.
    what: String,
    warning: Option<Warning>,
    message: String,
    help: Option<String>,
}

/// Every backendRef of `rule`; `chosen` is the position this request drew.
pub(super) fn shares(c: &Known<'_>, rule: RuleId, chosen: usize) -> Vec<Share> {
    let t = c.table;
    let backends = &t.rules[rule].backends;
    let total: u64 = backends.iter().map(|b| u64::from(b.weight)).sum();
    backends
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let valid = b.backend.map(|id| &t.backends[id]);
            Share {
                name: valid.map_or_else(
                    || written_ref(c, rule, i),
                    |v| format!("{}:{}", v.name, v.port),
                ),
                weight: b.weight,
                percent: if total == 0 {
                    0.0
                } else {
                    f64::from(b.weight) * 100.0 / total as f64
                },
                chosen: i == chosen,
                invalid: valid.is_none(),
            }
        })
        .collect()
}

/// The split as data.
pub(super) fn shares_data(shares: &[Share]) -> Vec<Value> {
    shares
        .iter()
        .map(|s| {
            json!({
                "backend": s.name,
                "weight": s.weight,
                "percent": s.percent,
                "chosen": s.chosen,
                "invalid": s.invalid,
            })
        })
        .collect()
}

/// Why the chosen backendRef is invalid, as data (`null` inside when the blob does not say).
pub(super) fn invalid_data(i: usize, why: Option<&Invalid>) -> Value {
    json!({
        "backendRef": i,
        "why": why.map(|w| json!({
            "at": w.at,
            "ref": w.what,
            "code": w.warning.map(Warning::code),
            "name": w.warning.map(Warning::name),
            "message": w.message,
            "fix": w.help,
        })),
    })
}

/// The backendRef at position `i` of `rule` as the manifest names it.
fn written_ref(c: &Known<'_>, rule: RuleId, i: usize) -> String {
    let r = &c.table.rules[rule];
    let route = &c.table.routes[r.route];
    let Some(v) = c.manifests.map(|m| &m.validated) else {
        return format!("backendRefs[{i}]");
    };
    let same = |ns: &str, name: &str| ns == route.namespace && name == route.name;
    let index = usize::from(r.index);
    let written = match route.kind {
        RouteKind::Http => v
            .http_routes
            .iter()
            .find(|x| same(&x.meta.namespace, &x.meta.name))
            .and_then(|x| x.spec.rules.get(index))
            .and_then(|rule| rule.backends.get(i))
            .map(|b| &b.backend),
        RouteKind::Grpc => v
            .grpc_routes
            .iter()
            .find(|x| same(&x.meta.namespace, &x.meta.name))
            .and_then(|x| x.spec.rules.get(index))
            .and_then(|rule| rule.backends.get(i))
            .map(|b| &b.backend),
    };
    written.map_or_else(
        || format!("backendRefs[{i}]"),
        |b| match b.port {
            Some(port) => format!("{}:{port}", b.name),
            None => b.name.clone(),
        },
    )
}

/// Why backendRef `i` of `rule` is invalid: the warning about it, or the input-wide one that
/// stands for every missing Service when the input holds none. `None` without manifests.
pub(super) fn invalid(c: &Known<'_>, rule: RuleId, i: usize) -> Option<Invalid> {
    let m = c.manifests?;
    let source = c.rule_sources.get(rule.index())?;
    let field = format!("{}.backendRefs[{i}]", source.field);
    let about_ref = |d: &&crate::diag::Diagnostic| {
        d.object == source.object && (d.field == field || d.field.starts_with(&format!("{field}.")))
    };
    let no_services = |d: &&crate::diag::Diagnostic| {
        d.object.is_empty() && d.severity == Severity::Warning(Warning::BackendNotFound)
    };
    let d = m
        .diagnostics
        .iter()
        .find(about_ref)
        .or_else(|| m.diagnostics.iter().find(no_services))?;
    Some(Invalid {
        at: if d.object.is_empty() {
            source.at()
        } else {
            format!("{}:{}", d.file, d.line)
        },
        what: format!("{} {field}", source.object),
        warning: match d.severity {
            Severity::Warning(w) => Some(w),
            _ => None,
        },
        message: d.message.clone(),
        help: d.help.clone(),
    })
}

/// The `split:` lines: every backend with its weight and share, the drawn one marked.
pub(super) fn tell_split(shares: &[Share], out: &mut String) {
    if shares.len() < 2 {
        return;
    }
    let list: Vec<String> = shares
        .iter()
        .map(|s| {
            format!(
                "{} {} (weight {}){}{}",
                s.name,
                percent(s.percent),
                s.weight,
                if s.invalid {
                    " invalid, answers 500"
                } else {
                    ""
                },
                if s.chosen { " <- this request" } else { "" }
            )
        })
        .collect();
    let _ = writeln!(
        out,
        "split:    {}\n          each request draws its backend by weight: another request \
         may go to another one (explain always draws with the same seed)",
        list.join(", ")
    );
}

/// `90%`, or `0.1%` for a share that rounds to no whole percent.
fn percent(p: f64) -> String {
    if (p - p.round()).abs() < 0.05 {
        format!("{p:.0}%")
    } else {
        format!("{p:.1}%")
    }
}

/// The `invalid:` lines: backendRef `i` of the rule, the reason and the fix.
pub(super) fn tell_invalid(i: usize, why: Option<&Invalid>, out: &mut String) {
    let Some(why) = why else {
        let _ = writeln!(
            out,
            "invalid:  the rule's backendRefs[{i}] is invalid; the blob does not record why \
             (`gatewasm status` on the manifests says)"
        );
        return;
    };
    let code = why.warning.map(|w| format!(" [{w}]")).unwrap_or_default();
    let _ = writeln!(
        out,
        "invalid:  {} at {}{code}\n          {}",
        why.what, why.at, why.message
    );
    if let Some(help) = &why.help {
        let _ = writeln!(out, "fix:      {help}");
    }
}
