//! The upstream floor of the fulfillment run: what the emulators, the tokio timers behind their
//! latency and this machine as it is loaded now allow, measured with no fulfillment at all.
//! As many bare HTTP clients as Orders in flight each make, one after another, as many calls
//! to the WHMCS emulator (`GetClientsDetails`, delayed like every answer) as one Order makes
//! upstream. Its rate in "Orders" per second is the empirical counterpart of the target's
//! `concurrency / (calls per Order × latency)`.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use sandbox::demo::world::World;

/// Runs `orders` floor "Orders" of `calls` sequential calls each, `concurrency` at once, for
/// the WHMCS client `client_id`; returns Orders per second.
pub(crate) async fn measure(
    world: &World,
    client_id: u64,
    orders: usize,
    calls: usize,
    concurrency: usize,
) -> f64 {
    let http =
        bridge_runtime::http_client::build_client(Duration::from_secs(30)).expect("a client");
    let url = world.whmcs.api_url();
    let form = Arc::new(vec![
        ("action", "GetClientsDetails".to_owned()),
        ("identifier", world.whmcs.identifier()),
        ("secret", world.whmcs.secret()),
        ("clientid", client_id.to_string()),
        ("responsetype", "json".to_owned()),
    ]);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (http, url, form, next) = (http.clone(), url.clone(), form.clone(), next.clone());
        workers.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < orders {
                for _ in 0..calls {
                    let answer = http.post(&url).form(form.as_slice()).send().await;
                    let body = match answer {
                        Ok(response) => response.text().await.unwrap_or_default(),
                        Err(err) => panic!("the WHMCS emulator did not answer: {err}"),
                    };
                    assert!(body.contains("success"), "WHMCS answered {body}");
                }
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.expect("a floor worker");
    }
    orders as f64 / started.elapsed().as_secs_f64()
}
