//! Starting and stopping the service: the HTTP listener, the outbox worker and the housekeeping
//! task, all stopped together.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use latchkey_delivery::{OutboxWorker, RetryPolicy};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::state::{AppState, Dependencies};

/// How often expired flows, challenges and counters are purged.
const PURGE_EVERY: Duration = Duration::from_secs(300);

/// A running service.
#[derive(Debug)]
pub struct Running {
    /// The address it listens on (the real port when 0 was asked for).
    pub addr: SocketAddr,
    /// Its state, for seeding and inspection.
    pub state: AppState,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Builds the state from `config` and starts serving.
pub async fn start(config: Config, deps: Dependencies) -> anyhow::Result<Running> {
    let addr = config.http.addr;
    let (state, transport) = AppState::build(config, deps).await?;
    if state.config().captcha.kind == "off" {
        tracing::warn!(
            "captcha.kind = \"off\": recovery is open to scripts; use this for tests only"
        );
    }
    if !state.config().rate_limits.enabled {
        tracing::warn!("rate_limits.enabled = false: use this for tests only");
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("config key `http.addr`: cannot listen on {addr}"))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let (stop, stopped) = watch::channel(false);

    let app =
        crate::http::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let mut rx = stopped.clone();
    let server = tokio::spawn(async move {
        let shutdown = async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "HTTP server failed");
        }
    });

    let worker = OutboxWorker::new(
        state.store.clone(),
        state.keys.clone(),
        state.clock.clone(),
        transport,
        RetryPolicy::default(),
        state.outbox.notifier(),
    );
    let mut rx = stopped.clone();
    let outbox = tokio::spawn(async move {
        worker
            .run(async move {
                let _ = rx.wait_for(|s| *s).await;
            })
            .await;
    });

    let purge_state = state.clone();
    let mut rx = stopped;
    let purge = tokio::spawn(async move {
        let mut tick = tokio::time::interval(PURGE_EVERY);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    match purge_state.store.purge_expired(purge_state.clock.now()).await {
                        Ok(n) if n > 0 => tracing::debug!(rows = n, "purged expired records"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "purge failed"),
                    }
                }
                _ = rx.changed() => break,
            }
        }
    });
    tracing::info!(%addr, directory = state.directory.kind(), "latchkey-server listening");
    Ok(Running {
        addr,
        state,
        stop,
        tasks: vec![server, outbox, purge],
    })
}

impl Running {
    /// The base URL, e.g. `http://127.0.0.1:8080`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops everything and waits for in-flight requests and sends to finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}
