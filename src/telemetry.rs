//! What the program tells its user: log lines on stderr (`RUST_LOG` filters, default `info`), and a
//! command's results on stdout ([`say`]).

use tracing_subscriber::EnvFilter;

/// Starts logging: text lines for people, or with `json` one JSON object a line (`--log-format json`):
/// `timestamp`, `level`, `message` and the event's fields at the top, `target`, and the request's span
/// (`method`, `uri`, `route`, `id`) under `span`.
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json {
        logs.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init()
    } else {
        logs.try_init()
    };
}

/// Prints a line of a command's result on standard output.
pub fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}
