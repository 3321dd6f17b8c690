// Unit tests of what Provision / Retry decides, run by scripts/check-salesforce with Node's
// own test runner (no Lightning runtime needed: retryPlan.js imports nothing from the platform).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
    ACTIVATING,
    ALREADY_IN_PROGRESS,
    describeError,
    isConflict,
    planRetry
} from '../force-app/main/default/lwc/provisionRetry/retryPlan.js';

const ORDER_ID = '801xx000003GZ0nAAG';

test('an Activating Order is already in progress and nothing is written', () => {
    assert.deepEqual(planRetry(ORDER_ID, 'Activating'), { inProgress: true });
    assert.equal(ALREADY_IN_PROGRESS, 'Already in progress');
});

test('a Failed, Activated, Not Started or blank Order is set Activating with both errors cleared', () => {
    for (const status of ['Failed', 'Activated', 'Not Started', null, undefined]) {
        assert.deepEqual(
            planRetry(ORDER_ID, status),
            {
                inProgress: false,
                fields: {
                    Id: ORDER_ID,
                    Activation_Status__c: ACTIVATING,
                    Activation_Error_Code__c: null,
                    Activation_Error_Message__c: null
                }
            },
            `status ${status}`
        );
    }
});

test('the status comparison is exact: another spelling is not in progress', () => {
    assert.equal(planRetry(ORDER_ID, 'activating').inProgress, false);
});

test('without an Order id nothing is planned', () => {
    assert.throws(() => planRetry('', 'Failed'), /Order id/);
    assert.throws(() => planRetry(undefined, 'Failed'), /Order id/);
});

test('only a 412 answer counts as the Order having changed since it was read', () => {
    assert.equal(isConflict({ status: 412, body: { message: 'changed' } }), true);
    assert.equal(isConflict({ status: 400, body: { message: 'bad' } }), false);
    assert.equal(isConflict(undefined), false);
    assert.equal(isConflict(new Error('offline')), false);
});

test('UI API page and field errors become one line', () => {
    const error = {
        status: 400,
        body: {
            message: 'An error occurred while trying to update the record.',
            output: {
                errors: [{ errorCode: 'ENTITY_IS_LOCKED', message: 'Unable to modify activated Order.' }],
                fieldErrors: {
                    Activation_Status__c: [
                        { errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', message: 'Bad value.' }
                    ]
                }
            }
        }
    };
    assert.equal(describeError(error), 'Unable to modify activated Order. Bad value.');
});

test('a body without output falls back to its message, arrays are joined, repeats dropped', () => {
    assert.equal(describeError({ body: { message: 'No access.' } }), 'No access.');
    assert.equal(
        describeError({ body: [{ message: 'First.' }, { message: 'Second.' }, { message: 'First.' }] }),
        'First. Second.'
    );
});

test('a plain Error, a string and nothing at all still give a line', () => {
    assert.equal(describeError(new Error('The Order did not load.')), 'The Order did not load.');
    assert.equal(describeError('Offline.'), 'Offline.');
    assert.equal(describeError(undefined), 'Unknown error');
    assert.equal(describeError({ body: { output: { errors: [], fieldErrors: {} } } }), 'Unknown error');
});
