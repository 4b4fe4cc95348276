//! Where the library's `tracing` events go when OneLead runs as the command-line tool: stderr,
//! one line each, and only what was asked for. Timings (targets `timing`, `memo`, `leads`) are
//! off unless `ONELEAD_TIMINGS` is set; `ONELEAD_LOG` takes any `target=level` list
//! (`timing=info,onelead=debug`); warnings print as `note: …` either way. What rules say with
//! `print` and `debug` (target `rules`) is on: whoever put it in a rule wants to see it
//! (`ONELEAD_LOG=rules=off` silences it).

use std::fmt::Write as _;
use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// The targets of the timings `ONELEAD_TIMINGS` turns on (`benches/scale.sh` reads them).
const TIMINGS: [&str; 3] = ["timing", "memo", "leads"];

/// The target of the rules' `print` (info) and `debug` (debug) output (`rules::engine`).
const RULES: &str = "rules";

/// Installs the stderr logger for this process, as the environment asks. Does nothing if a
/// logger is installed already (a program embedding the library brings its own).
pub fn init() {
    let mut filter = Targets::new()
        .with_default(LevelFilter::WARN)
        .with_target(RULES, LevelFilter::DEBUG);
    if std::env::var_os("ONELEAD_TIMINGS").is_some() {
        for target in TIMINGS {
            filter = filter.with_target(target, LevelFilter::INFO);
        }
    }
    if let Some(spec) = std::env::var("ONELEAD_LOG").ok().filter(|s| !s.is_empty()) {
        match spec.parse::<Targets>() {
            Ok(asked) => {
                for (target, level) in &asked {
                    filter = filter.with_target(target, level);
                }
                if let Some(level) = asked.default_level() {
                    filter = filter.with_default(level);
                }
            }
            Err(e) => eprintln!("note: `ONELEAD_LOG` is not a `target=level` list ({e})"),
        }
    }
    let subscriber = tracing_subscriber::registry().with(Lines.with_filter(filter));
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// Prints each event as one line: `timing: evaluate-rules 1.234s 1000` for the timings (the
/// form scripts read), `note: …` for warnings, `rules: …` for what rules print, `<level>:
/// <target>: …` otherwise.
struct Lines;

impl<S: Subscriber> Layer<S> for Lines {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let meta = event.metadata();
        let mut message = Message(String::new());
        event.record(&mut message);
        let line = if *meta.level() == Level::WARN {
            format!("note: {}", message.0)
        } else if TIMINGS.contains(&meta.target()) || meta.target() == RULES {
            format!("{}: {}", meta.target(), message.0)
        } else {
            let level = meta.level().as_str().to_lowercase();
            format!("{level}: {}: {}", meta.target(), message.0)
        };
        // Nothing useful can be done if stderr is gone.
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
}

/// An event's message and fields as one line of text.
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}
