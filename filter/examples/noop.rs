//! A proxy-wasm filter that decides nothing: the floor of any wasm filter in Envoy, which
//! `scripts/bench --envoy` measures beside gatewasm. Its plugin configuration is one header,
//! `name: value`, set on every request: the benchmark names the cluster header the emitted
//! catch-all route forwards on and one cluster (the least a routing filter must do). Nothing
//! else happens. It does not link the filter crate, whose own proxy-wasm entry points would
//! clash with these.
//!
//! Built for `wasm32-wasip1` by `scripts/build-wasm --noop`; on other targets it is empty.

#[cfg(all(target_arch = "wasm32", target_os = "wasi"))]
mod noop {
    use std::rc::Rc;

    use proxy_wasm::hostcalls;
    use proxy_wasm::traits::{Context, HttpContext, RootContext};
    use proxy_wasm::types::{Action, BufferType, ContextType, MapType};

    proxy_wasm::main! {{
        proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::<Root>::default() });
    }}

    /// The header every request gets.
    #[derive(Default)]
    struct Root {
        header: Rc<(String, String)>,
    }

    impl Context for Root {}

    impl RootContext for Root {
        fn on_configure(&mut self, _size: usize) -> bool {
            let bytes = hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX);
            let text =
                String::from_utf8_lossy(&bytes.ok().flatten().unwrap_or_default()).into_owned();
            let Some((name, value)) = text.split_once(':') else {
                return false;
            };
            self.header = Rc::new((name.trim().to_owned(), value.trim().to_owned()));
            true
        }

        fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
            Some(Box::new(Stream {
                header: Rc::clone(&self.header),
            }))
        }

        fn get_type(&self) -> Option<ContextType> {
            Some(ContextType::HttpContext)
        }
    }

    struct Stream {
        header: Rc<(String, String)>,
    }

    impl Context for Stream {}

    impl HttpContext for Stream {
        fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
            // A refused header leaves the request without a cluster: Envoy answers 404,
            // which the benchmark counts as a failure.
            let (name, value) = &*self.header;
            let _ = hostcalls::set_map_value(MapType::HttpRequestHeaders, name, Some(value));
            Action::Continue
        }
    }
}
