//! The instant `Fulfill` server: a process of its own that answers every call at once (or
//! after a fixed hold, to keep Orders in flight) with `OUTCOME_ACTIVATED`, and notes when
//! each call arrived, by the wall clock, so arrival times compare across processes.
//!
//! Commands on stdin: `stats` (calls, first and last arrival in µs since the epoch, the most
//! calls in flight at once, the CPU time it used in µs), `arrivals` (one `arrival <order id> <µs>` line a call since the
//! last `arrivals`, then `end`), `reset` (forget everything).

use std::{
    collections::HashMap,
    io::BufRead,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use bridge_proto::fulfillment::v1::{
    FulfillRequest, FulfillResponse, GetFulfillmentRequest, GetFulfillmentResponse, Outcome,
    fulfillment_service_server::{FulfillmentService, FulfillmentServiceServer},
};
use tonic::{Request, Response, Status};

use crate::{child::RoleProcess, procfs::own_cpu_time};

/// The `BENCH_ROLE` of the instant server.
pub(crate) const ROLE: &str = "instant-fulfill";

/// How long to wait for the helper to answer a command.
const ANSWER_WAIT: Duration = Duration::from_secs(30);

/// Microseconds since the Unix epoch: comparable between processes on one machine.
pub(crate) fn wall_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| u64::try_from(since.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

#[derive(Default)]
struct Record {
    arrivals: Vec<(String, u64)>,
    calls: u64,
    first_us: u64,
    last_us: u64,
}

#[derive(Default)]
struct Answering {
    record: Mutex<Record>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    hold: Duration,
}

impl Answering {
    fn record(&self) -> std::sync::MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Clone, Default)]
struct InstantService(Arc<Answering>);

#[tonic::async_trait]
impl FulfillmentService for InstantService {
    async fn fulfill(
        &self,
        request: Request<FulfillRequest>,
    ) -> Result<Response<FulfillResponse>, Status> {
        let now = wall_us();
        let order_id = request.into_inner().order_id;
        {
            let mut record = self.0.record();
            if record.calls == 0 {
                record.first_us = now;
            }
            record.calls += 1;
            record.last_us = now;
            record.arrivals.push((order_id.clone(), now));
        }
        if !self.0.hold.is_zero() {
            let in_flight = self.0.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.0.max_in_flight.fetch_max(in_flight, Ordering::SeqCst);
            tokio::time::sleep(self.0.hold).await;
            self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
        Ok(Response::new(FulfillResponse {
            order_id,
            outcome: Outcome::Activated.into(),
            ..FulfillResponse::default()
        }))
    }

    async fn get_fulfillment(
        &self,
        _request: Request<GetFulfillmentRequest>,
    ) -> Result<Response<GetFulfillmentResponse>, Status> {
        Err(Status::unimplemented("the instant server only fulfils"))
    }
}

/// The helper's side: serves until stdin closes.
pub(crate) async fn serve() -> Result<(), String> {
    let hold = std::env::var("BENCH_HOLD_MS")
        .ok()
        .and_then(|text| text.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or_default();
    let state = Arc::new(Answering {
        hold,
        ..Answering::default()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|err| err.to_string())?;
    let address = listener.local_addr().map_err(|err| err.to_string())?;
    let service = FulfillmentServiceServer::new(InstantService(state.clone()));
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(bridge_runtime::serve::grpc_incoming(listener)),
    );
    println!("listening {address}");

    // Commands are few and small: a blocking reader of stdin is simplest.
    tokio::task::spawn_blocking(move || {
        for command in std::io::stdin().lock().lines() {
            let Ok(command) = command else { break };
            answer(&state, command.trim());
        }
    })
    .await
    .map_err(|err| err.to_string())?;
    Ok(())
}

/// Answers one command from the parent.
fn answer(state: &Answering, command: &str) {
    match command {
        "stats" => {
            let record = state.record();
            println!(
                "stats {} {} {} {} {}",
                record.calls,
                record.first_us,
                record.last_us,
                state.max_in_flight.load(Ordering::SeqCst),
                own_cpu_time().as_micros()
            );
        }
        "arrivals" => {
            let arrivals = std::mem::take(&mut state.record().arrivals);
            for (order_id, at) in arrivals {
                println!("arrival {order_id} {at}");
            }
            println!("end");
        }
        "reset" => {
            *state.record() = Record::default();
            state.max_in_flight.store(0, Ordering::SeqCst);
            println!("reset");
        }
        other => println!("unknown {other}"),
    }
}

/// What the instant server saw.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stats {
    /// `Fulfill` calls answered.
    pub(crate) calls: u64,
    /// The first call's arrival, µs since the epoch.
    pub(crate) first_us: u64,
    /// The last call's arrival, µs since the epoch.
    pub(crate) last_us: u64,
    /// The most calls held at once (only counted with a hold).
    pub(crate) max_in_flight: u64,
    /// CPU time the instant server has used since it started.
    pub(crate) cpu: Duration,
}

/// The parent's handle on an instant server.
pub(crate) struct InstantServer {
    process: RoleProcess,
    /// `127.0.0.1:PORT`.
    pub(crate) address: String,
}

impl InstantServer {
    /// Starts one that answers after `hold` (zero: at once).
    pub(crate) async fn start(hold: Duration) -> Self {
        let env = HashMap::from([("BENCH_HOLD_MS".to_owned(), hold.as_millis().to_string())]);
        let mut process = RoleProcess::start(ROLE, &env);
        let address = process
            .answer("listening", ANSWER_WAIT)
            .await
            .pop()
            .expect("an address");
        Self { process, address }
    }

    /// What it saw so far.
    pub(crate) async fn stats(&mut self) -> Stats {
        self.process.send("stats");
        let parts = self.process.answer("stats", ANSWER_WAIT).await;
        let number = |index: usize| parts.get(index).and_then(|p| p.parse().ok()).unwrap_or(0);
        Stats {
            calls: number(0),
            first_us: number(1),
            last_us: number(2),
            max_in_flight: number(3),
            cpu: Duration::from_micros(number(4)),
        }
    }

    /// Forgets every call.
    pub(crate) async fn reset(&mut self) {
        self.process.send("reset");
        self.process.answer("reset", ANSWER_WAIT).await;
    }

    /// When each Order's call arrived (µs since the epoch), by the first 15 characters of its
    /// id; calls since the last time this was asked.
    pub(crate) async fn arrivals(&mut self) -> HashMap<String, u64> {
        self.process.send("arrivals");
        let mut arrivals = HashMap::new();
        loop {
            let line = self.process.line(ANSWER_WAIT).await;
            let mut parts = line.split_whitespace();
            match (parts.next(), parts.next(), parts.next()) {
                (Some("arrival"), Some(order_id), Some(at)) => {
                    let key: String = order_id.chars().take(15).collect();
                    arrivals.entry(key).or_insert(at.parse().unwrap_or(0));
                }
                (Some("end"), ..) => return arrivals,
                _ => panic!("the instant server answered {line:?}"),
            }
        }
    }
}
