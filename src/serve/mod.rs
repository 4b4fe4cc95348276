//! `onelead serve`: the lead desk in the browser and a JSON API, over the same library views the
//! command line prints.
//!
//! The shape follows axum's own examples: the [`router`] is built in one function, shared state
//! travels as `State<AppState>`, and each page or API resource is a small module whose handlers
//! extract, call one library function on a pooled connection (off the async threads) and
//! render. Pages are rendered on the server with maud; the only script is htmx, vendored and
//! served by the binary. Authentication and CSRF checks are layers around whole routers
//! ([`auth`]), so no route can forget them; each handler checks the role it needs.

mod accounts;
mod analytics;
mod api;
pub(crate) mod assets;
mod auth;
mod dashboard;
mod error;
mod filter;
mod html;
mod lead;
mod login;
mod owner;
mod queue;
mod state;
mod stream;
mod territories;
mod users;
mod views;

#[cfg(test)]
mod tests;

use std::net::SocketAddr;

use axum::Router;
use axum::routing::{get, post};

pub use error::AppError;
pub use state::AppState;

use crate::config::Config;
use crate::error::{Error, Result};

/// What `serve` needs to start.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The lead database (it must exist: `onelead run` makes it).
    pub db: crate::store::Location,
    /// The configuration (aging days, account name normalisation).
    pub cfg: Config,
}

/// Every route. Pages sit behind the session layer (cookie + CSRF), the API behind the bearer
/// layer; `/login`, `/healthz` and the static files need no credentials.
pub fn router(state: AppState) -> Router {
    let pages = Router::new()
        .route("/", get(dashboard::show))
        .route("/leads", get(queue::show))
        .route("/leads/reassign", post(owner::reassign))
        .route("/leads/{id}", get(lead::show))
        .route("/leads/{id}/status", post(lead::set_status))
        .route("/leads/{id}/owner", post(owner::set))
        .route("/accounts/{id}", get(accounts::show))
        .route("/territories", get(territories::show))
        .route("/analytics", get(analytics::show))
        .route("/views", post(views::save))
        .route("/views/delete", post(views::delete))
        .route("/users", get(users::show).post(users::add))
        .route("/users/{name}/remove", post(users::remove))
        .route("/users/{name}/rotate-token", post(users::rotate_token))
        .route("/logout", post(login::logout))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::pages,
        ));
    let api = Router::new()
        .route("/leads", get(api::leads))
        .route("/leads/{id}", get(api::lead))
        .route("/leads/{id}/status", post(api::set_status))
        .route("/leads/{id}/owner", post(api::set_owner))
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::api,
        ));
    Router::new()
        .merge(pages)
        .nest("/api", api)
        .route("/login", get(login::form).post(login::submit))
        .route("/healthz", get(api::health))
        .route("/static/{file}", get(assets::file))
        .fallback(html::not_found)
        .layer(axum::middleware::map_response(html::security_headers))
        .with_state(state)
}

/// Starts the server and runs it until Ctrl-C (or SIGTERM).
pub fn run(opts: &Options) -> Result<()> {
    let state = AppState::open(&opts.db, opts.cfg.clone())?;
    let users = state.user_count()?;
    if !opts.listen.ip().is_loopback() && users == 0 {
        return Err(Error::Usage(format!(
            "refusing to listen on `{}` with no users: anyone who can reach it could read the \
             leads. Add one with `onelead user add NAME --role admin`, or listen on loopback",
            opts.listen
        )));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the server runtime: {e}")))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(opts.listen)
            .await
            .map_err(|e| Error::Usage(format!("cannot listen on `{}`: {e}", opts.listen)))?;
        let addr = listener.local_addr()?;
        eprintln!("onelead serve: http://{addr}/ ({})", opts.db);
        if users == 0 {
            eprintln!(
                "note: no users yet, so nobody can sign in; add one with \
                 `onelead user add NAME --role admin`"
            );
        }
        axum::serve(listener, router(state.clone()))
            .with_graceful_shutdown(shutdown())
            .await
            .map_err(|e| Error::Usage(format!("the server stopped: {e}")))
    })?;
    // Apply what reps recorded in the last moments, if the lead database lets us.
    state.finish();
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
