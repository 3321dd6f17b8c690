//! The state of the last call to each upstream (Salesforce, WHMCS), for `/health`.
//!
//! `/health` reports these but never turns 503 because of them: one failed upstream call must
//! not make every pod flap. Only Redis decides readiness.

use std::{
    sync::{Arc, Mutex},
    time::SystemTime,
};

use serde_json::{Value, json};

#[derive(Debug, Clone)]
struct Observation {
    ok: bool,
    code: Option<String>,
    at: SystemTime,
}

/// The outcome of the last call to one upstream.
#[derive(Debug, Clone, Default)]
pub struct LastCall {
    last: Arc<Mutex<Option<Observation>>>,
}

impl LastCall {
    /// Records a call that got the answer it wanted.
    pub fn succeeded(&self) {
        self.set(Observation {
            ok: true,
            code: None,
            at: SystemTime::now(),
        });
    }

    /// Records a failed call with the error code operators would see.
    pub fn failed(&self, code: &str) {
        self.set(Observation {
            ok: false,
            code: Some(code.to_owned()),
            at: SystemTime::now(),
        });
    }

    fn set(&self, observation: Observation) {
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *last = Some(observation);
    }

    /// The JSON shown under `integrations.<name>` in `/health`.
    pub fn report(&self) -> Value {
        let last = self
            .last
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        match last {
            None => json!({"status": "unknown"}),
            Some(observation) => {
                let seconds_ago = observation
                    .at
                    .elapsed()
                    .map(|elapsed| elapsed.as_secs())
                    .unwrap_or_default();
                if observation.ok {
                    json!({"status": "ok", "last_call_seconds_ago": seconds_ago})
                } else {
                    json!({"status": "error", "last_error_code": observation.code, "last_call_seconds_ago": seconds_ago})
                }
            }
        }
    }
}

/// The last-call state of both upstreams.
#[derive(Debug, Clone, Default)]
pub struct UpstreamHealth {
    /// Salesforce (token endpoint and REST).
    pub salesforce: LastCall,
    /// WHMCS.
    pub whmcs: LastCall,
}
