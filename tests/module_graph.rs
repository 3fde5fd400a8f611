//! The binary's modules depend on each other in one direction only: no module of `src/` reaches
//! back (through `crate::…`) into one that depends on it, and the formatters of `/status` and
//! `/metrics` never see the app. Read from the sources, so a new back-import fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

/// The top-level module a file of `src/` belongs to (`src/metrics/node_metrics.rs` → `metrics`).
fn top_module(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("under src/");
    let first = relative.components().next().expect("a path").as_os_str().to_string_lossy();
    first.trim_end_matches(".rs").to_owned()
}

/// `crate::NAME` mentioned in code (comments skipped), as module names.
fn crate_references(source: &str) -> BTreeSet<String> {
    let code = source.lines().filter(|line| !line.trim_start().starts_with("//"));
    let mut names = BTreeSet::new();
    for line in code {
        for (index, _) in line.match_indices("crate::") {
            let rest = &line[index + "crate::".len()..];
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                names.insert(name);
            }
        }
    }
    names
}

fn module_graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = Graph::new();
    for file in rust_files(&src) {
        let module = top_module(&src, &file);
        let source = std::fs::read_to_string(&file).expect("readable source");
        let uses = graph.entry(module.clone()).or_default();
        uses.extend(crate_references(&source).into_iter().filter(|name| *name != module));
    }
    graph
}

/// Every module `from` reaches, directly or not.
fn reachable(graph: &Graph, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_owned()];
    while let Some(module) = stack.pop() {
        for next in graph.get(&module).into_iter().flatten() {
            if seen.insert(next.clone()) {
                stack.push(next.clone());
            }
        }
    }
    seen
}

#[test]
fn no_module_of_src_reaches_back_into_itself() {
    let graph = module_graph();
    assert!(graph.contains_key("app") && graph.contains_key("state"), "graph read: {graph:?}");
    for module in graph.keys() {
        assert!(!reachable(&graph, module).contains(module), "{module} is on a cycle in {graph:#?}");
    }
}

#[test]
fn status_and_metrics_format_a_report_without_the_app() {
    let graph = module_graph();
    for formatter in ["status", "metrics", "state", "http_metrics", "error"] {
        let reached = reachable(&graph, formatter);
        for app_side in ["app", "routes", "serve"] {
            assert!(!reached.contains(app_side), "{formatter} reaches {app_side}: {graph:#?}");
        }
    }
    assert!(graph["http_metrics"].is_empty(), "http_metrics is a leaf: {:?}", graph["http_metrics"]);
    assert!(graph["error"].is_empty(), "error is a leaf: {:?}", graph["error"]);
}

#[test]
fn a_cycle_is_detected() {
    let mut graph = Graph::new();
    graph.entry("a".into()).or_default().insert("b".into());
    graph.entry("b".into()).or_default().insert("a".into());
    assert!(reachable(&graph, "a").contains("a"));
    let references = crate_references("use crate::state::AppState;\n// crate::app in a comment\n");
    assert_eq!(references, BTreeSet::from(["state".to_owned()]));
}
