//! Any text → the compiler's load and compile pipeline, as `gatewasm compile` runs it (and the
//! route-test loader, for `resources:` files). Errors are expected; panics are bugs. What
//! compiles must also decode in the filter: a blob the compiler writes and the filter
//! refuses is a bug too, and fails here.
#![no_main]

use gatewasm::compile::compile;
use gatewasm::load;
use gatewasm::resolve::Options;
use gatewasm_filter::engine::Router;
use libfuzzer_sys::fuzz_target;

fn compile_and_decode(loaded: load::Loaded) {
    if let Ok(compiled) = compile(loaded, &Options::default()) {
        if let Err(e) = Router::from_blob(&compiled.blob) {
            panic!("the compiler wrote a blob the filter refuses: {e}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(loaded) = load::load_str("fuzz.yaml", text) {
        compile_and_decode(loaded);
    }
    if text.contains("resources") {
        if let Ok(objects) = load::load_route_test_resources("fuzz.yaml", text) {
            compile_and_decode(objects.resources);
        }
    }
});
