//! Checks shared by HTTPRoute and GRPCRoute: hostnames, parent and backend references,
//! header matches and modifiers, mirrors, filter type/field consistency, rule names and match
//! totals.

use std::collections::HashMap;

use super::{syntax, Ctx};
use crate::model::{
    BackendObjectReference, BackendRef as RawBackendRef, CookieLifetimeType,
    HeaderMatch as RawHeaderMatch, HeaderModifier, LocalObjectReference, ParentReference,
    RequestMirror, SessionPersistence, StringMatchType, GATEWAY_GROUP,
};
use crate::quote::code;
use crate::valid::{
    BackendRef, HeaderMatch, Mirror, MirrorFraction, ParentRef, StringMatch, WeightedBackend,
};
use crate::warning::Warning;

/// Both route kinds: at most 16 hostnames, each a valid (maybe wildcard) host name.
pub(super) fn hostnames(ctx: &mut Ctx, hostnames: &[String]) -> Vec<String> {
    ctx.at_most("spec.hostnames", hostnames.len(), 16, "hostnames");
    for (i, h) in hostnames.iter().enumerate() {
        ctx.check(&format!("spec.hostnames[{i}]"), syntax::hostname(h));
    }
    hostnames.to_vec()
}

/// Both route kinds: at most 32 parentRefs; several references to one parent must all set
/// `sectionName` (and `port`) or none may, and must differ in them.
pub(super) fn parent_refs(ctx: &mut Ctx, refs: &[ParentReference]) -> Vec<ParentRef> {
    ctx.at_most("spec.parentRefs", refs.len(), 32, "parentRefs");
    let mut out = Vec::with_capacity(refs.len());
    for (i, r) in refs.iter().enumerate() {
        let p = format!("spec.parentRefs[{i}]");
        let parent = ParentRef {
            group: r.group.clone().unwrap_or_else(|| GATEWAY_GROUP.to_string()),
            kind: r.kind.clone().unwrap_or_else(|| "Gateway".to_string()),
            namespace: r
                .namespace
                .clone()
                .unwrap_or_else(|| ctx.namespace.to_string()),
            name: r.name.clone(),
            section_name: r.section_name.clone(),
            port: r.port.map(|port| ctx.port(&format!("{p}.port"), port)),
        };
        reference_names(
            ctx,
            &p,
            &parent.group,
            &parent.kind,
            Some(&parent.namespace),
            &r.name,
        );
        if let Some(section) = &r.section_name {
            ctx.check(&format!("{p}.sectionName"), syntax::section_name(section));
        }
        out.push(parent);
    }
    // The CRD's CEL rules compare references to the same parent pairwise.
    let mut first_of: HashMap<ParentKey, usize> = HashMap::new();
    let mut seen: HashMap<(ParentKey, Option<&str>, Option<u16>), usize> = HashMap::new();
    for (i, r) in out.iter().enumerate() {
        let parent = (
            r.group.as_str(),
            r.kind.as_str(),
            r.namespace.as_str(),
            r.name.as_str(),
        );
        let first = *first_of.entry(parent).or_insert(i);
        let other = &out[first];
        let p = format!("spec.parentRefs[{i}]");
        if other.section_name.is_some() != r.section_name.is_some() {
            ctx.error_help(
                &p,
                "sectionName must be set on every parentRef to the same parent, or on none",
                format!("spec.parentRefs[{first}] refers to the same parent"),
            );
        } else if other.port.is_some() != r.port.is_some() {
            ctx.error_help(
                &p,
                "port must be set on every parentRef to the same parent, or on none",
                format!("spec.parentRefs[{first}] refers to the same parent"),
            );
        } else {
            let key = (parent, r.section_name.as_deref(), r.port);
            if let Some(earlier) = seen.insert(key, i) {
                ctx.error_help(
                    &p,
                    "duplicate parentRef: same parent, sectionName and port",
                    format!("spec.parentRefs[{earlier}] is the same reference"),
                );
            }
        }
    }
    out
}

/// Group, kind, namespace and name: what makes two parentRefs name the same parent.
type ParentKey<'a> = (&'a str, &'a str, &'a str, &'a str);

/// Checks the group, kind, namespace and name of a reference at `path`.
fn reference_names(
    ctx: &mut Ctx,
    path: &str,
    group: &str,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
) {
    ctx.check(&format!("{path}.group"), syntax::group(group));
    ctx.check(&format!("{path}.kind"), syntax::kind(kind));
    if let Some(ns) = namespace {
        ctx.check(&format!("{path}.namespace"), syntax::dns_label(ns));
    }
    ctx.check(&format!("{path}.name"), syntax::object_name(name));
}

/// A backend reference with defaults applied; a Service reference must have a port.
fn backend(
    ctx: &mut Ctx,
    path: &str,
    group: &Option<String>,
    kind: &Option<String>,
    name: &str,
    namespace: &Option<String>,
    port: Option<i32>,
) -> BackendRef {
    let b = BackendRef {
        group: group.clone().unwrap_or_default(),
        kind: kind.clone().unwrap_or_else(|| "Service".to_string()),
        name: name.to_string(),
        namespace: namespace
            .clone()
            .unwrap_or_else(|| ctx.namespace.to_string()),
        port: port.map(|p| ctx.port(&format!("{path}.port"), p)),
    };
    reference_names(ctx, path, &b.group, &b.kind, Some(&b.namespace), name);
    if b.is_service() && b.port.is_none() {
        ctx.error(
            &format!("{path}.port"),
            "port is required for a Service backend",
        );
    }
    b
}

/// A mirror's `backendRef`.
pub(super) fn backend_object(ctx: &mut Ctx, path: &str, r: &BackendObjectReference) -> BackendRef {
    backend(ctx, path, &r.group, &r.kind, &r.name, &r.namespace, r.port)
}

/// Both route kinds: at most 16 backendRefs, each with a weight of 0–1,000,000 (default 1)
/// and its own filters, converted by `filters`.
pub(super) fn backend_refs<F, G>(
    ctx: &mut Ctx,
    rule: &str,
    refs: &[RawBackendRef<F>],
    mut filters: impl FnMut(&mut Ctx, &str, &[F]) -> Vec<G>,
) -> Vec<WeightedBackend<G>> {
    ctx.at_most(
        &format!("{rule}.backendRefs"),
        refs.len(),
        16,
        "backendRefs",
    );
    let mut out = Vec::with_capacity(refs.len());
    for (i, r) in refs.iter().enumerate() {
        let p = format!("{rule}.backendRefs[{i}]");
        let backend = backend(ctx, &p, &r.group, &r.kind, &r.name, &r.namespace, r.port);
        let weight = r.weight.unwrap_or(1);
        if !(0..=1_000_000).contains(&weight) {
            ctx.error(
                &format!("{p}.weight"),
                format!("weight must be between 0 and 1000000, not {weight}"),
            );
        }
        out.push(WeightedBackend {
            backend,
            weight: u32::try_from(weight).unwrap_or(0),
            filters: filters(ctx, &format!("{p}.filters"), &r.filters),
        });
    }
    out
}

/// Header (or query parameter) matches at `path`: at most 16, names unique and valid, values
/// `1..=max_value` long, regular expressions compiling.
pub(super) fn header_matches(
    ctx: &mut Ctx,
    path: &str,
    matches: &[RawHeaderMatch],
    max_value: usize,
    what: &str,
) -> Vec<HeaderMatch> {
    ctx.at_most(path, matches.len(), 16, what);
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut folded: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::with_capacity(matches.len());
    for (i, m) in matches.iter().enumerate() {
        let p = format!("{path}[{i}]");
        ctx.check(&format!("{p}.name"), syntax::header_name(&m.name));
        if let Some(earlier) = names.insert(&m.name, i) {
            ctx.error_help(
                &format!("{p}.name"),
                format!("duplicate name {}", code(&m.name)),
                format!("{path}[{earlier}] has the same name"),
            );
        } else if let Some(earlier) = folded.insert(m.name.to_ascii_lowercase(), i) {
            // Distinct to the CRD, but header names compare case-insensitively, and the spec
            // says only the first equivalent entry counts.
            ctx.warn(
                Warning::DuplicateHeaderMatch,
                &format!("{p}.name"),
                format!(
                    "{} is the same header as {path}[{earlier}]; only the first is used",
                    code(&m.name)
                ),
            );
        }
        ctx.check(&format!("{p}.value"), syntax::value(&m.value, 1, max_value));
        let value = match m.r#type.unwrap_or(StringMatchType::Exact) {
            StringMatchType::Exact => StringMatch::Exact(m.value.clone()),
            StringMatchType::RegularExpression => {
                ctx.regex(&format!("{p}.value"), &m.value);
                StringMatch::RegularExpression(m.value.clone())
            }
        };
        out.push(HeaderMatch {
            name: m.name.clone(),
            value,
        });
    }
    out
}

/// A header modifier at `path`: `set`, `add` and `remove` at most 16 each, names valid and
/// unique within each list, values 1–4096 characters.
pub(super) fn header_modifier(ctx: &mut Ctx, path: &str, m: &HeaderModifier) -> HeaderModifier {
    for (list, headers) in [("set", &m.set), ("add", &m.add)] {
        let lp = format!("{path}.{list}");
        ctx.at_most(&lp, headers.len(), 16, "headers");
        let mut names: HashMap<&str, usize> = HashMap::new();
        for (i, h) in headers.iter().enumerate() {
            let p = format!("{lp}[{i}]");
            ctx.check(&format!("{p}.name"), syntax::header_name(&h.name));
            ctx.check(&format!("{p}.value"), syntax::value(&h.value, 1, 4096));
            if let Some(earlier) = names.insert(&h.name, i) {
                ctx.error_help(
                    &format!("{p}.name"),
                    format!("duplicate header {}", code(&h.name)),
                    format!("{lp}[{earlier}] has the same name"),
                );
            }
        }
    }
    let lp = format!("{path}.remove");
    ctx.at_most(&lp, m.remove.len(), 16, "headers");
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (i, name) in m.remove.iter().enumerate() {
        ctx.check(&format!("{lp}[{i}]"), syntax::header_name(name));
        if let Some(earlier) = names.insert(name, i) {
            ctx.error_help(
                &format!("{lp}[{i}]"),
                format!("duplicate header {}", code(name)),
                format!("{lp}[{earlier}] is the same"),
            );
        }
    }
    m.clone()
}

/// A mirror at `path`: `percent` 0–100 or a fraction with `0 <= numerator <= denominator`
/// and `denominator >= 1` (default 100), not both.
pub(super) fn mirror(ctx: &mut Ctx, path: &str, m: &RequestMirror) -> Mirror {
    let backend = backend_object(ctx, &format!("{path}.backendRef"), &m.backend_ref);
    let fraction = match (m.percent, &m.fraction) {
        (Some(_), Some(_)) => {
            ctx.error(path, "percent and fraction cannot both be set");
            MirrorFraction {
                numerator: 0,
                denominator: 100,
            }
        }
        (Some(percent), None) => {
            if !(0..=100).contains(&percent) {
                ctx.error(
                    &format!("{path}.percent"),
                    format!("percent must be between 0 and 100, not {percent}"),
                );
            }
            MirrorFraction {
                numerator: u32::try_from(percent).unwrap_or(0),
                denominator: 100,
            }
        }
        (None, Some(f)) => {
            let fp = format!("{path}.fraction");
            let denominator = f.denominator.unwrap_or(100);
            if f.numerator < 0 {
                ctx.error(&format!("{fp}.numerator"), "numerator must not be negative");
            }
            if denominator < 1 {
                ctx.error(
                    &format!("{fp}.denominator"),
                    "denominator must be at least 1",
                );
            } else if f.numerator > denominator {
                ctx.error(
                    &fp,
                    format!(
                        "numerator ({}) must not exceed denominator ({denominator})",
                        f.numerator
                    ),
                );
            }
            MirrorFraction {
                numerator: u32::try_from(f.numerator).unwrap_or(0),
                denominator: u32::try_from(denominator).unwrap_or(1),
            }
        }
        (None, None) => MirrorFraction {
            numerator: 100,
            denominator: 100,
        },
    };
    Mirror { backend, fraction }
}

/// For a filter at `path` of type `type_name` whose settings live in field `wanted`: that
/// field must be set and no other settings field may be. `present` lists every settings
/// field and whether it is set. Returns whether the filter is consistent.
pub(super) fn filter_fields(
    ctx: &mut Ctx,
    path: &str,
    type_name: &str,
    wanted: &str,
    present: &[(&str, bool)],
) -> bool {
    let mut ok = true;
    for (field, set) in present {
        if *set && *field != wanted {
            ctx.error(
                &format!("{path}.{field}"),
                format!("must not be set when type is {type_name}"),
            );
            ok = false;
        }
    }
    if !present.iter().any(|(f, set)| *f == wanted && *set) {
        ctx.error(
            path,
            format!("`{wanted}` must be set when type is {type_name}"),
        );
        ok = false;
    }
    ok
}

/// Filter types that may appear at most once in one filter list.
pub(super) fn at_most_once<'t>(
    ctx: &mut Ctx,
    path: &str,
    types: impl Iterator<Item = &'t str>,
    limited: &[&str],
) {
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (i, t) in types.enumerate() {
        if !limited.contains(&t) {
            continue;
        }
        if let Some(earlier) = first.insert(t, i) {
            ctx.error_help(
                &format!("{path}[{i}].type"),
                format!("at most one {t} filter is allowed"),
                format!("{path}[{earlier}] is also {t}"),
            );
        }
    }
}

/// Rule names: valid section names, unique within the route.
pub(super) fn rule_names<'r>(ctx: &mut Ctx, names: impl Iterator<Item = Option<&'r String>>) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, name) in names.enumerate() {
        let Some(name) = name else { continue };
        let p = format!("spec.rules[{i}].name");
        ctx.check(&p, syntax::section_name(name));
        if let Some(earlier) = seen.insert(name, i) {
            ctx.error_help(
                &p,
                format!("duplicate rule name {}", code(name)),
                format!("spec.rules[{earlier}] has the same name"),
            );
        }
    }
}

/// At most 64 matches per rule and 128 across the route.
pub(super) fn match_counts(ctx: &mut Ctx, counts: impl Iterator<Item = usize>) {
    let mut total = 0;
    for (i, n) in counts.enumerate() {
        ctx.at_most(
            &format!("spec.rules[{i}].matches"),
            n,
            64,
            "matches per rule",
        );
        total += n;
    }
    ctx.at_most("spec.rules", total, 128, "matches across all rules");
}

/// An `extensionRef`: group, kind and name must be well formed.
pub(super) fn extension_ref(
    ctx: &mut Ctx,
    path: &str,
    r: &LocalObjectReference,
) -> LocalObjectReference {
    reference_names(ctx, path, &r.group, &r.kind, None, &r.name);
    r.clone()
}

/// `sessionPersistence`: name length, durations, and a Permanent cookie needs an
/// `absoluteTimeout`.
pub(super) fn session_persistence(ctx: &mut Ctx, path: &str, sp: &SessionPersistence) {
    if let Some(name) = &sp.session_name {
        ctx.check(&format!("{path}.sessionName"), syntax::value(name, 0, 128));
    }
    if let Some(d) = &sp.absolute_timeout {
        ctx.duration(&format!("{path}.absoluteTimeout"), d);
    }
    if let Some(d) = &sp.idle_timeout {
        ctx.duration(&format!("{path}.idleTimeout"), d);
    }
    let permanent = sp.cookie_config.as_ref().and_then(|c| c.lifetime_type)
        == Some(CookieLifetimeType::Permanent);
    if permanent && sp.absolute_timeout.is_none() {
        ctx.error(
            &format!("{path}.absoluteTimeout"),
            "absoluteTimeout must be set when cookieConfig.lifetimeType is Permanent",
        );
    }
}
