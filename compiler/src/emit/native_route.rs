//! One match of the lowered table as one Envoy route: its conditions as a `RouteMatch` and its
//! rule as the action the engine would decide, for [`super::native_routes`].
//!
//! Envoy's router takes over what the filter does itself: PathPrefix is segment-wise
//! (`path_separated_prefix`), a prefix rewrite or redirect is a `regex_rewrite` because
//! Gateway API joins the replacement and the rest of the path at a segment boundary (`/` in
//! place of `/foo` turns `/foo/bar` into `/bar`, not `//bar`), a redirect names the port only
//! when it is not the scheme's default (the engine's Location rule), a route without timeouts
//! disables Envoy's default 15 s, and an invalid backendRef's share is answered 500 through a
//! cluster that does not exist. What has no place in a route (CORS, a backendRef's own
//! mirrors, path rewrite or redirect among several backends, edits to `host` or pseudo-headers)
//! is left out with a warning naming the rule.

use serde_json::{json, Map, Value};

use super::duration;
use super::native_routes::Warnings;
use gatewasm_filter::blob::{
    Filters, HeaderModifier, Match, MatchId, Mirror, PathMatch, PathModifier, Redirect, RegexId,
    RouteTable, Rule, StringMatch, WeightedBackend,
};

/// A cluster no deployment has: the share of an invalid backendRef goes there and Envoy
/// answers it 500 (`cluster_not_found_response_code`), as the engine does.
pub const INVALID_BACKEND_CLUSTER: &str = "gatewasm-invalid-backend";

/// What every route of one port's table shares.
pub(super) struct Context<'a> {
    pub table: &'a RouteTable,
    /// The Gateway port (a redirect without port or scheme keeps it).
    pub port: u16,
    /// The port's listeners are HTTPS (a redirect without scheme keeps it).
    pub tls: bool,
}

/// The Envoy route for match `id`.
pub(super) fn route(
    cx: &Context<'_>,
    id: MatchId,
    warnings: &mut Warnings,
) -> Result<Value, String> {
    let table = cx.table;
    let m = &table.matches[id];
    let rule = &table.rules[m.rule];
    let r = &table.routes[rule.route];
    let name = format!("{}/{} rule {}", r.namespace, r.name, rule.index);
    let mut warn = |what: &str| warnings.push(format!("{name}: {what}"));
    let mut out = Map::new();
    out.insert("name".into(), json!(name));
    out.insert("match".into(), route_match(table, m));
    let live: Vec<&WeightedBackend> = rule.backends.iter().filter(|b| b.weight > 0).collect();
    let redirect = rule
        .filters
        .redirect
        .as_deref()
        .or_else(|| match live.as_slice() {
            [only] => only.filters.redirect.as_deref(),
            _ => None,
        });
    if live.len() > 1 && live.iter().any(|b| b.filters.redirect.is_some()) {
        warn("a backendRef's RequestRedirect among several backends is left out");
    }
    if let Some(r) = redirect {
        if let Some(PathModifier::Location(location)) = &r.path {
            // Envoy's redirect action always builds its Location from the request; a
            // Location as written is a direct response with that header, which replaces the
            // one Envoy gives a 3xx direct response.
            out.insert("direct_response".into(), json!({"status": r.status}));
            out.insert(
                "response_headers_to_add".into(),
                json!([{
                    "header": {"key": "location", "value": location},
                    "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                }]),
            );
        } else {
            out.insert("redirect".into(), redirect_action(cx, r)?);
        }
        return Ok(Value::Object(out));
    }
    if live.iter().all(|b| b.backend.is_none()) {
        out.insert("direct_response".into(), json!({"status": 500}));
        return Ok(Value::Object(out));
    }
    // One backend: its filters join the rule's on the route itself.
    let layers: Vec<&Filters> = match live.as_slice() {
        [only] => vec![&rule.filters, &only.filters],
        _ => vec![&rule.filters],
    };
    if layers.iter().any(|f| f.cors.is_some()) || live.iter().any(|b| b.filters.cors.is_some()) {
        warn("CORS is left out (Envoy's CORS filter would need its own configuration)");
    }
    header_edits(&mut out, &layers, &mut warn);
    out.insert("route".into(), action(cx, rule, &live, &layers, &mut warn));
    Ok(Value::Object(out))
}

/// The conditions of a match.
fn route_match(table: &RouteTable, m: &Match) -> Value {
    let mut out = path_match(table, &m.path);
    let method = m
        .method
        .iter()
        .map(|v| json!({"name": ":method", "string_match": {"exact": v}}));
    let headers = m
        .headers
        .iter()
        .map(|h| json!({"name": h.name, "string_match": string_match(table, &h.value)}));
    let headers: Vec<Value> = method.chain(headers).collect();
    if !headers.is_empty() {
        out["headers"] = json!(headers);
    }
    let query: Vec<Value> = m
        .query
        .iter()
        .map(|q| json!({"name": q.name, "string_match": string_match(table, &q.value)}))
        .collect();
    if !query.is_empty() {
        out["query_parameters"] = json!(query);
    }
    out
}

fn path_match(table: &RouteTable, path: &PathMatch) -> Value {
    match path {
        PathMatch::Exact(v) => json!({"path": v}),
        PathMatch::Prefix(v) if v == "/" => json!({"prefix": "/"}),
        PathMatch::Prefix(v) => json!({"path_separated_prefix": v}),
        PathMatch::Regex(id) => json!({"safe_regex": {"regex": table.regexes[*id]}}),
        PathMatch::Grpc {
            service: Some(StringMatch::Exact(s)),
            method: Some(StringMatch::Exact(m)),
        } => json!({"path": format!("/{s}/{m}")}),
        PathMatch::Grpc { service, method } => {
            // `/<service>/<method>`, each part one segment unless its own expression says more.
            let part = |p: &Option<StringMatch>| match p {
                None => "[^/]+".to_owned(),
                Some(StringMatch::Exact(v)) => regex_lite::escape(v),
                Some(StringMatch::Regex(id)) => format!("(?:{})", table.regexes[*id]),
            };
            json!({"safe_regex": {"regex": format!("/{}/{}", part(service), part(method))}})
        }
    }
}

fn string_match(table: &RouteTable, m: &StringMatch) -> Value {
    match m {
        StringMatch::Exact(v) => json!({"exact": v}),
        StringMatch::Regex(id) => json!({"safe_regex": {"regex": table.regexes[*id]}}),
    }
}

/// The forwarding action: clusters, rewrites, mirrors, timeouts and retries.
fn action(
    cx: &Context<'_>,
    rule: &Rule,
    live: &[&WeightedBackend],
    layers: &[&Filters],
    warn: &mut dyn FnMut(&str),
) -> Value {
    let table = cx.table;
    let mut out = Map::new();
    match live {
        [WeightedBackend {
            backend: Some(b), ..
        }] => {
            out.insert("cluster".into(), json!(table.backends[*b].cluster));
        }
        _ => {
            let clusters: Vec<Value> = live.iter().map(|b| weighted(table, b, warn)).collect();
            out.insert("weighted_clusters".into(), json!({"clusters": clusters}));
            if live.iter().any(|b| b.backend.is_none()) {
                out.insert(
                    "cluster_not_found_response_code".into(),
                    json!("INTERNAL_SERVER_ERROR"),
                );
            }
        }
    }
    // The most specific rewrite replaces the others, as in the engine.
    if let Some(rewrite) = layers.iter().rev().find_map(|f| f.rewrite.as_deref()) {
        if let Some(host) = &rewrite.hostname {
            out.insert("host_rewrite_literal".into(), json!(host));
        }
        match &rewrite.path {
            Some(PathModifier::Full(path)) => {
                out.insert("regex_rewrite".into(), regex_rewrite("^/.*$", path));
            }
            Some(PathModifier::Prefix {
                matched,
                replacement,
            }) => {
                out.insert("regex_rewrite".into(), prefix_rewrite(matched, replacement));
            }
            Some(PathModifier::Regex {
                regex,
                substitution,
            }) => {
                out.insert(
                    "regex_rewrite".into(),
                    regex_substitute(table, *regex, substitution),
                );
            }
            // Only redirects have one (blob validation refuses it in a rewrite).
            Some(PathModifier::Location(_)) | None => {}
        }
    }
    let mirrors: Vec<Value> = layers
        .iter()
        .flat_map(|f| &f.mirrors)
        .filter_map(|m| mirror(table, m))
        .collect();
    if !mirrors.is_empty() {
        out.insert("request_mirror_policies".into(), json!(mirrors));
    }
    timeouts_and_retries(&mut out, rule);
    Value::Object(out)
}

/// One backendRef of a split, with the filters Envoy can apply per cluster.
fn weighted(table: &RouteTable, b: &WeightedBackend, warn: &mut dyn FnMut(&str)) -> Value {
    let name = b.backend.map_or(INVALID_BACKEND_CLUSTER, |id| {
        table.backends[id].cluster.as_str()
    });
    let mut out = Map::new();
    out.insert("name".into(), json!(name));
    out.insert("weight".into(), json!(b.weight));
    header_edits(&mut out, &[&b.filters], warn);
    if let Some(rewrite) = &b.filters.rewrite {
        if rewrite.path.is_some() {
            warn("a backendRef's path rewrite among several backends is left out");
        }
        if let Some(host) = &rewrite.hostname {
            out.insert("host_rewrite_literal".into(), json!(host));
        }
    }
    if !b.filters.mirrors.is_empty() {
        warn("a backendRef's RequestMirror among several backends is left out");
    }
    Value::Object(out)
}

/// Request and response header modifiers of `layers`, in order (a later `set` wins).
fn header_edits(out: &mut Map<String, Value>, layers: &[&Filters], warn: &mut dyn FnMut(&str)) {
    type Pick = fn(&Filters) -> Option<&HeaderModifier>;
    let sides: [(&str, Pick); 2] = [
        ("request", |f| f.request_headers.as_deref()),
        ("response", |f| f.response_headers.as_deref()),
    ];
    for (side, pick) in sides {
        let mut add = Vec::new();
        let mut remove = Vec::new();
        for m in layers.iter().filter_map(|f| pick(f)) {
            let edits = m
                .set
                .iter()
                .map(|kv| (kv, "OVERWRITE_IF_EXISTS_OR_ADD"))
                .chain(m.add.iter().map(|kv| (kv, "APPEND_IF_EXISTS_OR_ADD")));
            for ((name, value), how) in edits {
                if protected(name) {
                    warn(&format!("the {side} header edit of `{name}` is left out (Envoy refuses it in a route)"));
                    continue;
                }
                add.push(json!({"header": {"key": name, "value": value}, "append_action": how}));
            }
            for name in &m.remove {
                if protected(name) {
                    warn(&format!("the {side} header removal of `{name}` is left out (Envoy refuses it in a route)"));
                } else {
                    remove.push(name.clone());
                }
            }
        }
        if !add.is_empty() {
            out.insert(format!("{side}_headers_to_add"), json!(add));
        }
        if !remove.is_empty() {
            out.insert(format!("{side}_headers_to_remove"), json!(remove));
        }
    }
}

/// Headers a route may not edit: pseudo-headers and `host`.
fn protected(name: &str) -> bool {
    name.starts_with(':') || name.eq_ignore_ascii_case("host")
}

fn mirror(table: &RouteTable, m: &Mirror) -> Option<Value> {
    let backend = &table.backends[m.backend?];
    let mut policy = json!({"cluster": backend.cluster});
    if m.numerator < m.denominator {
        let millionths = u64::from(m.numerator) * 1_000_000 / u64::from(m.denominator.max(1));
        policy["runtime_fraction"] =
            json!({"default_value": {"numerator": millionths, "denominator": "MILLION"}});
    }
    Some(policy)
}

fn timeouts_and_retries(out: &mut Map<String, Value>, rule: &Rule) {
    // Gateway API's default is no timeout; Envoy's is 15 s.
    let request = rule.timeouts.request_ms.map_or("0s".to_owned(), duration);
    out.insert("timeout".into(), json!(request));
    let mut retry = Map::new();
    if let Some(ms) = rule.timeouts.backend_request_ms {
        retry.insert("per_try_timeout".into(), json!(duration(ms)));
    }
    if let Some(r) = rule.retry.as_deref() {
        // What the filter asks Envoy's router for in x-envoy-retry-on.
        let mut on = "connect-failure,refused-stream,reset".to_owned();
        if !r.codes.is_empty() {
            on.push_str(",retriable-status-codes");
            retry.insert("retriable_status_codes".into(), json!(r.codes));
        }
        retry.insert("retry_on".into(), json!(on));
        if let Some(n) = r.attempts {
            retry.insert("num_retries".into(), json!(n));
        }
    }
    if !retry.is_empty() {
        out.insert("retry_policy".into(), Value::Object(retry));
    }
}

fn redirect_action(cx: &Context<'_>, r: &Redirect) -> Result<Value, String> {
    let code = match r.status {
        301 => "MOVED_PERMANENTLY",
        302 => "FOUND",
        303 => "SEE_OTHER",
        307 => "TEMPORARY_REDIRECT",
        308 => "PERMANENT_REDIRECT",
        other => {
            return Err(format!(
                "redirect status {other} has no Envoy response code"
            ))
        }
    };
    let mut out = json!({"response_code": code});
    if let Some(scheme) = &r.scheme {
        out["scheme_redirect"] = json!(scheme);
    }
    if let Some(host) = &r.hostname {
        out["host_redirect"] = json!(host);
    }
    let scheme = r
        .scheme
        .as_deref()
        .unwrap_or(if cx.tls { "https" } else { "http" });
    let port = r.port.unwrap_or(match r.scheme.as_deref() {
        Some("https") => 443,
        Some(_) => 80,
        None => cx.port,
    });
    if !matches!((scheme, port), ("http", 80) | ("https", 443)) {
        out["port_redirect"] = json!(port);
    }
    match &r.path {
        Some(PathModifier::Full(path)) => out["path_redirect"] = json!(path),
        Some(PathModifier::Prefix {
            matched,
            replacement,
        }) => {
            out["regex_rewrite"] = prefix_rewrite(matched, replacement);
        }
        Some(PathModifier::Regex {
            regex,
            substitution,
        }) => out["regex_rewrite"] = regex_substitute(cx.table, *regex, substitution),
        // The caller answers a Location as written with a direct response.
        Some(PathModifier::Location(_)) | None => {}
    }
    Ok(out)
}

/// ReplacePrefixMatch as the engine's `path::replace_prefix` does it.
pub(super) fn prefix_rewrite(matched: &str, replacement: &str) -> Value {
    let head = replacement.trim_end_matches('/');
    let head = if head.is_empty() || head.starts_with('/') {
        head.to_owned()
    } else {
        format!("/{head}")
    };
    if matched == "/" {
        // The whole path is the rest: the replacement goes in front of it.
        return regex_rewrite("^/", &format!("{head}/"));
    }
    let prefix = regex_lite::escape(matched);
    if head.is_empty() {
        // `/foo` → `/`: the rest keeps its own leading slash, or the path becomes `/`.
        regex_rewrite(&format!("^{prefix}/*"), "/")
    } else {
        regex_rewrite(&format!("^{prefix}"), &head)
    }
}

/// A rule's own regex rewrite: its substitution is already RE2's.
fn regex_substitute(table: &RouteTable, regex: RegexId, substitution: &str) -> Value {
    json!({"pattern": {"regex": table.regexes[regex]}, "substitution": substitution})
}

fn regex_rewrite(pattern: &str, substitution: &str) -> Value {
    // RE2 substitutions read `\1` as a group; a path's backslash is a literal one.
    json!({"pattern": {"regex": pattern}, "substitution": substitution.replace('\\', "\\\\")})
}
