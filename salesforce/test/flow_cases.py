"""The saves each Order flow must handle, and what it must do for each: the outcomes
check_project.py holds the flows to, found by walking them (flow_walk.py).

The before-save flow must leave a new Order clean, whatever a clone copied into it (Not Started,
no error, no WHMCS order), or Activating when it is saved already approved; on an approval it sets
Activating and clears the last error; it leaves the bridge's own saves alone. The after-save flow
must create exactly one event for an Order that became Activating and none for the bridge's saves.
A finding is one line naming the case and what went wrong; none means the flow does what it must.
"""

import flow_walk

# What a clone carries: the activation fields of a provisioned Order it was cloned from.
COPIED = {
    "Activation_Status__c": "Activated",
    "Activation_Error_Code__c": "409",
    "Activation_Error_Message__c": "Payment method missing",
    "WHMCS_Order_ID__c": "1042",
}
CLEAN = {"Activation_Error_Code__c": None, "Activation_Error_Message__c": None, "WHMCS_Order_ID__c": None}
ERRORS_CLEARED = {"Activation_Error_Code__c": None, "Activation_Error_Message__c": None}
SAVED_ID = "801000000000001AAA"


def new_order(**fields):
    """A new Order as a clone saves it: no Id yet, and the original's activation fields."""
    return flow_walk.Save(record={"Id": None, **COPIED, "Status": "Draft", **fields})


def approval(**fields):
    """An update that changes Status from Draft to Activated."""
    record = {"Id": SAVED_ID, **COPIED, "WHMCS_Order_ID__c": None, "Status": "Activated", **fields}
    return flow_walk.Save(record=record, prior={**record, "Status": "Draft"})


def by(permission, save):
    """The same save made by a user holding the custom permission."""
    return flow_walk.Save(record=save.record, prior=save.prior, permissions=frozenset({permission}))


def before_save_cases(bridge_permission):
    """(what, save, fields the flow must leave; None: the Order as saved, untouched), for saves
    that meet the before-save flow's entry condition."""
    return [
        ("a new Order (a clone of a provisioned one)", new_order(), {"Activation_Status__c": "Not Started", **CLEAN}),
        (
            "a new Order (a clone of one being provisioned)",
            new_order(Activation_Status__c="Activating"),
            {"Activation_Status__c": "Not Started", **CLEAN},
        ),
        (
            "a new Order saved approved",
            new_order(Status="Activated", Activation_Status__c="Activating"),
            {"Activation_Status__c": "Activating", **CLEAN},
        ),
        ("an approval", approval(Activation_Status__c="Failed"), {"Activation_Status__c": "Activating", **ERRORS_CLEARED}),
        ("a new Order the bridge saves", by(bridge_permission, new_order()), None),
        ("an approval the bridge saves", by(bridge_permission, approval(Activation_Status__c="Failed")), None),
    ]


def after_save_cases(bridge_permission, event):
    """(what, save, the objects the flow must create), for saves that meet the after-save flow's
    entry condition."""
    becomes_activating = approval(Activation_Status__c="Activating")
    return [
        ("an Order that became Activating", becomes_activating, [event]),
        ("the bridge's own save", by(bridge_permission, becomes_activating), []),
    ]


def describe(value):
    return "cleared" if value is None else repr(value)


def walks(root, cases, findings):
    """(what, save, expected, walk) for every case the walk follows to the flow's end; a case it
    cannot follow is a finding."""
    for what, save, expected in cases:
        walked = flow_walk.walk(root, save)
        for complaint in walked.complaints:
            findings.append(f"on {what}, the checks cannot follow the flow: {complaint}")
        if not walked.complaints:
            yield what, save, expected, walked


def before_save_findings(root, statuses, bridge_permission):
    """What the before-save flow `root` does wrong; `statuses` are Activation_Status__c's values."""
    findings = []
    for what, save, outcome, walked in walks(root, before_save_cases(bridge_permission), findings):
        expected = dict(save.record) if outcome is None else {**save.record, **outcome}
        for name, want in expected.items():
            got = walked.record.get(name)
            if got != want:
                findings.append(f"on {what}, {name} ends {describe(got)}, not {describe(want)}")
        status = walked.record.get("Activation_Status__c")
        if status not in statuses:
            findings.append(f"on {what}, sets Activation_Status__c to {status!r}, not one of its values")
    return findings


def after_save_findings(root, bridge_permission, event):
    """What the after-save flow `root` does wrong."""
    findings = []
    for what, _, created, walked in walks(root, after_save_cases(bridge_permission, event), findings):
        if walked.created != created:
            findings.append(f"on {what}, creates {walked.created}, not {created}")
    return findings
