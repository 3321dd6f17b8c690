//! `sandbox serve`: the emulators (and a store) without the services, for running the real
//! `fulfillment` and `ingest` binaries against them. It prints the environment for both, the
//! seeded Orders, and the commands that approve or retry one, then serves until Ctrl-C.

use std::{io::Write, sync::Arc};

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{get, post},
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::{Case, DemoError, field, seed, services, world::World};
use crate::store::EmbeddedStore;

/// The fixed addresses printed for the two binaries.
const FULFILLMENT_GRPC: &str = "127.0.0.1:50051";
const FULFILLMENT_HTTP: &str = "127.0.0.1:8080";
const INGEST_GRPC: &str = "127.0.0.1:50052";
const INGEST_HTTP: &str = "127.0.0.1:8081";

/// How long shutdown may wait for open connections.
const SHUTDOWN_LIMIT: std::time::Duration = std::time::Duration::from_secs(3);

struct Control {
    world: World,
    cases: Vec<Case>,
}

/// Runs until `shutdown`.
pub async fn run(shutdown: CancellationToken) -> Result<(), DemoError> {
    bridge_runtime::http_client::install_crypto_provider();
    let world = World::start().await?;
    let (store, redis_url) = match std::env::var("REDIS_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
    {
        Some(url) => (None, url),
        None => {
            let store = EmbeddedStore::start()
                .await
                .map_err(|err| DemoError::Store(err.to_string()))?;
            let url = store.url();
            (Some(store), url)
        }
    };
    let cases = seed(&world);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|err| DemoError::Store(err.to_string()))?;
    let control_addr = listener
        .local_addr()
        .map_err(|err| DemoError::Store(err.to_string()))?;

    print_instructions(&world, &cases, &redis_url, &control_addr.to_string());

    let control = Arc::new(Control { world, cases });
    let app = Router::new()
        .route("/orders", get(list))
        .route("/orders/{id}/approve", post(approve))
        .route("/orders/{id}/retry", post(retry))
        .with_state(control.clone());
    let stopped = shutdown.clone();
    let served = axum::serve(listener, app).with_graceful_shutdown(stopped.cancelled_owned());
    // A client holding a half-sent request must not keep the sandbox alive after Ctrl-C.
    tokio::select! {
        _ = served => {}
        () = async {
            shutdown.cancelled().await;
            tokio::time::sleep(SHUTDOWN_LIMIT).await;
        } => {}
    }

    let _ = tokio::time::timeout(SHUTDOWN_LIMIT, control.world.shutdown()).await;
    if let Some(store) = store {
        store.shutdown().await;
    }
    Ok(())
}

fn print_instructions(world: &World, cases: &[Case], redis_url: &str, control: &str) {
    let mut out = std::io::stdout().lock();
    let exports = |out: &mut std::io::StdoutLock<'_>, vars: &[(&'static str, String)]| {
        for (name, value) in vars {
            let _ = writeln!(out, "export {name}='{value}'");
        }
    };
    let _ = writeln!(
        out,
        "Emulated Salesforce (OAuth, REST, Pub/Sub API) and WHMCS are running. Ctrl-C stops them.\n"
    );
    let _ = writeln!(out, "# In one shell, fulfillment:");
    exports(&mut out, &services::common_env(world, redis_url));
    exports(&mut out, &services::fulfillment_env(world));
    exports(
        &mut out,
        &[
            ("GRPC_ADDR", FULFILLMENT_GRPC.to_owned()),
            ("HTTP_ADDR", FULFILLMENT_HTTP.to_owned()),
            ("LOG_FORMAT", "plain".to_owned()),
        ],
    );
    let _ = writeln!(out, "cargo run -p fulfillment\n");
    let _ = writeln!(out, "# In another shell, ingest:");
    exports(&mut out, &services::common_env(world, redis_url));
    exports(&mut out, &services::ingest_env(world, FULFILLMENT_GRPC));
    exports(
        &mut out,
        &[
            ("GRPC_ADDR", INGEST_GRPC.to_owned()),
            ("HTTP_ADDR", INGEST_HTTP.to_owned()),
            ("LOG_FORMAT", "plain".to_owned()),
        ],
    );
    let _ = writeln!(out, "cargo run -p ingest\n");
    let _ = writeln!(
        out,
        "# The ports above are fixed; if one is taken, change GRPC_ADDR, HTTP_ADDR and FULFILLMENT_URL.\n"
    );
    let _ = writeln!(
        out,
        "# Seeded Orders. Approve one once ingest logs that it subscribed. The control endpoint\n\
         # http://{control} acts as Salesforce would: approve runs the Flow, retry is the\n\
         # \"Provision / Retry\" action."
    );
    for case in cases {
        let _ = writeln!(out, "#   {}  {}", case.order_id, case.title);
    }
    if let Some(first) = cases.first() {
        let _ = writeln!(
            out,
            "curl -X POST http://{control}/orders/{}/approve",
            first.order_id
        );
        let _ = writeln!(
            out,
            "curl http://{control}/orders        # where every Order stands"
        );
        let _ = writeln!(
            out,
            "curl -X POST http://{control}/orders/<id>/retry   # the \"Provision / Retry\" action"
        );
    }
    let _ = writeln!(
        out,
        "\n# Calling Fulfill directly (caller 'portal'). TRIGGER_DIRECT runs any Order that is not"
    );
    let _ = writeln!(
        out,
        "# Activated, approved or not: that is what internal callers are for."
    );
    let _ = writeln!(
        out,
        "grpcurl -plaintext -H 'authorization: Bearer {}' -d '{{\"order_id\":\"<id>\",\"trigger\":\"TRIGGER_DIRECT\"}}' {FULFILLMENT_GRPC} fulfillment.v1.FulfillmentService/Fulfill",
        world.portal_token
    );
    let _ = out.flush();
}

async fn list(State(control): State<Arc<Control>>) -> Json<Value> {
    let orders: Vec<Value> = control
        .cases
        .iter()
        .map(|case| {
            json!({
                "order_id": case.order_id,
                "title": case.title,
                "Activation_Status__c": field(&control.world, &case.order_id, "Activation_Status__c"),
                "WHMCS_Order_ID__c": field(&control.world, &case.order_id, "WHMCS_Order_ID__c"),
                "Activation_Error_Code__c": field(&control.world, &case.order_id, "Activation_Error_Code__c"),
                "Activation_Error_Message__c": field(&control.world, &case.order_id, "Activation_Error_Message__c"),
            })
        })
        .collect();
    Json(json!({ "orders": orders }))
}

async fn approve(
    State(control): State<Arc<Control>>,
    Path(id): Path<String>,
) -> (StatusCode, Json<Value>) {
    match control.world.salesforce.approve_order(&id) {
        Ok(event) => (
            StatusCode::OK,
            Json(json!({"published": event.event_uuid, "order_id": event.order_id})),
        ),
        Err(err) => (flow_status(&err), Json(json!({"error": err.to_string()}))),
    }
}

async fn retry(
    State(control): State<Arc<Control>>,
    Path(id): Path<String>,
) -> (StatusCode, Json<Value>) {
    match control.world.salesforce.retry_order(&id) {
        Ok(event) => (
            StatusCode::OK,
            Json(json!({"published": event.event_uuid, "order_id": event.order_id})),
        ),
        Err(err) => (flow_status(&err), Json(json!({"toast": err.to_string()}))),
    }
}

/// 404 for an Order the org does not have, 409 for one already in progress.
fn flow_status(error: &crate::salesforce::FlowError) -> StatusCode {
    match error {
        crate::salesforce::FlowError::NoSuchOrder => StatusCode::NOT_FOUND,
        _ => StatusCode::CONFLICT,
    }
}
