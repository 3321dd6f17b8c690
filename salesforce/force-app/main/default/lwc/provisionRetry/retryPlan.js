// What Provision / Retry does with an Order, as plain functions with no platform imports, so
// they run under Node's test runner as well as in Lightning (see salesforce/test/).

/** The Activation Status value that means provisioning is under way. */
export const ACTIVATING = 'Activating';

/** The toast title the runbook promises while an Order is Activating. */
export const ALREADY_IN_PROGRESS = 'Already in progress';

/** HTTP status of an update refused because the record changed after it was read. */
const PRECONDITION_FAILED = 412;

/**
 * Decides what a click does. `status` is the Order's Activation_Status__c as last read.
 * Returns `{ inProgress: true }` while the Order is Activating (nothing is written), otherwise
 * `{ inProgress: false, fields }` with the record input for updateRecord: Activating and both
 * error fields cleared. The Order flow publishes the event once that save commits.
 */
export function planRetry(recordId, status) {
    if (!recordId) {
        throw new Error('Provision / Retry needs the Order id');
    }
    if (status === ACTIVATING) {
        return { inProgress: true };
    }
    return {
        inProgress: false,
        fields: {
            Id: recordId,
            Activation_Status__c: ACTIVATING,
            Activation_Error_Code__c: null,
            Activation_Error_Message__c: null
        }
    };
}

/** Whether updateRecord refused the write because the Order changed since it was read. */
export function isConflict(error) {
    return Boolean(error) && error.status === PRECONDITION_FAILED;
}

/**
 * One readable line from whatever Lightning Data Service rejected with: a UI API error body
 * (an object or an array of them, with page-level and field-level errors) or a plain Error.
 */
export function describeError(error) {
    const messages = [];
    const collect = (item) => {
        if (!item) {
            return;
        }
        if (Array.isArray(item)) {
            item.forEach(collect);
            return;
        }
        if (typeof item === 'string') {
            messages.push(item);
            return;
        }
        // The detailed errors say more than the body's own summary, which is the fallback.
        const before = messages.length;
        const output = item.output;
        if (output) {
            (output.errors || []).forEach((entry) => collect(entry.message));
            Object.values(output.fieldErrors || {}).forEach((entries) =>
                entries.forEach((entry) => collect(entry.message))
            );
        }
        if (messages.length === before && typeof item.message === 'string') {
            messages.push(item.message);
        }
    };
    collect(error && error.body !== undefined ? error.body : error);
    if (messages.length === 0 && error && typeof error.message === 'string') {
        messages.push(error.message);
    }
    const unique = [...new Set(messages.filter((message) => message.trim() !== ''))];
    return unique.length > 0 ? unique.join(' ') : 'Unknown error';
}
