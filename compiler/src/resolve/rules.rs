//! Builds what lower needs of the selected Gateway: listeners, routes, rules, matches,
//! filters and backends, with ids assigned and references resolved.

use std::collections::{BTreeMap, HashMap};

use gatewasm_filter::blob::{
    self, BackendId, ListenerId, RegexId, RouteId, RouteKind, RuleId, StringMatch,
};

use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::model::{
    HeaderModifier, HttpMethod, Kind, ProtocolType, RedirectScheme, StringMatchType,
};
use crate::valid::{
    self, Gateway, GrpcFilter, HttpFilter, HttpMatch, Mirror, PathMatch, PathModifier, Valid,
};
use crate::warning::Warning;

use super::attach::{HostsByListener, RouteRef};
use super::backends::{BackendKey, Resolver};
use super::hostnames;
use super::ids::{self, TooMany};
use super::{Attachment, Resolved, ResolvedRoute, ResolvedRule};

/// Accumulates the table.
pub struct TableBuilder<'r, 'v> {
    refs: &'r Resolver<'v>,
    out: Resolved,
    /// Listener index in the Gateway → its id (only HTTP and HTTPS listeners have one).
    listener_ids: HashMap<usize, ListenerId>,
    backend_ids: BTreeMap<BackendKey, BackendId>,
}

impl<'r, 'v> TableBuilder<'r, 'v> {
    /// Starts a table for `gateway`, the input's Gateway number `index`, with its HTTP and
    /// HTTPS listeners.
    pub fn new(
        gateway: &Valid<Gateway>,
        index: usize,
        refs: &'r Resolver<'v>,
    ) -> Result<Self, TooMany> {
        let mut listeners = Vec::new();
        let mut listener_ids = HashMap::new();
        for (i, l) in gateway.spec.listeners.iter().enumerate() {
            if !matches!(l.protocol, ProtocolType::Http | ProtocolType::Https) {
                continue;
            }
            let listener = blob::Listener {
                name: l.name.clone(),
                port: l.port,
                tls: l.protocol == ProtocolType::Https,
                hostname: l.hostname.as_deref().map(hostnames::pattern),
                host_groups: Vec::new(),
            };
            let id = ids::push(
                &mut listeners,
                listener,
                ListenerId::from_index,
                "listeners",
            )?;
            listener_ids.insert(i, id);
        }
        let out = Resolved {
            name: format!("{}/{}", gateway.meta.namespace, gateway.meta.name),
            listeners,
            routes: Vec::new(),
            rules: Vec::new(),
            backends: Vec::new(),
            regexes: super::Regexes::default(),
            rate_limits: blob::RateLimits::default(),
            access: blob::Access::default(),
            idle: blob::IdleTimeouts::default(),
            connect_timeouts: std::collections::BTreeMap::new(),
            attachments: Vec::new(),
            status: crate::status::StatusReport::default(),
            diagnostics: Diagnostics::new(),
            gateway: index,
        };
        Ok(TableBuilder {
            refs,
            out,
            listener_ids,
            backend_ids: BTreeMap::new(),
        })
    }

    /// Adds an attached route with its hostnames per listener index.
    pub fn add_route(
        &mut self,
        route: RouteRef<'_>,
        hosts_by_listener: &HostsByListener,
        diagnostics: &mut Diagnostics,
    ) -> Result<(), TooMany> {
        let entry = ResolvedRoute {
            route: blob::Route {
                kind: match route {
                    RouteRef::Http(_) => RouteKind::Http,
                    RouteRef::Grpc(_) => RouteKind::Grpc,
                },
                namespace: route.namespace().to_owned(),
                name: route.name().to_owned(),
                source: route.blob_source(),
            },
            created: route.created().map(str::to_owned),
        };
        let route_id = ids::push(&mut self.out.routes, entry, RouteId::from_index, "routes")?;
        for (l, hosts) in hosts_by_listener {
            if let Some(&listener) = self.listener_ids.get(l) {
                self.out.attachments.push(Attachment {
                    listener,
                    route: route_id,
                    hosts: hosts.clone(),
                });
            }
        }
        match route {
            RouteRef::Http(r) => {
                for (index, rule) in r.spec.rules.iter().enumerate() {
                    self.add_http_rule(route, route_id, index, rule, diagnostics)?;
                }
            }
            RouteRef::Grpc(r) => {
                for (index, rule) in r.spec.rules.iter().enumerate() {
                    self.add_grpc_rule(route, route_id, index, rule, diagnostics)?;
                }
            }
        }
        Ok(())
    }

    /// The table so far, without rate limits.
    pub fn finish(self) -> Resolved {
        self.out
    }

    fn regex(&mut self, pattern: &str) -> Result<RegexId, TooMany> {
        self.out.regexes.id(pattern)
    }

    fn string_match(&mut self, m: &valid::StringMatch) -> Result<StringMatch, TooMany> {
        Ok(match m {
            valid::StringMatch::Exact(v) => StringMatch::Exact(v.clone()),
            valid::StringMatch::RegularExpression(p) => StringMatch::Regex(self.regex(p)?),
        })
    }

    fn backend(&mut self, key: BackendKey) -> Result<BackendId, TooMany> {
        if let Some(&id) = self.backend_ids.get(&key) {
            return Ok(id);
        }
        let backend = blob::Backend {
            cluster: self
                .refs
                .template
                .render(&key.namespace, &key.name, key.port),
            namespace: key.namespace.clone(),
            name: key.name.clone(),
            port: key.port,
        };
        let id = ids::push(
            &mut self.out.backends,
            backend,
            BackendId::from_index,
            "backends",
        )?;
        self.backend_ids.insert(key, id);
        Ok(id)
    }

    /// The backend `r` names, `None` when the reference is invalid (its share answers 500).
    fn resolve(
        &mut self,
        kind: Kind,
        ns: &str,
        r: &valid::BackendRef,
    ) -> Result<Option<BackendId>, TooMany> {
        match self.refs.check(kind, ns, r) {
            Ok(key) => self.backend(key).map(Some),
            Err(_) => Ok(None),
        }
    }

    /// The id the next rule gets; its matches carry it before the rule is added.
    fn next_rule(&self) -> Result<RuleId, TooMany> {
        RuleId::from_index(self.out.rules.len()).ok_or(TooMany("rules"))
    }

    fn header_matches(
        &mut self,
        list: &[valid::HeaderMatch],
        lowercase: bool,
    ) -> Result<Vec<(String, StringMatch)>, TooMany> {
        list.iter()
            .map(|h| {
                let name = if lowercase {
                    h.name.to_ascii_lowercase()
                } else {
                    h.name.clone()
                };
                Ok((name, self.string_match(&h.value)?))
            })
            .collect()
    }

    fn add_http_rule(
        &mut self,
        route: RouteRef<'_>,
        route_id: RouteId,
        index: usize,
        rule: &valid::HttpRule,
        diagnostics: &mut Diagnostics,
    ) -> Result<(), TooMany> {
        let rule_id = self.next_rule()?;
        let prefix = match rule.matches.as_slice() {
            [HttpMatch {
                path: PathMatch::PathPrefix(p),
                ..
            }] => Some(trim_prefix(p)),
            _ => None,
        };
        let ns = route.namespace();
        let core = self.rule_core(
            Kind::HttpRoute,
            ns,
            &rule.filters,
            &rule.backends,
            |this, list, unsupported| this.http_filters(list, ns, prefix.as_deref(), unsupported),
        )?;
        if rule.retry.as_ref().is_some_and(|r| r.backoff.is_some()) {
            diagnostics.push(rule_warning(route, index, "sets retry.backoff, which Envoy's router headers cannot carry: retries use Envoy's default backoff (25 ms base)"));
        }
        let matches = rule
            .matches
            .iter()
            .map(|m| {
                let path = match &m.path {
                    PathMatch::Exact(v) => blob::PathMatch::Exact(v.clone()),
                    PathMatch::PathPrefix(v) => blob::PathMatch::Prefix(trim_prefix(v)),
                    PathMatch::RegularExpression(p) => blob::PathMatch::Regex(self.regex(p)?),
                };
                let headers = self
                    .header_matches(&m.headers, true)?
                    .into_iter()
                    .map(|(name, value)| blob::HeaderMatch { name, value })
                    .collect();
                let query = self
                    .header_matches(&m.query_params, false)?
                    .into_iter()
                    .map(|(name, value)| blob::QueryMatch { name, value })
                    .collect();
                Ok(blob::Match {
                    rule: rule_id,
                    path,
                    method: m.method.map(|x| method_name(x).to_owned()),
                    headers,
                    query,
                })
            })
            .collect::<Result<_, _>>()?;
        let parts = RuleParts {
            name: rule.name.clone(),
            retry: rule.retry.as_ref().map(|r| {
                Box::new(blob::Retry {
                    codes: r.codes.clone(),
                    attempts: r.attempts,
                })
            }),
            timeouts: blob::Timeouts {
                request_ms: rule.timeouts.request.map(|d| d.as_millis() as u64),
                backend_request_ms: rule.timeouts.backend_request.map(|d| d.as_millis() as u64),
            },
            matches,
            unsupported: "uses a filter gatewasm cannot run (ExternalAuth, an ExtensionRef other than an Envoy Gateway HTTPRouteFilter the input holds, two path rewrites or two redirects); the rule answers 500",
        };
        self.finish_rule(route, route_id, index, core, parts, diagnostics);
        Ok(())
    }

    fn add_grpc_rule(
        &mut self,
        route: RouteRef<'_>,
        route_id: RouteId,
        index: usize,
        rule: &valid::GrpcRule,
        diagnostics: &mut Diagnostics,
    ) -> Result<(), TooMany> {
        let rule_id = self.next_rule()?;
        let ns = route.namespace();
        let core = self.rule_core(
            Kind::GrpcRoute,
            ns,
            &rule.filters,
            &rule.backends,
            |this, list, unsupported| this.grpc_filters(list, ns, unsupported),
        )?;
        let any = [valid::GrpcMatch {
            method: None,
            headers: Vec::new(),
        }];
        let list = if rule.matches.is_empty() {
            &any[..]
        } else {
            &rule.matches[..]
        };
        let matches = list
            .iter()
            .map(|m| {
                let (service, method) = match &m.method {
                    None => (None, None),
                    Some(mm) => {
                        let part = |this: &mut Self, v: &Option<String>| {
                            v.as_ref()
                                .map(|v| {
                                    Ok(match mm.r#type {
                                        StringMatchType::Exact => StringMatch::Exact(v.clone()),
                                        StringMatchType::RegularExpression => {
                                            StringMatch::Regex(this.regex(v)?)
                                        }
                                    })
                                })
                                .transpose()
                        };
                        (part(self, &mm.service)?, part(self, &mm.method)?)
                    }
                };
                let headers = self
                    .header_matches(&m.headers, true)?
                    .into_iter()
                    .map(|(name, value)| blob::HeaderMatch { name, value })
                    .collect();
                Ok(blob::Match {
                    rule: rule_id,
                    path: blob::PathMatch::Grpc { service, method },
                    method: None,
                    headers,
                    query: Vec::new(),
                })
            })
            .collect::<Result<_, TooMany>>()?;
        let parts = RuleParts {
            name: rule.name.clone(),
            retry: None,
            timeouts: blob::Timeouts::default(),
            matches,
            unsupported: "uses an ExtensionRef filter gatewasm cannot run; the rule answers 500",
        };
        self.finish_rule(route, route_id, index, core, parts, diagnostics);
        Ok(())
    }

    /// What HTTP and gRPC rules build alike: the rule's filters and its weighted backends.
    /// `filters` turns a filter list into the blob's, flagging one gatewasm cannot run; a
    /// backend whose own filters cannot run gets no Service (its share answers 500).
    fn rule_core<F>(
        &mut self,
        kind: Kind,
        ns: &str,
        rule_filters: &[F],
        refs: &[valid::WeightedBackend<F>],
        mut filters: impl FnMut(&mut Self, &[F], &mut bool) -> Result<blob::Filters, TooMany>,
    ) -> Result<RuleCore, TooMany> {
        let mut unsupported = false;
        let rule_filters = filters(self, rule_filters, &mut unsupported)?;
        let mut backends = Vec::with_capacity(refs.len());
        for b in refs {
            let mut backend_unsupported = false;
            let own = filters(self, &b.filters, &mut backend_unsupported)?;
            let backend = if backend_unsupported {
                None
            } else {
                self.resolve(kind, ns, &b.backend)?
            };
            backends.push(blob::WeightedBackend {
                weight: b.weight,
                backend,
                filters: own.into(),
            });
        }
        Ok(RuleCore {
            filters: rule_filters,
            backends,
            unsupported,
        })
    }

    /// Adds the rule; one whose filters gatewasm cannot run keeps no backends (it answers
    /// 500) and gets the warning `parts.unsupported`.
    fn finish_rule(
        &mut self,
        route: RouteRef<'_>,
        route_id: RouteId,
        index: usize,
        core: RuleCore,
        parts: RuleParts,
        diagnostics: &mut Diagnostics,
    ) {
        let (mut backends, mut filters) = (core.backends, core.filters);
        if core.unsupported {
            // Nothing of the rule runs, not even a redirect among its filters: it answers 500.
            diagnostics.push(rule_warning(route, index, parts.unsupported));
            backends.clear();
            filters = blob::Filters::default();
        }
        self.out.rules.push(ResolvedRule {
            rule: blob::Rule {
                route: route_id,
                index: index as u16,
                name: parts.name,
                filters: filters.into(),
                backends,
                retry: parts.retry,
                timeouts: parts.timeouts.into(),
            },
            matches: parts.matches,
            source: route.rule_source(index),
        });
    }

    fn mirror(&mut self, kind: Kind, ns: &str, m: &Mirror) -> Result<blob::Mirror, TooMany> {
        Ok(blob::Mirror {
            backend: self.resolve(kind, ns, &m.backend)?,
            numerator: m.fraction.numerator,
            denominator: m.fraction.denominator,
        })
    }

    fn http_filters(
        &mut self,
        list: &[HttpFilter],
        ns: &str,
        prefix: Option<&str>,
        unsupported: &mut bool,
    ) -> Result<blob::Filters, TooMany> {
        let mut out = blob::Filters::default();
        for f in list {
            match f {
                HttpFilter::RequestHeaderModifier(m) => {
                    out.request_headers = Some(Box::new(modifier(m)))
                }
                HttpFilter::ResponseHeaderModifier(m) => {
                    out.response_headers = Some(Box::new(modifier(m)))
                }
                HttpFilter::RequestMirror(m) => {
                    let mirror = self.mirror(Kind::HttpRoute, ns, m)?;
                    out.mirrors.push(mirror);
                }
                HttpFilter::RequestRedirect(r) => {
                    *unsupported |= out.redirect.is_some();
                    out.redirect = Some(Box::new(blob::Redirect {
                        scheme: r.scheme.map(|s| match s {
                            RedirectScheme::Http => "http".to_owned(),
                            RedirectScheme::Https => "https".to_owned(),
                        }),
                        hostname: r.hostname.clone(),
                        port: r.port,
                        path: r.path.as_ref().map(|p| path_modifier(p, prefix)),
                        status: r.status_code,
                    }));
                }
                HttpFilter::UrlRewrite(r) => {
                    let path = r.path.as_ref().map(|p| path_modifier(p, prefix));
                    let rewrite = rewrite(&mut out, path, unsupported);
                    rewrite.hostname = r.hostname.clone();
                }
                HttpFilter::Cors(c) => {
                    out.cors = Some(Box::new(blob::Cors {
                        allow_origins: c.allow_origins.clone(),
                        allow_methods: c.allow_methods.clone(),
                        allow_headers: c.allow_headers.clone(),
                        expose_headers: c.expose_headers.clone(),
                        max_age: c.max_age,
                        allow_credentials: c.allow_credentials,
                    }));
                }
                HttpFilter::ExtensionRef(e) => match self.refs.route_filter(ns, e) {
                    Some(f) => {
                        if let Some(r) = &f.path {
                            let path = blob::PathModifier::Regex {
                                regex: self.regex(&r.pattern)?,
                                substitution: r.substitution.clone(),
                            };
                            rewrite(&mut out, Some(path), unsupported);
                        }
                        if let Some(r) = &f.redirect {
                            *unsupported |= out.redirect.is_some();
                            out.redirect = Some(Box::new(blob::Redirect {
                                scheme: None,
                                hostname: None,
                                port: None,
                                path: Some(blob::PathModifier::Location(r.location.clone())),
                                status: r.status,
                            }));
                        }
                    }
                    None => *unsupported = true,
                },
                HttpFilter::ExternalAuth(_) => *unsupported = true,
            }
        }
        Ok(out)
    }

    fn grpc_filters(
        &mut self,
        list: &[GrpcFilter],
        ns: &str,
        unsupported: &mut bool,
    ) -> Result<blob::Filters, TooMany> {
        let mut out = blob::Filters::default();
        for f in list {
            match f {
                GrpcFilter::RequestHeaderModifier(m) => {
                    out.request_headers = Some(Box::new(modifier(m)))
                }
                GrpcFilter::ResponseHeaderModifier(m) => {
                    out.response_headers = Some(Box::new(modifier(m)))
                }
                GrpcFilter::RequestMirror(m) => {
                    let mirror = self.mirror(Kind::GrpcRoute, ns, m)?;
                    out.mirrors.push(mirror);
                }
                GrpcFilter::ExtensionRef(_) => *unsupported = true,
            }
        }
        Ok(out)
    }
}

/// A rule's filters and backends, built the same way for HTTP and gRPC.
struct RuleCore {
    filters: blob::Filters,
    backends: Vec<blob::WeightedBackend>,
    /// A filter of the rule itself cannot run.
    unsupported: bool,
}

/// The rest of a rule, which HTTP and gRPC build differently.
struct RuleParts {
    name: Option<String>,
    retry: Option<Box<blob::Retry>>,
    timeouts: blob::Timeouts,
    matches: Vec<blob::Match>,
    /// The warning when a filter of the rule cannot run.
    unsupported: &'static str,
}

/// The filters' URL rewrite, made on first use, taking `path` when there is one: a URLRewrite
/// and an HTTPRouteFilter may share a rule (one the hostname, the other the path), but two
/// path rewrites cannot both happen, so the rule is flagged as one gatewasm cannot run.
fn rewrite<'f>(
    out: &'f mut blob::Filters,
    path: Option<blob::PathModifier>,
    unsupported: &mut bool,
) -> &'f mut blob::Rewrite {
    let rewrite = out.rewrite.get_or_insert_with(|| {
        Box::new(blob::Rewrite {
            hostname: None,
            path: None,
        })
    });
    if path.is_some() {
        *unsupported |= rewrite.path.is_some();
        rewrite.path = path;
    }
    rewrite
}

fn rule_warning(route: RouteRef<'_>, index: usize, message: &str) -> Diagnostic {
    route.diagnostic(
        Severity::Warning(Warning::UnsupportedFeature),
        &format!("spec.rules[{index}]"),
        message,
    )
}

/// PathPrefix values are compared segment-wise with the trailing slash ignored.
fn trim_prefix(p: &str) -> String {
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        "/".to_owned()
    } else {
        t.to_owned()
    }
}

fn modifier(m: &HeaderModifier) -> blob::HeaderModifier {
    blob::HeaderModifier {
        set: m
            .set
            .iter()
            .map(|h| (h.name.to_ascii_lowercase(), h.value.clone()))
            .collect(),
        add: m
            .add
            .iter()
            .map(|h| (h.name.to_ascii_lowercase(), h.value.clone()))
            .collect(),
        remove: m.remove.iter().map(|n| n.to_ascii_lowercase()).collect(),
    }
}

fn path_modifier(p: &PathModifier, prefix: Option<&str>) -> blob::PathModifier {
    match p {
        PathModifier::ReplaceFullPath(v) => blob::PathModifier::Full(v.clone()),
        PathModifier::ReplacePrefixMatch(v) => blob::PathModifier::Prefix {
            // validate guarantees the rule has exactly one PathPrefix match.
            matched: prefix.unwrap_or("/").to_owned(),
            replacement: v.clone(),
        },
    }
}

fn method_name(m: HttpMethod) -> &'static str {
    match m {
        HttpMethod::Get => "GET",
        HttpMethod::Head => "HEAD",
        HttpMethod::Post => "POST",
        HttpMethod::Put => "PUT",
        HttpMethod::Delete => "DELETE",
        HttpMethod::Connect => "CONNECT",
        HttpMethod::Options => "OPTIONS",
        HttpMethod::Trace => "TRACE",
        HttpMethod::Patch => "PATCH",
    }
}
