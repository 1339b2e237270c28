//! `proxy-connect-timeout`: how long a connection to the backend may take to set up, in whole
//! seconds, which an Envoy Gateway BackendTrafficPolicy sets with `timeout.tcp.
//! connectTimeout` (nginx caps it at 75 s, and so does gatewasm).
//!
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
use super::at;
use super::settings::{unread, value};
use crate::diag::{Diagnostics, Severity};
use crate::model::Object;
use crate::source::join_key;

/// The annotations read here, without the prefix: carried out, so not warned about.
pub const ANNOTATIONS: [&str; 3] = [
    "proxy-read-timeout",
    "proxy-send-timeout",
    "proxy-connect-timeout",
];

/// nginx's longest connect timeout, in seconds.
const MAX_CONNECT: u32 = 75;

/// A timeout in seconds and the annotation it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Timeout {
    seconds: u32,
    annotation: &'static str,
}

/// An Ingress's timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    idle: Option<Timeout>,
    connect: Option<Timeout>,
}

/// The timeouts `object` asks for, if any. A value that is not a positive whole number of
/// seconds is a warning, as ingress-nginx falls back to its default for it.
pub fn read(object: &Object, diagnostics: &mut Diagnostics) -> Option<Timeouts> {
    let mut seconds = |annotation: &'static str| {
        let text = value(object, annotation)?;
        match text.parse::<u32>() {
            Ok(seconds) if seconds > 0 => Some(Timeout {
                seconds,
                annotation,
            }),
            _ => {
                diagnostics.push(unread(object, annotation, format!(
                    "{PREFIX}{annotation} {text} is not a whole number of seconds above 0: ingress-nginx uses its default instead; gatewasm sets no timeout for it"
                )));
                None
            }
        }
    };
    let read = seconds("proxy-read-timeout");
    let send = seconds("proxy-send-timeout");
    let connect = seconds("proxy-connect-timeout").map(|t| Timeout {
        seconds: t.seconds.min(MAX_CONNECT),
        ..t
    });
    let idle = match (read, send) {
        (Some(r), Some(s)) if s.seconds > r.seconds => Some(s),
        (r, s) => r.or(s),
    };
    if let Some(idle) = idle {
        let field = join_key(
            "metadata.annotations",
            &format!("{PREFIX}{}", idle.annotation),
        );
        diagnostics.push(at(object, Severity::Note, &field, format!(
            "carried out as a stream idle timeout of {} s: Envoy has one for both directions, the client's side included, where nginx times reads and writes to the backend apart",
            idle.seconds
        )));
    }
    (idle.is_some() || connect.is_some()).then_some(Timeouts { idle, connect })
}

impl Timeouts {
    /// The annotation the timeouts stand for, without the prefix.
    pub fn annotation(&self) -> &'static str {
        self.idle.or(self.connect).map_or("", |t| t.annotation)
    }

    /// The BackendTrafficPolicy `timeout` that carries them.
    pub fn timeout(&self) -> Value {
        let mut timeout = json!({});
        if let Some(idle) = self.idle {
            timeout["http"] = json!({"streamIdleTimeout": format!("{}s", idle.seconds)});
        }
        if let Some(connect) = self.connect {
            timeout["tcp"] = json!({"connectTimeout": format!("{}s", connect.seconds)});
        }
        timeout
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
        assert_eq!(
            idle.timeout(),
            json!({"http": {"streamIdleTimeout": "300s"}})
        );
        let connect = ingress(&[("proxy-connect-timeout", "90")]);
        let capped = read(&connect, &mut d).expect("a timeout");
        assert_eq!(capped.timeout(), json!({"tcp": {"connectTimeout": "75s"}}));
        let send = ingress(&[("proxy-send-timeout", "90")]);
        assert_eq!(
            read(&send, &mut d).map(|i| i.annotation()),
            Some("proxy-send-timeout")
        );
        // One note each, on what changes meaning.
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn a_value_nginx_refuses_is_a_warning_and_no_timeout() {
        for bad in ["5s", "0", "-1", "1.5"] {
            let mut d = Diagnostics::new();
            assert_eq!(
                read(&ingress(&[("proxy-read-timeout", bad)]), &mut d),
                None,
                "{bad}"
            );
            assert_eq!(d.len(), 1, "{bad}");
        }
    }
}
