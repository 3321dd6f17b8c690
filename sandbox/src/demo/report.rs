//! What the demo prints: a table of the Orders, the services' health, and the log lines of the
//! runbook's verification steps for one good and one failed Order.

use std::{io::Write, net::SocketAddr, time::Duration};

use serde_json::Value;

use super::logs::LogBook;

/// One Order's line in the table.
pub(super) struct Row {
    pub(super) title: String,
    pub(super) order_id: String,
    pub(super) expected: String,
    pub(super) status: String,
    pub(super) whmcs_order: String,
    pub(super) code: String,
    pub(super) message: String,
    pub(super) as_expected: bool,
}

/// Everything printed.
pub(super) struct Report<'a> {
    pub(super) rows: &'a [Row],
    pub(super) health: &'a [(&'static str, Value)],
    pub(super) logs: &'a LogBook,
    pub(super) good_order: &'a str,
    pub(super) failed_order: &'a str,
    pub(super) store: &'static str,
    pub(super) elapsed: Duration,
    pub(super) success: bool,
}

/// The messages that make up the runbook's verification step 4, in order.
const TRAIL: [&str; 7] = [
    "Platform Event enqueued for provisioning",
    "Starting fulfillment orchestration",
    "Guard sees status=",
    "Item mapping report",
    "WHMCS add succeeded",
    "WHMCS accept succeeded",
    "Activated: the Order is fulfilled",
];

/// `GET /health` of an admin port, as JSON.
pub(super) async fn health(address: SocketAddr) -> Value {
    let url = format!("http://{address}/health");
    let Ok(client) = bridge_runtime::http_client::build_client(Duration::from_secs(3)) else {
        return Value::Null;
    };
    match client.get(url).send().await {
        Ok(response) => response.json().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    }
}

fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(width.saturating_sub(1)).collect();
        short.push('…');
        short
    }
}

/// Prints the report on stdout.
pub(super) fn print(report: &Report<'_>) {
    let mut out = std::io::stdout().lock();
    let _ = write_report(&mut out, report);
}

fn write_report(out: &mut impl Write, report: &Report<'_>) -> std::io::Result<()> {
    writeln!(out)?;
    writeln!(
        out,
        "Provisioning bridge sandbox: Salesforce and WHMCS emulated on loopback, both services, {}",
        report.store
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<46} {:<18} {:<22} {:<11} {:<6} {:<16} {:<61} Check",
        "Order",
        "Salesforce Id",
        "Expected",
        "Status",
        "WHMCS",
        "Error code",
        "Error message (cut at 60)"
    )?;
    writeln!(out, "{}", "-".repeat(190))?;
    for row in report.rows {
        writeln!(
            out,
            "{:<46} {:<18} {:<22} {:<11} {:<6} {:<16} {:<61} {}",
            cut(&row.title, 46),
            row.order_id,
            row.expected,
            if row.status.is_empty() {
                "-"
            } else {
                &row.status
            },
            if row.whmcs_order.is_empty() {
                "-"
            } else {
                &row.whmcs_order
            },
            if row.code.is_empty() { "-" } else { &row.code },
            cut(&row.message, 60),
            if row.as_expected { "ok" } else { "UNEXPECTED" },
        )?;
    }

    writeln!(out)?;
    writeln!(out, "Health (runbook step 3):")?;
    for (service, health) in report.health {
        writeln!(
            out,
            "  {service:<12} status={} redis={} salesforce={}",
            health["status"].as_str().unwrap_or("?"),
            health["integrations"]["redis"]["status"]
                .as_str()
                .unwrap_or("?"),
            health["integrations"]["salesforce"]["status"]
                .as_str()
                .unwrap_or("?"),
        )?;
    }

    writeln!(out)?;
    writeln!(out, "Log trail of {} (runbook step 4):", report.good_order)?;
    for (message, entry) in report.logs.about(report.good_order) {
        if TRAIL.iter().any(|wanted| message.starts_with(wanted)) {
            let step = entry["step"]
                .as_str()
                .map(|step| format!(" step={step}"))
                .unwrap_or_default();
            writeln!(out, "  {message}{step}")?;
        }
    }
    writeln!(out)?;
    writeln!(out, "Log trail of {} (a failure):", report.failed_order)?;
    for (message, _) in report.logs.about(report.failed_order) {
        if message.starts_with("Guard sees")
            || message.starts_with("Fulfillment failed")
            || message.starts_with("Order marked Failed")
        {
            writeln!(out, "  {message}")?;
        }
    }

    writeln!(out)?;
    writeln!(
        out,
        "To run the real binaries against the emulators yourself: cargo run -p sandbox -- serve"
    )?;
    writeln!(out)?;
    let verdict = if report.success {
        "every Order ended as the runbook says it should"
    } else {
        "an Order did NOT end as the runbook says it should (see UNEXPECTED above)"
    };
    writeln!(
        out,
        "Result: {verdict} ({:.1}s).",
        report.elapsed.as_secs_f64()
    )?;
    Ok(())
}
