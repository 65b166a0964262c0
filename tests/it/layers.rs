//! The modules depend on each other as docs/DESIGN.md §8 draws them: read from the sources, every
//! `crate::<module>` a module names must be allowed for it, `src/http` never names `sqlx`, and no two
//! modules import each other (directly or through others).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What each module may import (`crate::…`), as DESIGN.md §8 lists it.
const ALLOWED: &[(&str, &[&str])] = &[
    ("domain", &["closed_set"]),
    ("geo", &["domain"]),
    ("store", &["domain", "geo"]),
    ("map", &["domain", "geo", "store"]),
    ("import", &["domain", "geo", "store"]),
    ("export", &["geo", "import", "store"]),
    ("seed", &["domain", "store"]),
    ("signing", &[]),
    ("document", &[]),
    ("http", &["domain", "geo", "store", "map", "import", "export", "signing", "document"]),
    ("accounts", &["domain", "store", "config", "telemetry"]),
    ("telemetry", &[]),
    ("config", &["http", "map"]),
    (
        "cli",
        &[
            "config",
            "accounts",
            "http",
            "import",
            "export",
            "seed",
            "store",
            "map",
            "geo",
            "telemetry",
            "domain",
            "signing",
        ],
    ),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`src/http/mod.rs` → `http`, `src/cli.rs` → `cli`).
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next().unwrap().as_os_str().to_string_lossy().to_string();
    first.trim_end_matches(".rs").to_string()
}

/// Every `crate::<name>` in the code of `text` (comments, which may name any module, aside).
fn crate_paths(text: &str) -> BTreeSet<String> {
    let code: String = text.lines().filter(|l| !l.trim_start().starts_with("//")).map(|l| format!("{l}\n")).collect();
    let mut names = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        // `$crate::` in a macro is the crate itself, by another spelling.
        let name: String =
            code[i + "crate::".len()..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if !name.is_empty() {
            names.insert(name);
        }
    }
    names
}

#[test]
fn modules_import_only_what_the_design_allows_and_never_in_a_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        let Some(may) = allowed.get(module.as_str()) else {
            wrong.push(format!("{}: module {module} is not in the table of DESIGN.md §8", file.display()));
            continue;
        };
        for name in crate_paths(&text) {
            if name != module && !may.contains(&name.as_str()) {
                wrong.push(format!("{}: {module} imports crate::{name}", file.display()));
            }
            if name != module {
                graph.entry(module.clone()).or_default().insert(name);
            }
        }
        if module == "http" && text.contains("sqlx::") {
            wrong.push(format!("{}: names sqlx", file.display()));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    if let Some(cycle) = cycle(&graph) {
        panic!("import cycle: {cycle}");
    }
}

/// A cycle of `graph` (`a -> b -> a`), found by a depth-first walk that meets a module on its own path.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<String> {
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<String> {
        if let Some(at) = path.iter().position(|p| p == m) {
            return Some(format!("{} -> {m}", path[at..].join(" -> ")));
        }
        if !done.insert(m.to_string()) {
            return None;
        }
        path.push(m.to_string());
        for next in graph.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|m| visit(m, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_checks_find_a_forbidden_import_and_a_cycle() {
    assert_eq!(
        crate_paths("use crate::http::Error; $crate::domain::x"),
        BTreeSet::from(["domain".into(), "http".into()])
    );
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    for lower in ["domain", "geo", "store", "map", "import", "seed"] {
        assert!(!allowed[lower].contains(&"http"), "the table must forbid {lower} → http");
    }
    let graph = |edges: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            g.entry((*a).to_string()).or_default().insert((*b).to_string());
        }
        g
    };
    assert_eq!(cycle(&graph(&[("a", "b"), ("b", "c"), ("a", "c")])), None);
    assert_eq!(cycle(&graph(&[("a", "b"), ("b", "c"), ("c", "b")])).as_deref(), Some("b -> c -> b"));
}
