//! `includes/api.php`: one handler running WHMCS's pipeline in its order (access, action name,
//! credentials, action checks, response type), then the injected fault, the action, and the
//! answer in the format asked for.

use std::{
    collections::BTreeSet,
    net::IpAddr,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::{ConnectInfo, State},
    http::{HeaderMap, Method, Uri, header},
    response::Response,
    routing::any,
};
use tokio::sync::watch;

use super::{
    action::{Action, Call, error, normalise_action, run},
    auth::{AuthMode, Gatekeeper},
    conn::Peer,
    faults::{Fault, FaultBook, Subject},
    form::Params,
    json::{Json, map},
    options::WhmcsOptions,
    reply::{self, Format, Rendered},
    state::{RecordedCall, World},
};

/// The path WHMCS serves its API on.
pub(crate) const API_PATH: &str = "/includes/api.php";

/// Everything the handler shares with the public handle.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) options: WhmcsOptions,
    pub(crate) world: Mutex<World>,
    pub(crate) calls: Mutex<Vec<RecordedCall>>,
    pub(crate) faults: Mutex<FaultBook>,
    pub(crate) gate: Mutex<Gatekeeper>,
    /// The API role of the credential: the normalised actions it may call (`None`: all).
    pub(crate) role: Mutex<Option<BTreeSet<String>>>,
    /// Turns `true` when the emulator shuts down.
    pub(crate) shutdown: watch::Receiver<bool>,
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it: the emulator's
/// state stays usable for the test that is inspecting it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The router: the API path for every method (the handler refuses the unsupported ones).
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(API_PATH, any(api))
        .fallback(not_found)
        .with_state(shared)
}

async fn not_found() -> Response {
    reply::proxy_page(404)
}

/// What the synchronous part of the pipeline decided.
enum Decision {
    /// Answer this at once; the action does not run.
    Answer {
        status: u16,
        body: Json,
        format: Format,
    },
    /// Run the action, in this format, with this fault (if any).
    Run {
        action: Action,
        format: Format,
        fault: Option<Fault>,
    },
}

async fn api(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method != Method::GET && method != Method::POST {
        return reply::proxy_page(405);
    }
    // PHP reads a body into `$_POST` only for form content types.
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    let params = Params::from_request(uri.query(), is_form.then_some(&body[..]));
    let action_name = normalise_action(params.text_or_empty("action"));
    let caller = peer.addr.ip().to_canonical();
    let record = record_call(&shared, &action_name, &params);

    let (action, format, fault) = match decide(&shared, &params, &action_name, caller) {
        Decision::Answer {
            status,
            body,
            format,
        } => {
            set_status(&shared, record, status);
            return reply::response(status, reply::render(&body, format, &action_name));
        }
        Decision::Run {
            action,
            format,
            fault,
        } => (action, format, fault),
    };

    match &fault {
        Some(Fault::Status(status)) => {
            return answered(&shared, record, reply::proxy_page(*status));
        }
        Some(Fault::Oops) => return answered(&shared, record, reply::oops_page()),
        Some(Fault::Error(message)) => {
            let rendered = reply::render(&error(message.clone()), format, &action_name);
            return answered(&shared, record, reply::response(200, rendered));
        }
        Some(Fault::WarningOnly(message)) => {
            let body = map([("warning", Json::Str(message.clone()))]);
            let rendered = reply::render(&body, format, &action_name);
            return answered(&shared, record, reply::response(200, rendered));
        }
        Some(Fault::PhpWarningNoJson) => {
            let page = reply::html(200, reply::php_warning().to_owned());
            return answered(&shared, record, page);
        }
        Some(Fault::Reset) => return hang_up(&peer),
        Some(Fault::LateCommit(delay)) => {
            commit_late(&shared, action, params, caller, *delay);
            let mut shutdown = shared.shutdown.clone();
            let _ = shutdown.wait_for(|stopping| *stopping).await;
            return hang_up(&peer);
        }
        Some(Fault::Delay(delay)) => {
            if !pause(&shared, *delay).await {
                return hang_up(&peer);
            }
        }
        Some(Fault::PhpWarning | Fault::MalformedJson | Fault::CommitThenHang) | None => {}
    }

    let call = Call {
        params: &params,
        numbers: shared.options.numbers,
        caller,
    };
    let answer = {
        let mut world = lock(&shared.world);
        run(action, &mut world, &call)
    };

    if fault == Some(Fault::CommitThenHang) {
        // The work is done; the reply never comes. Wait for shutdown, then close unanswered.
        let mut shutdown = shared.shutdown.clone();
        let _ = shutdown.wait_for(|stopping| *stopping).await;
        return hang_up(&peer);
    }
    if !pause(&shared, shared.options.latency).await {
        return hang_up(&peer);
    }

    let rendered = reply::render(&answer, format, &action_name);
    let response = match fault {
        Some(Fault::PhpWarning) => {
            reply::html(200, format!("{}{}", reply::php_warning(), rendered.body))
        }
        Some(Fault::MalformedJson) => reply::response(200, cut_in_half(rendered)),
        _ => reply::response(200, rendered),
    };
    answered(&shared, record, response)
}

/// The pipeline up to the action, in WHMCS's order.
fn decide(shared: &Shared, params: &Params, action_name: &str, caller: IpAddr) -> Decision {
    let options = &shared.options;
    // Until authentication passes, the literal `responsetype` decides: only `json` gets JSON.
    let literal = params.text("responsetype").unwrap_or_default();
    let early = if literal == "json" {
        Format::Json
    } else {
        Format::Nvp
    };
    let refuse = |status: u16, message: String, format: Format| Decision::Answer {
        status,
        body: error(message),
        format,
    };

    let mode = {
        let mut gate = lock(&shared.gate);
        if let Err(refusal) = gate.check_access(options, caller, params) {
            return refuse(refusal.status, refusal.message, early);
        }
        if action_name == "setconfigurationvalue" {
            return refuse(200, "API Command Restricted to Internal API".into(), early);
        }
        match gate.authenticate(options, caller, params) {
            Ok(mode) => mode,
            Err(refusal) => return refuse(refusal.status, refusal.message, early),
        }
    };

    if action_name.is_empty() {
        return refuse(400, "Empty action request".into(), early);
    }
    if mode == AuthMode::Credential
        && lock(&shared.role)
            .as_ref()
            .is_some_and(|allowed| !allowed.contains(action_name))
    {
        return refuse(
            403,
            format!("Invalid Permissions: API action \"{action_name}\" is not allowed"),
            early,
        );
    }
    let Some(action) = Action::from_name(action_name) else {
        return match mode {
            AuthMode::Credential => refuse(
                403,
                format!("Invalid API Action: \"{action_name}\" is not a valid API action"),
                early,
            ),
            AuthMode::AdminLogin => refuse(200, "API Function Not Found".into(), early),
        };
    };

    let format = match literal.to_ascii_lowercase().as_str() {
        "json" => Format::Json,
        "xml" => Format::Xml,
        "nvp" if action.is_structured() => {
            return refuse(
                200,
                "This API action only supports the XML or JSON response type formats".into(),
                Format::Nvp,
            );
        }
        "nvp" => Format::Nvp,
        "" if action.is_structured() => Format::Xml,
        "" => Format::Nvp,
        other => {
            return refuse(
                200,
                format!(
                    "Unsupported API response type format \"{other}\". Supported formats \
                     include: json, xml, nvp"
                ),
                Format::Nvp,
            );
        }
    };

    let subject = Subject::of(params, &lock(&shared.world));
    let fault = lock(&shared.faults).take(action_name, &subject);
    Decision::Run {
        action,
        format,
        fault,
    }
}

fn record_call(shared: &Shared, action: &str, params: &Params) -> usize {
    let mut calls = lock(&shared.calls);
    calls.push(RecordedCall {
        action: action.to_owned(),
        params: params.flatten(),
        status: 0,
    });
    calls.len() - 1
}

fn set_status(shared: &Shared, record: usize, status: u16) {
    if let Some(call) = lock(&shared.calls).get_mut(record) {
        call.status = status;
    }
}

fn answered(shared: &Shared, record: usize, response: Response) -> Response {
    set_status(shared, record, response.status().as_u16());
    response
}

/// Runs the action after `delay` on a task of its own, whether or not the caller still waits,
/// as PHP finishes a request whose caller went away; nothing runs if the emulator stops first.
fn commit_late(
    shared: &Arc<Shared>,
    action: Action,
    params: Params,
    caller: IpAddr,
    delay: Duration,
) {
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        if !pause(&shared, delay).await {
            return;
        }
        let call = Call {
            params: &params,
            numbers: shared.options.numbers,
            caller,
        };
        let mut world = lock(&shared.world);
        run(action, &mut world, &call);
    });
}

/// Closes the connection without an answer: the response returned is never written.
fn hang_up(peer: &Peer) -> Response {
    peer.hangup.trigger();
    Response::default()
}

/// Waits `delay`, or less if the emulator shuts down; `false` on shutdown.
async fn pause(shared: &Shared, delay: Duration) -> bool {
    if delay.is_zero() {
        return true;
    }
    let mut shutdown = shared.shutdown.clone();
    tokio::select! {
        () = tokio::time::sleep(delay) => true,
        _ = shutdown.wait_for(|stopping| *stopping) => false,
    }
}

/// The first half of a body (at a character boundary): JSON that stops mid-way.
fn cut_in_half(rendered: Rendered) -> Rendered {
    let mut end = rendered.body.len() / 2;
    while !rendered.body.is_char_boundary(end) {
        end -= 1;
    }
    Rendered {
        content_type: rendered.content_type,
        body: rendered.body[..end].to_owned(),
    }
}
