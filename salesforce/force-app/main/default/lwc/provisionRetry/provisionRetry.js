// Headless "Provision / Retry" quick action on Order. It reads the Order through Lightning Data
// Service, refuses with "Already in progress" while the Order is Activating, and otherwise sets
// Activating and clears the last error; the Order_Publish_Provision_Request flow publishes the
// event when that save commits. The write is conditional on the Order being unchanged since it
// was read, so a click on a stale page never overwrites what the bridge wrote meanwhile.
import { LightningElement, api, wire } from 'lwc';
import {
    getFieldValue,
    getRecord,
    notifyRecordUpdateAvailable,
    updateRecord
} from 'lightning/uiRecordApi';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import STATUS_FIELD from '@salesforce/schema/Order.Activation_Status__c';
import LAST_MODIFIED_FIELD from '@salesforce/schema/Order.LastModifiedDate';
import { ALREADY_IN_PROGRESS, describeError, isConflict, planRetry } from './retryPlan';

/** How long a click waits for the Order to load before giving up with an error toast. */
const LOAD_DEADLINE_MS = 15000;

export default class ProvisionRetry extends LightningElement {
    /** The Order's id, set by the record page. */
    @api recordId;

    order;
    loadError;
    busy = false;
    waiting = [];

    @wire(getRecord, { recordId: '$recordId', fields: [STATUS_FIELD, LAST_MODIFIED_FIELD] })
    wiredOrder({ data, error }) {
        if (data) {
            this.order = data;
            this.loadError = undefined;
        } else if (error) {
            this.loadError = error;
        } else {
            return;
        }
        const waiting = this.waiting;
        this.waiting = [];
        waiting.forEach((wake) => wake());
    }

    /** Runs once per click; a second click while one is running does nothing. */
    @api async invoke() {
        if (this.busy) {
            return;
        }
        this.busy = true;
        try {
            const order = await this.loadedOrder();
            const plan = planRetry(this.recordId, getFieldValue(order, STATUS_FIELD));
            if (plan.inProgress) {
                this.toast(ALREADY_IN_PROGRESS, 'This Order is being provisioned now.', 'info');
                return;
            }
            await updateRecord(
                { fields: plan.fields },
                { ifUnmodifiedSince: getFieldValue(order, LAST_MODIFIED_FIELD) }
            );
            this.toast(
                'Provisioning requested',
                'The Order is Activating; the provisioning bridge writes the outcome back.',
                'success'
            );
        } catch (error) {
            if (isConflict(error)) {
                // Fetch the current Order so that the page, and the next click, see it.
                notifyRecordUpdateAvailable([{ recordId: this.recordId }]);
                this.toast(
                    'The Order changed',
                    'It was updated after this page loaded. Check its Activation Status and try again.',
                    'warning'
                );
            } else {
                this.toast('Provision / Retry failed', describeError(error), 'error');
            }
        } finally {
            this.busy = false;
        }
    }

    /** The Order as Lightning Data Service last delivered it, waiting for the first delivery. */
    loadedOrder() {
        if (this.order) {
            return Promise.resolve(this.order);
        }
        if (this.loadError) {
            return Promise.reject(this.loadError);
        }
        return new Promise((resolve, reject) => {
            // A deadline, so that an Order that never loads ends in a toast, not a silent click.
            // eslint-disable-next-line @lwc/lwc/no-async-operation
            const timer = setTimeout(
                () => reject(new Error('The Order did not load; reload the page and try again.')),
                LOAD_DEADLINE_MS
            );
            this.waiting.push(() => {
                clearTimeout(timer);
                if (this.order) {
                    resolve(this.order);
                } else {
                    reject(this.loadError);
                }
            });
        });
    }

    toast(title, message, variant) {
        this.dispatchEvent(new ShowToastEvent({ title, message, variant }));
    }
}
