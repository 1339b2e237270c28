//! Every warning the compiler gives, as a stable code and name: what a Gateway API
//! controller would write into a status condition, and what compiles but surprises.
//!
//! A warning is [`crate::diag::Severity::Warning`] with one of these, so no warning exists
//! without a code. Codes are never renumbered or reused: scripts match on them, and
//! `--allow CODE` names them. `docs/warnings.md` documents the same list in the same order; a
//! test keeps the two equal.

use std::fmt;

/// A warning's kind. The name is the controller's condition reason where there is one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Warning {
    /// A backendRef names a Service (or a port) that is not in the input.
    BackendNotFound,
    /// A backendRef crosses namespaces without a ReferenceGrant.
    RefNotPermitted,
    /// A backendRef names something other than a core Service.
    InvalidKind,
    /// A parentRef names a Gateway or a listener that does not exist.
    NoMatchingParent,
    /// The listeners a route names do not allow its kind or namespace.
    NotAllowedByListeners,
    /// A route hostname no listener serves.
    NoMatchingListenerHostname,
    /// A listener no route attaches to: it answers every request 404.
    UnattachedListener,
    /// A listener's certificate Secret is not known to exist.
    InvalidCertificateRef,
    /// A listener's protocol is one gatewasm does not route.
    UnsupportedProtocol,
    /// The Gateway's class is not the one gatewasm compiles for.
    UnknownGatewayClass,
    /// A policy's target is not in the input.
    PolicyTargetNotFound,
    /// A more specific policy replaces a less specific one on some routes.
    PolicyOverridden,
    /// Two policies of the same specificity target the same routes.
    PolicyConflict,
    /// A redirect answers a request with a Location that gets the same redirect again.
    RedirectLoop,
    /// A rule no request can reach.
    UnreachableRule,
    /// A filter or field the filter cannot carry out.
    UnsupportedFeature,
    /// A regular expression large enough to limit the values it runs on.
    RegexCost,
    /// Two header matches that name the same header in different case.
    DuplicateHeaderMatch,
    /// An object kind that looks like a misspelt compiled kind.
    UnknownKind,
    /// Global rate limits compiled with no rate limit service.
    RateLimitsNotEnforced,
    /// An ingress-nginx annotation gatewasm does not carry out.
    UnsupportedAnnotation,
}

impl Warning {
    /// Every warning, in code order.
    pub const ALL: [Warning; 21] = [
        Warning::BackendNotFound,
        Warning::RefNotPermitted,
        Warning::InvalidKind,
        Warning::NoMatchingParent,
        Warning::NotAllowedByListeners,
        Warning::NoMatchingListenerHostname,
        Warning::UnattachedListener,
        Warning::InvalidCertificateRef,
        Warning::UnsupportedProtocol,
        Warning::UnknownGatewayClass,
        Warning::PolicyTargetNotFound,
        Warning::PolicyOverridden,
        Warning::PolicyConflict,
        Warning::RedirectLoop,
        Warning::UnreachableRule,
        Warning::UnsupportedFeature,
        Warning::RegexCost,
        Warning::DuplicateHeaderMatch,
        Warning::UnknownKind,
        Warning::RateLimitsNotEnforced,
        Warning::UnsupportedAnnotation,
    ];

    /// `GW0001`, …: the position in [`Warning::ALL`], from 1.
    pub fn code(self) -> String {
        let n = Warning::ALL.iter().position(|w| *w == self).unwrap_or(0) + 1;
        format!("GW{n:04}")
    }

    /// The name, such as `BackendNotFound`.
    pub fn name(self) -> &'static str {
        match self {
            Warning::BackendNotFound => "BackendNotFound",
            Warning::RefNotPermitted => "RefNotPermitted",
            Warning::InvalidKind => "InvalidKind",
            Warning::NoMatchingParent => "NoMatchingParent",
            Warning::NotAllowedByListeners => "NotAllowedByListeners",
            Warning::NoMatchingListenerHostname => "NoMatchingListenerHostname",
            Warning::UnattachedListener => "UnattachedListener",
            Warning::InvalidCertificateRef => "InvalidCertificateRef",
            Warning::UnsupportedProtocol => "UnsupportedProtocol",
            Warning::UnknownGatewayClass => "UnknownGatewayClass",
            Warning::PolicyTargetNotFound => "PolicyTargetNotFound",
            Warning::PolicyOverridden => "PolicyOverridden",
            Warning::PolicyConflict => "PolicyConflict",
            Warning::RedirectLoop => "RedirectLoop",
            Warning::UnreachableRule => "UnreachableRule",
            Warning::UnsupportedFeature => "UnsupportedFeature",
            Warning::RegexCost => "RegexCost",
            Warning::DuplicateHeaderMatch => "DuplicateHeaderMatch",
            Warning::UnknownKind => "UnknownKind",
            Warning::RateLimitsNotEnforced => "RateLimitsNotEnforced",
            Warning::UnsupportedAnnotation => "UnsupportedAnnotation",
        }
    }

    /// The warning a code (`GW0001`) or a name (`BackendNotFound`) names, in any case.
    pub fn parse(text: &str) -> Option<Warning> {
        Warning::ALL
            .into_iter()
            .find(|w| text.eq_ignore_ascii_case(&w.code()) || text.eq_ignore_ascii_case(w.name()))
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code(), self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::Warning;

    #[test]
    fn codes_and_names_parse_back() {
        for w in Warning::ALL {
            assert_eq!(Warning::parse(&w.code()), Some(w));
            assert_eq!(Warning::parse(&w.name().to_ascii_lowercase()), Some(w));
        }
        assert_eq!(Warning::BackendNotFound.code(), "GW0001");
        assert_eq!(Warning::parse("GW0999"), None);
    }

    /// `docs/warnings.md` lists every warning, in code order, under its code and name.
    #[test]
    fn the_documented_table_is_the_list() {
        let doc = include_str!("../../docs/warnings.md");
        let rows: Vec<String> = doc
            .lines()
            .filter_map(|l| l.strip_prefix("| `GW"))
            .map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                format!("GW{} {}", cells[0].trim_end_matches('`'), cells[1])
            })
            .collect();
        let want: Vec<String> = Warning::ALL.iter().map(ToString::to_string).collect();
        assert_eq!(rows, want);
    }
}
