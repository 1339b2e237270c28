//! `proxy-read-timeout` and `proxy-send-timeout`: the longest pause, in whole seconds, between
//! two reads from the backend and between two writes to it, after which nginx gives up (504
//! when nothing was answered yet; docs/ingress-nginx-behaviour.md §12.1). Envoy has one such
//! timeout for a stream, in both directions: a route's idle timeout, which an Envoy Gateway
//! BackendTrafficPolicy sets with `timeout.http.streamIdleTimeout`. It gets the longer of the
//! two, so neither direction is cut sooner than nginx would cut it.
//!
//! An Ingress that sets neither keeps Envoy's stream idle timeout (5 minutes), not nginx's
//! default of 60 seconds: gatewasm sees no controller ConfigMap, where that default is often
//! raised, and waiting longer than nginx never breaks a request nginx served.

use serde_json::{json, Value};

use super::annotations::PREFIX;
use super::settings::{unread, value};
use super::at;
use crate::diag::{Diagnostics, Severity};
use crate::source::join_key;
use crate::model::Object;

/// The annotations read here, without the prefix: carried out, so not warned about.
pub const ANNOTATIONS: [&str; 2] = ["proxy-read-timeout", "proxy-send-timeout"];

/// An Ingress's idle timeout: seconds, and the annotation it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Idle {
    seconds: u32,
    annotation: &'static str,
}

/// The idle timeout `object` asks for, if any. A value that is not a positive whole number
/// of seconds is a warning, as ingress-nginx falls back to its default for it.
pub fn read(object: &Object, diagnostics: &mut Diagnostics) -> Option<Idle> {
    let mut longest: Option<Idle> = None;
    for annotation in ANNOTATIONS {
        let Some(text) = value(object, annotation) else {
            continue;
        };
        match text.parse::<u32>() {
            Ok(seconds) if seconds > 0 => {
                if longest.is_none_or(|l| seconds > l.seconds) {
                    longest = Some(Idle {
                        seconds,
                        annotation,
                    });
                }
            }
            _ => diagnostics.push(unread(object, annotation, format!(
                "{PREFIX}{annotation} {text} is not a whole number of seconds above 0: ingress-nginx uses its default (60) instead; gatewasm sets no timeout for it"
            ))),
        }
    }
    if let Some(idle) = longest {
        let field = join_key("metadata.annotations", &format!("{PREFIX}{}", idle.annotation));
        diagnostics.push(at(object, Severity::Note, &field, format!(
            "carried out as a stream idle timeout of {} s: Envoy has one for both directions, the client's side included, where nginx times reads and writes to the backend apart",
            idle.seconds
        )));
    }
    longest
}

impl Idle {
    /// The annotation the timeout stands for, without the prefix.
    pub fn annotation(&self) -> &'static str {
        self.annotation
    }

    /// The BackendTrafficPolicy `timeout` that carries it.
    pub fn timeout(&self) -> Value {
        json!({"http": {"streamIdleTimeout": format!("{}s", self.seconds)}})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ingress(annotations: &[(&str, &str)]) -> Object {
        let mut yaml = String::from(
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: web\n  namespace: app\n  annotations:\n",
        );
        for (name, value) in annotations {
            yaml.push_str(&format!("    {PREFIX}{name}: \"{value}\"\n"));
        }
        yaml.push_str("spec: {}\n");
        let loaded = crate::load::load_str("i.yaml", &yaml).expect("loads");
        loaded.objects.into_iter().next().expect("one object")
    }

    #[test]
    fn the_longer_of_read_and_send_is_the_idle_timeout() {
        let mut d = Diagnostics::new();
        let both = ingress(&[("proxy-read-timeout", "300"), ("proxy-send-timeout", "120")]);
        let idle = read(&both, &mut d).expect("a timeout");
        assert_eq!(idle.annotation(), "proxy-read-timeout");
        assert_eq!(idle.timeout(), json!({"http": {"streamIdleTimeout": "300s"}}));
        let send = ingress(&[("proxy-send-timeout", "90")]);
        assert_eq!(read(&send, &mut d).map(|i| i.annotation()), Some("proxy-send-timeout"));
        // One note each, on what changes meaning.
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn a_value_nginx_refuses_is_a_warning_and_no_timeout() {
        for bad in ["5s", "0", "-1", "1.5"] {
            let mut d = Diagnostics::new();
            assert_eq!(read(&ingress(&[("proxy-read-timeout", bad)]), &mut d), None, "{bad}");
            assert_eq!(d.len(), 1, "{bad}");
        }
    }
}
