//! Which Ingresses ingress-nginx would serve, and under which class.

use std::collections::BTreeMap;

use super::at;
use crate::diag::{Diagnostic, Severity};
use crate::load::Loaded;
use crate::model::{Body, IngressSpec, Kind, Object};
use crate::warning::Warning;

/// The controller name of ingress-nginx's IngressClasses.
pub const NGINX_CONTROLLER: &str = "k8s.io/ingress-nginx";

/// ingress-nginx's own class name (`--ingress-class`), served even when its IngressClass is
/// not among the manifests (it ships with the controller).
const NGINX_CLASS: &str = "nginx";

/// The annotation that named an Ingress's class before `spec.ingressClassName`.
const CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";

/// The annotation that makes an IngressClass the default for Ingresses that name none.
const DEFAULT_ANNOTATION: &str = "ingressclass.kubernetes.io/is-default-class";

/// The input's IngressClasses: name → controller, and the default class.
pub struct Classes {
    controllers: BTreeMap<String, String>,
    default: Option<String>,
}

impl Classes {
    pub fn new(loaded: &Loaded) -> Classes {
        let mut controllers = BTreeMap::new();
        let mut default = None;
        for object in loaded.of_kind(Kind::IngressClass) {
            let Body::IngressClass(spec) = &object.body else {
                continue;
            };
            let controller = spec.controller.clone().unwrap_or_default();
            let is_default = object
                .meta
                .annotations
                .get(DEFAULT_ANNOTATION)
                .is_some_and(|v| v == "true");
            if is_default && default.is_none() {
                default = Some(object.meta.name.clone());
            }
            controllers.insert(object.meta.name.clone(), controller);
        }
        Classes {
            controllers,
            default,
        }
    }

    /// The ingress-nginx class that serves the Ingress `object`, or why none does (a note
    /// for another controller's class, a warning for a class that is nowhere).
    pub fn serving(&self, object: &Object, spec: &IngressSpec) -> Result<String, Box<Diagnostic>> {
        let (name, field) = match (
            &spec.ingress_class_name,
            object.meta.annotations.get(CLASS_ANNOTATION),
        ) {
            (Some(name), _) => (name.clone(), "spec.ingressClassName"),
            // ingress-nginx reads the annotation only for its own `--ingress-class`.
            (None, Some(name)) if name == NGINX_CLASS => return Ok(name.clone()),
            (None, Some(name)) => {
                return Err(Box::new(at(
                    object,
                    Severity::Note,
                    "metadata.annotations",
                    format!("kubernetes.io/ingress.class is {name}: ingress-nginx serves the annotation only for its own class, {NGINX_CLASS}; skipped"),
                )))
            }
            // The API server's admission fills in the default class when the Ingress is
            // created; ingress-nginx itself never reads the default annotation.
            (None, None) => match &self.default {
                Some(name) => (name.clone(), "spec"),
                None => {
                    return Err(Box::new(at(
                        object,
                        Severity::Note,
                        "spec",
                        "no ingressClassName, no kubernetes.io/ingress.class annotation and no default IngressClass: ingress-nginx does not serve it (unless started with --watch-ingress-without-class); skipped",
                    )))
                }
            },
        };
        match self.controllers.get(&name) {
            Some(controller) if controller == NGINX_CONTROLLER => Ok(name),
            Some(controller) => Err(Box::new(at(
                object,
                Severity::Note,
                field,
                format!("class {name} belongs to controller {controller}, not ingress-nginx ({NGINX_CONTROLLER}); skipped"),
            ))),
            None if name == NGINX_CLASS => Ok(name),
            None => Err(Box::new(at(
                object,
                Severity::Warning(Warning::UnknownGatewayClass),
                field,
                format!("IngressClass {name} is not in the input, and only ingress-nginx's classes are converted; skipped"),
            )
            .with_help(format!(
                "add the IngressClass {name} with controller {NGINX_CONTROLLER}, or use class {NGINX_CLASS}"
            )))),
        }
    }
}
