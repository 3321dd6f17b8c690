//! The steps that change things, from `sf_status_update` to `sf_success_update`. Each failure
//! comes back as a [`StepFailure`] for the caller to record; the journal is written before and
//! after every WHMCS change, so a later run resumes where this one stopped.

use std::collections::HashMap;

use bridge_runtime::salesforce::RestError;

use super::{
    CrashPoint, MappingReport, OrderStatus, Run, StepError, StepFailure, StepStatus,
    failure::OrderProblem,
    mapping::{map_items, product_id},
    reached, steps, whmcs_order,
};
use crate::{
    store::{JournalUpdate, OrderJournal, RunState, WhmcsProgress},
    whmcs::{ExistingOrder, OrderLine, OrdersFilter, WhmcsError},
};

/// Whether `text` (surrounding whitespace aside) is a WHMCS id: digits only, not zero.
fn is_whmcs_id(text: &str) -> bool {
    let text = text.trim();
    !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && text.parse::<u64>().is_ok_and(|id| id > 0)
}

/// The WHMCS order the run ends with.
pub(super) struct Provisioned {
    pub(super) order_id: String,
    pub(super) service_ids: Vec<String>,
    pub(super) invoice_id: Option<String>,
}

/// What `whmcs_create` needs from the earlier steps.
struct OrderPlan {
    client_id: u64,
    gateway: String,
    lines: Vec<OrderLine>,
}

impl Run<'_> {
    fn salesforce_failed(&self, err: &RestError) -> StepError {
        let failure = StepFailure::salesforce(err);
        self.inner.health.salesforce.failed(&failure.code);
        failure.into()
    }

    fn whmcs_failed(&self, err: &WhmcsError) -> StepError {
        let failure = StepFailure::whmcs(err);
        self.inner.health.whmcs.failed(&failure.code);
        failure.into()
    }

    pub(super) async fn provision(
        &mut self,
        journal: &OrderJournal,
        status: &OrderStatus,
        mapping: &mut Option<MappingReport>,
    ) -> Result<Provisioned, StepError> {
        self.steps.begin(steps::SF_STATUS_UPDATE);
        if status.activation_status != "Activating" || status.has_error_fields {
            self.inner
                .orders
                .mark_activating(self.order_id())
                .await
                .map_err(|err| self.salesforce_failed(&err))?;
            self.inner.health.salesforce.succeeded();
        }
        self.steps.end(StepStatus::Succeeded);
        self.check_lock()?;

        let mut accepted = reached(journal, WhmcsProgress::Accepted);
        let resumed = if reached(journal, WhmcsProgress::Created) {
            match self.existing_order(journal).await? {
                Some(active) => {
                    accepted |= active;
                    Some(Provisioned {
                        order_id: journal.whmcs_order_id.clone().unwrap_or_default(),
                        service_ids: journal.whmcs_service_ids.clone(),
                        invoice_id: journal.whmcs_invoice_id.clone(),
                    })
                }
                None => {
                    accepted = false;
                    None
                }
            }
        } else {
            None
        };

        let existing = if let Some(resumed) = resumed {
            // The WHMCS order exists: go straight to accepting it.
            self.steps.skip(steps::ORDER_DETAILS);
            self.steps.skip(steps::MAPPING);
            self.steps.skip(steps::WHMCS_CREATE);
            resumed
        } else {
            self.steps.begin(steps::ORDER_DETAILS);
            let details = self.order_details().await?;
            self.steps.end(StepStatus::Succeeded);
            self.check_lock()?;

            self.steps.begin(steps::MAPPING);
            let plan = self.mapping(details, mapping).await?;
            self.steps.end(StepStatus::Succeeded);
            self.check_lock()?;

            self.steps.begin(steps::WHMCS_CREATE);
            let created = self.whmcs_create(&plan).await?;
            self.steps.end(StepStatus::Succeeded);
            created
        };
        self.check_lock()?;

        if accepted {
            self.steps.skip(steps::WHMCS_ACCEPT);
        } else {
            self.steps.begin(steps::WHMCS_ACCEPT);
            self.whmcs_accept(&existing.order_id).await?;
            self.steps.end(StepStatus::Succeeded);
        }
        self.check_lock()?;

        self.steps.begin(steps::SF_SUCCESS_UPDATE);
        self.ensure_still_holding().await?;
        self.inner
            .orders
            .mark_activated(self.order_id(), &existing.order_id)
            .await
            .map_err(|err| self.salesforce_failed(&err))?;
        self.inner.health.salesforce.succeeded();
        self.steps.end(StepStatus::Succeeded);
        let done = JournalUpdate::new()
            .state(RunState::Activated)
            .pending_write(None, "")
            .error(None)
            .steps(self.steps.recorded());
        if let Err(err) = self.inner.journals.write(self.grant, done).await {
            // The Order is Activated in Salesforce; the next run's guard sees that and settles
            // the journal, so this is reported but does not fail the run.
            tracing::warn!(error = %err, "Could not journal the activation");
        }
        Ok(existing)
    }

    async fn order_details(&self) -> Result<super::OrderDetails, StepError> {
        let details = self
            .inner
            .orders
            .details(self.order_id())
            .await
            .map_err(|err| self.salesforce_failed(&err))?
            .ok_or_else(StepFailure::order_vanished)?;
        self.inner.health.salesforce.succeeded();

        if let Some(expected) = &self.inner.settings.pricebook_id {
            let actual = details.pricebook_id.clone().unwrap_or_default();
            if actual != expected.as_str() {
                return Err(StepFailure::order(
                    OrderProblem::PricebookMismatch,
                    format!("The Order is on price book {actual:?}, not the portal's {expected}"),
                )
                .into());
            }
        }
        if details.items.is_empty() {
            return Err(StepFailure::order(OrderProblem::NoItems, "The Order has no items").into());
        }
        match details.whmcs_client_id.as_deref() {
            None => {
                return Err(StepFailure::order(
                    OrderProblem::ClientMissing,
                    "Account.WH_Client_ID__c is not set",
                )
                .into());
            }
            Some(text) if !is_whmcs_id(text) => {
                return Err(StepFailure::order(
                    OrderProblem::ClientMissing,
                    format!("Account.WH_Client_ID__c {text:?} is not a WHMCS client id"),
                )
                .into());
            }
            Some(_) => {}
        }
        Ok(details)
    }

    async fn mapping(
        &self,
        details: super::OrderDetails,
        report: &mut Option<MappingReport>,
    ) -> Result<OrderPlan, StepError> {
        let deadlines = self.inner.settings.deadlines;
        let whmcs = &self.inner.whmcs;
        let client_id = details
            .whmcs_client_id
            .as_deref()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(0);

        let client = whmcs
            .client_details(client_id, deadlines)
            .await
            .map_err(|err| self.whmcs_failed(&err))?;
        let mut pids: Vec<u64> = details.items.iter().filter_map(product_id).collect();
        pids.sort_unstable();
        pids.dedup();
        let products = if pids.is_empty() {
            HashMap::new()
        } else {
            whmcs
                .products(&pids, deadlines)
                .await
                .map_err(|err| self.whmcs_failed(&err))?
                .into_iter()
                .map(|product| (product.pid, product))
                .collect()
        };
        let mapped = map_items(&details.items, &products, client.currency_code.as_deref());
        let items: Vec<String> = mapped
            .items
            .iter()
            .map(|item| {
                if item.mapped {
                    format!(
                        "{} x{} -> pid {} {}",
                        item.product_name,
                        item.quantity,
                        item.whmcs_product_id,
                        item.whmcs_billing_cycle
                    )
                } else {
                    format!("{} -> unmapped: {}", item.product_name, item.reason)
                }
            })
            .collect();
        tracing::info!(
            items = mapped.items.len(),
            mapped = mapped.items.iter().filter(|item| item.mapped).count(),
            report = %items.join("; "),
            "Item mapping report"
        );
        *report = Some(mapped.clone());
        if !mapped.is_complete() {
            return Err(StepFailure::order(OrderProblem::MappingMissing, mapped.problems()).into());
        }

        let pay_methods = whmcs
            .pay_methods(client_id, deadlines)
            .await
            .map_err(|err| self.whmcs_failed(&err))?;
        self.inner.health.whmcs.succeeded();
        if pay_methods.is_empty() {
            return Err(StepFailure::order(
                OrderProblem::PaymentMethodMissing,
                "Payment method missing",
            )
            .into());
        }
        let gateway = pay_methods
            .iter()
            .map(|method| method.gateway_name.trim())
            .find(|name| !name.is_empty())
            .map(str::to_owned)
            .or(client.default_gateway)
            .or_else(|| self.inner.settings.default_payment_method.clone());
        let Some(gateway) = gateway else {
            return Err(StepFailure::order(
                OrderProblem::GatewayMissing,
                "No gateway: the pay methods name none, the client has no default, and WHMCS_DEFAULT_PAYMENT_METHOD is not set",
            )
            .into());
        };
        Ok(OrderPlan {
            client_id,
            gateway,
            lines: mapped.order_lines(),
        })
    }

    async fn whmcs_create(&self, plan: &OrderPlan) -> Result<Provisioned, StepError> {
        let deadlines = self.inner.settings.deadlines;
        let whmcs = &self.inner.whmcs;
        let marker = whmcs_order::notes_marker(self.order_id().as_str());

        let found = whmcs_order::find_existing(whmcs, plan.client_id, &marker, deadlines)
            .await
            .map_err(|err| self.whmcs_failed(&err))?;
        if let Some(order) = found {
            tracing::info!(whmcs_order_id = %order.order_id, status = %order.status, "Adopted the WHMCS order an earlier attempt created");
            return self.adopt(order).await;
        }

        // Until the AddOrder deadline and the settle time have passed, no other run may search
        // for or create this order: WHMCS (PHP) runs an AddOrder to its end even after its
        // caller gave up, so the order could still appear. One that appears later still is not
        // waited for, and a run after the window that finds no order creates a second one:
        // the settle time must outlast the longest a WHMCS request may run.
        let window = deadlines
            .order
            .saturating_add(self.inner.settings.add_order_settle);
        let until = crate::store::now_ms()
            .saturating_add(u64::try_from(window.as_millis()).unwrap_or(u64::MAX));
        self.journal(JournalUpdate::new().creating(plan.client_id, until))
            .await?;
        let created = whmcs
            .add_order(
                plan.client_id,
                &plan.gateway,
                &plan.lines,
                &marker,
                deadlines,
            )
            .await;
        let created = match created {
            Ok(created) => created,
            Err(err) => {
                // WHMCS answered (with an error): nothing is in flight any more, so the next
                // attempt may search at once. A timeout or a dropped connection leaves the
                // window in place, since WHMCS may still be creating the order.
                if !matches!(err, WhmcsError::Transport { .. })
                    && let Err(write) = self
                        .inner
                        .journals
                        .write(self.grant, JournalUpdate::new().add_order_answered())
                        .await
                {
                    tracing::warn!(error = %write, "Could not journal the AddOrder answer");
                }
                return Err(self.whmcs_failed(&err));
            }
        };
        self.inner.health.whmcs.succeeded();
        self.crash_point(CrashPoint::AfterAddOrder)?;
        tracing::info!(
            whmcs_order_id = %created.order_id,
            services = created.service_ids.len(),
            "WHMCS add succeeded: order created"
        );
        self.journal(
            JournalUpdate::new()
                .progress(WhmcsProgress::Created)
                .whmcs_order(
                    &created.order_id,
                    &created.service_ids,
                    created.invoice_id.as_deref(),
                ),
        )
        .await?;
        Ok(Provisioned {
            order_id: created.order_id,
            service_ids: created.service_ids,
            invoice_id: created.invoice_id,
        })
    }

    async fn adopt(&self, order: ExistingOrder) -> Result<Provisioned, StepError> {
        let progress = if order.status == "Active" {
            WhmcsProgress::Accepted
        } else {
            WhmcsProgress::Created
        };
        self.journal(JournalUpdate::new().progress(progress).whmcs_order(
            &order.order_id,
            &order.service_ids,
            order.invoice_id.as_deref(),
        ))
        .await?;
        Ok(Provisioned {
            order_id: order.order_id,
            service_ids: order.service_ids,
            invoice_id: order.invoice_id,
        })
    }

    async fn whmcs_accept(&self, order_id: &str) -> Result<(), StepError> {
        let settings = &self.inner.settings;
        whmcs_order::accept(
            &self.inner.whmcs,
            order_id,
            settings.autosetup,
            settings.send_email,
            settings.deadlines,
        )
        .await
        .map_err(|err| self.whmcs_failed(&err))?;
        self.inner.health.whmcs.succeeded();
        self.crash_point(CrashPoint::AfterAcceptOrder)?;
        tracing::info!(
            whmcs_order_id = order_id,
            "WHMCS accept succeeded: order accepted"
        );
        // The order is accepted whatever the journal says; a lost write only means the next run
        // asks WHMCS again (an Active order counts as accepted), so it does not fail this one.
        if let Err(err) = self
            .inner
            .journals
            .write(
                self.grant,
                JournalUpdate::new().progress(WhmcsProgress::Accepted),
            )
            .await
        {
            tracing::warn!(error = %err, "Could not journal the accepted order");
        }
        Ok(())
    }

    /// Asks WHMCS how the journaled order stands: `Some(active)` while it is Pending or Active,
    /// `None` when it was cancelled, marked fraud or deleted, in which case the journal forgets
    /// it and a new order is created (an operator who cancelled it wants a new one).
    async fn existing_order(&self, journal: &OrderJournal) -> Result<Option<bool>, StepError> {
        let Some(order_id) = journal.whmcs_order_id.as_deref() else {
            self.journal(JournalUpdate::new().forget_whmcs_order())
                .await?;
            return Ok(None);
        };
        let page = self
            .inner
            .whmcs
            .orders(
                OrdersFilter::Order(order_id),
                0,
                1,
                self.inner.settings.deadlines,
            )
            .await
            .map_err(|err| self.whmcs_failed(&err))?;
        let status = page
            .orders
            .iter()
            .find(|order| order.order_id == order_id)
            .map(|order| order.status.clone());
        match status.as_deref() {
            Some("Active") => Ok(Some(true)),
            Some("Pending") => Ok(Some(false)),
            other => {
                tracing::warn!(whmcs_order_id = order_id, status = ?other, "The journaled WHMCS order is gone or cancelled; a new one will be created");
                self.journal(JournalUpdate::new().forget_whmcs_order())
                    .await?;
                Ok(None)
            }
        }
    }
}
