//! What rules say with `print`, `debug` and `log` is a `tracing` event of target `rules`, not
//! text written to stderr behind the embedding program's back.

use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

use super::*;

/// `(level, target, message)` of every event.
type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

struct Collect(Seen);

struct Text(String);

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Collect {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut text = Text(String::new());
        event.record(&mut text);
        let meta = event.metadata();
        self.0
            .lock()
            .unwrap()
            .push((meta.level().to_string(), meta.target().to_string(), text.0));
    }
}

#[test]
fn print_debug_and_log_are_tracing_events_naming_where_they_came_from() {
    let s = Scratch::new();
    s.write(
        "triggers/t.rhai",
        "fn lead_type() { \"T\" }\nfn trigger(item, account, cfg) {\n    print(\"checking\");\n    debug(item.id);\n    log(\"odd row\");\n}\n",
    );
    let set = s.load().unwrap();
    let seen = Seen::default();
    let subscriber = tracing_subscriber::registry().with(Collect(seen.clone()));
    tracing::subscriber::with_default(subscriber, || {
        set.triggers(&item(&[("id", Dynamic::from_int(7))]), &account(&[]), &CTX)
            .unwrap();
    });
    let seen: Vec<(String, String, String)> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, target, _)| target == "rules")
        .map(|(l, t, m)| (l.clone(), t.clone(), s.tidy(m)))
        .collect();
    let own = |l: &str, m: &str| (l.to_string(), "rules".to_string(), m.to_string());
    assert_eq!(
        seen,
        [
            own("INFO", "checking"),
            own("DEBUG", "rules/triggers/t.rhai:4:5: 7"),
            own("WARN", "rules/triggers/t.rhai: odd row"),
        ]
    );
}
