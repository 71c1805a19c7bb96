//! Requests from the server to the client, each with a timeout: a client that never answers must not
//! hold a task (and tower-lsp-server runs at most 4 handlers at once). Call these from spawned tasks,
//! never from inside a request handler.

use std::time::Duration;

use serde_json::Value;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::{ConfigurationItem, ProgressToken};

/// How long the server waits for the client to answer one of its requests.
pub const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

async fn bounded<T, E: std::fmt::Display>(what: &str, request: impl Future<Output = Result<T, E>>) -> Option<T> {
    match tokio::time::timeout(CLIENT_REQUEST_TIMEOUT, request).await {
        Ok(Ok(value)) => Some(value),
        Ok(Err(err)) => {
            tracing::warn!("the client answered {what} with an error: {err}");
            None
        }
        Err(_) => {
            tracing::warn!("the client did not answer {what} within {} s", CLIENT_REQUEST_TIMEOUT.as_secs());
            None
        }
    }
}

pub async fn create_progress(client: &Client, token: ProgressToken) -> bool {
    bounded("window/workDoneProgress/create", client.create_work_done_progress(token)).await.is_some()
}

pub async fn refresh_inlay_hints(client: &Client) {
    bounded("workspace/inlayHint/refresh", client.inlay_hint_refresh()).await;
}

pub async fn refresh_code_lenses(client: &Client) {
    bounded("workspace/codeLens/refresh", client.code_lens_refresh()).await;
}

/// Pulls the `scalene` section of the client's configuration.
pub async fn configuration(client: &Client) -> Option<Value> {
    let items = vec![ConfigurationItem { scope_uri: None, section: Some("scalene".into()) }];
    bounded("workspace/configuration", client.configuration(items)).await?.into_iter().next()
}
