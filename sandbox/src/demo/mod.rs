//! `sandbox demo`: the whole path on loopback, as a new user's first look.
//!
//! It starts the emulated Salesforce (OAuth, REST, Pub/Sub API) and WHMCS, a store (Redis at
//! `REDIS_URL` when set, the embedded store otherwise), and both services; approves Orders the
//! way the Flow does (two good ones, one whose client has no payment method, one with an
//! unmapped product); waits for each to end; and prints what happened, the health of both
//! services, and the log lines of the runbook's verification steps. It succeeds only when every
//! Order ended as the runbook says it should.

mod logs;
mod report;
pub mod serve;
pub mod services;
pub mod world;

use std::time::{Duration, Instant};

use serde_json::Value;

use self::{logs::LogBook, report::Row, world::World};
use crate::store::EmbeddedStore;

/// How long the Orders may take to reach a final state.
const SETTLE: Duration = Duration::from_secs(45);

/// Why the demo could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The emulators could not start.
    #[error(transparent)]
    World(#[from] world::WorldError),
    /// A service could not start.
    #[error(transparent)]
    Service(#[from] services::ServiceError),
    /// The store could not start or be reached.
    #[error("the store could not be used: {0}")]
    Store(String),
    /// Something the demo waits for did not happen in time.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
}

/// One Order of the demo and what the runbook says should become of it.
struct Case {
    title: &'static str,
    order_id: String,
    expected: Expected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    Activated,
    Failed(&'static str),
}

/// Runs the demo; `Ok(true)` when every Order ended as expected.
pub async fn run() -> Result<bool, DemoError> {
    bridge_runtime::http_client::install_crypto_provider();
    let logs = LogBook::install();
    let started = Instant::now();
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
    if store.is_none() {
        forget_previous_runs(&redis_url, &cases).await?;
    }
    let services = services::start(&world, &redis_url).await?;
    wait_for("ingest to subscribe", Duration::from_secs(30), || {
        world.pubsub.active_streams() > 0
    })
    .await?;

    for case in &cases {
        // What the Record-Triggered Flow does on approval: Activating, then the platform event.
        let _ = world.salesforce.approve_order(&case.order_id);
    }
    let settled = wait_for("every Order to reach Activated or Failed", SETTLE, || {
        cases.iter().all(|case| {
            let status = field(&world, &case.order_id, "Activation_Status__c");
            matches!(status.as_str(), "Activated" | "Failed")
        })
    })
    .await;

    let rows: Vec<Row> = cases.iter().map(|case| row(&world, case)).collect();
    let health = [
        (
            "fulfillment",
            report::health(services.fulfillment.http_addr).await,
        ),
        ("ingest", report::health(services.ingest.http_addr).await),
    ];
    let all_good = settled.is_ok() && rows.iter().all(|row| row.as_expected);
    report::print(&report::Report {
        rows: &rows,
        health: &health,
        logs: &logs,
        good_order: &cases[0].order_id,
        failed_order: &cases[2].order_id,
        store: if store.is_some() {
            "embedded store"
        } else {
            "Redis at REDIS_URL"
        },
        elapsed: started.elapsed(),
        success: all_good,
    });

    services.stop().await;
    world.shutdown().await;
    if let Some(store) = store {
        store.shutdown().await;
    }
    Ok(all_good)
}

/// The demo's customers, products and Orders.
fn seed(world: &World) -> Vec<Case> {
    let acme = world.customer("Acme", true);
    let globex = world.customer("Globex", true);
    let initech = world.customer("Initech", false);
    let umbrella = world.customer("Umbrella", true);
    let vps = world.offering("VPS Small", "Monthly");
    let backup = world.offering("Backup 100 GB", "Annually");
    let dedicated = world.unmapped_product("Dedicated Server L");

    vec![
        Case {
            title: "Acme: 2 x VPS Small monthly + Backup yearly",
            order_id: world.order(
                &acme.account_id,
                &[(&vps.product_id, 2.0), (&backup.product_id, 1.0)],
            ),
            expected: Expected::Activated,
        },
        Case {
            title: "Globex: 1 x VPS Small monthly",
            order_id: world.order(&globex.account_id, &[(&vps.product_id, 1.0)]),
            expected: Expected::Activated,
        },
        Case {
            title: "Initech: client without a payment method",
            order_id: world.order(&initech.account_id, &[(&vps.product_id, 1.0)]),
            expected: Expected::Failed("409"),
        },
        Case {
            title: "Umbrella: product with no WHMCS mapping",
            order_id: world.order(
                &umbrella.account_id,
                &[(&vps.product_id, 1.0), (&dedicated, 1.0)],
            ),
            expected: Expected::Failed("MAPPING_MISSING"),
        },
    ]
}

/// The key that marks a Redis as one the demo has used; a deployment's Redis never has it.
const DEMO_MARKER: &str = "sandbox:demo";

/// With a Redis of the user's, state from an earlier demo run could name the same Order ids
/// (the emulated org starts afresh each time): that state is removed, and nothing else. A Redis
/// that holds ingest state the demo did not write (a deployment's) is refused, never touched.
async fn forget_previous_runs(redis_url: &str, cases: &[Case]) -> Result<(), DemoError> {
    let store_error = |err: redis::RedisError| DemoError::Store(format!("REDIS_URL: {err}"));
    let client = redis::Client::open(redis_url).map_err(store_error)?;
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .map_err(store_error)?;
    let channel = "/event/OrderProvisionRequested__e";
    let (marked, cursor, leader): (bool, bool, bool) = redis::pipe()
        .exists(DEMO_MARKER)
        .exists(format!("sf:pe:replay:{channel}"))
        .exists(format!("sf:pe:leader:{channel}"))
        .query_async(&mut connection)
        .await
        .map_err(store_error)?;
    if (cursor || leader) && !marked {
        return Err(DemoError::Store(
            "REDIS_URL holds an ingest cursor or lease the demo did not write: it looks like a \
             deployment's Redis. Point the demo at a throwaway Redis, or unset REDIS_URL to use \
             the embedded store"
                .to_owned(),
        ));
    }
    redis::cmd("SET")
        .arg(DEMO_MARKER)
        .arg("this Redis has been used by sandbox demo")
        .query_async::<()>(&mut connection)
        .await
        .map_err(store_error)?;
    let mut keys = vec![
        format!("sf:pe:replay:{channel}"),
        format!("sf:pe:replay:{channel}:meta"),
        format!("sf:pe:leader:{channel}"),
    ];
    for case in cases {
        keys.push(format!("fulfillment:order:{}", case.order_id));
        keys.push(format!("fulfillment:lock:{}", case.order_id));
    }
    redis::cmd("DEL")
        .arg(&keys)
        .query_async::<i64>(&mut connection)
        .await
        .map_err(store_error)?;
    Ok(())
}

fn field(world: &World, order_id: &str, name: &str) -> String {
    world
        .salesforce
        .order(order_id)
        .and_then(|fields| fields.get(name).cloned())
        .and_then(|value| match value {
            Value::String(text) => Some(text),
            Value::Null => None,
            other => Some(other.to_string()),
        })
        .unwrap_or_default()
}

fn row(world: &World, case: &Case) -> Row {
    let status = field(world, &case.order_id, "Activation_Status__c");
    let whmcs_order = field(world, &case.order_id, "WHMCS_Order_ID__c");
    let code = field(world, &case.order_id, "Activation_Error_Code__c");
    let message = field(world, &case.order_id, "Activation_Error_Message__c");
    let marker = format!("Salesforce Order {}", case.order_id);
    let whmcs_orders: Vec<_> = world
        .whmcs
        .orders()
        .into_iter()
        .filter(|order| order.notes.contains(&marker))
        .collect();
    let as_expected = match case.expected {
        Expected::Activated => {
            status == "Activated"
                && whmcs_orders.len() == 1
                && whmcs_orders[0].status == "Active"
                && whmcs_orders[0].id.to_string() == whmcs_order
        }
        Expected::Failed(expected_code) => {
            status == "Failed" && code == expected_code && whmcs_orders.is_empty()
        }
    };
    Row {
        title: case.title.to_owned(),
        order_id: case.order_id.clone(),
        expected: match case.expected {
            Expected::Activated => "Activated".to_owned(),
            Expected::Failed(code) => format!("Failed {code}"),
        },
        status,
        whmcs_order,
        code,
        message,
        as_expected,
    }
}

async fn wait_for(
    what: &'static str,
    limit: Duration,
    mut done: impl FnMut() -> bool,
) -> Result<(), DemoError> {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() > deadline {
            return Err(DemoError::Timeout(what));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}
