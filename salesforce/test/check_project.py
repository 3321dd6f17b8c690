"""Offline checks of the Salesforce DX project that no org is needed for.

Run by scripts/check-salesforce after `sf project convert source`:

    python3 check_project.py <salesforce dir> <converted metadata dir>

It checks that every XML file parses; that the converted package.xml names every component the
source holds (so the converter skipped nothing); that the names the components use for each other
(fields, picklist values, the custom permission, the event, the Lightning component) exist; and
the properties that make one approval publish exactly one event, start a new Order (a clone
carries the original's activation fields) clean, and keep the bridge's own writes from publishing
any, by walking the flows for each kind of save; that field files agree with their names and list no picklist value twice, and
that the event has only the field types platform events have; and that the permission sets let
the bridge read and write every field the fulfillment service declares it uses
(fulfillment/src/orchestrator/fields_used.rs, beside this project) and let an operator write what
Provision / Retry writes. It cannot tell whether an org accepts the metadata: only a deploy does.
Every problem found is printed, one a line, and the exit status is 1 when there is any.
"""

import re
import sys
from pathlib import Path
from xml.etree import ElementTree

import flow_cases

NS = "http://soap.sforce.com/2006/04/metadata"
Q = "{" + NS + "}"

# Salesforce keeps these descriptions to 255 characters; longer ones fail the deploy.
DESCRIPTION_LIMIT = 255

# Standard Order fields the flows and the Lightning component may name.
STANDARD_ORDER_FIELDS = {"Id", "Status", "LastModifiedDate"}

PERMISSION_SET = "Provisioning_Bridge_Integration"
OPERATOR_PERMISSION_SET = "Provisioning_Operator"
CUSTOM_PERMISSION = "Provisioning_Bridge_Integration"
BEFORE_SAVE_FLOW = "Order_Mark_Activating_On_Approval"
AFTER_SAVE_FLOW = "Order_Publish_Provision_Request"
EVENT = "OrderProvisionRequested__e"
QUICK_ACTION = "Order.Provision_Retry"

# Where the fulfillment service declares every custom field it reads (SOQL) and writes (PATCH)
# through the integration user, relative to the repository root (the project's parent folder).
FIELDS_USED_SOURCE = Path("fulfillment/src/orchestrator/fields_used.rs")
FIELD_USE = re.compile(
    r'FieldUse\s*\{\s*object:\s*"(\w+)",\s*field:\s*"(\w+)",\s*access:\s*Access::(Read|Write)\b'
)

# The field types a platform event can have (Setup offers no others for events).
EVENT_FIELD_TYPES = {"Checkbox", "Date", "DateTime", "Number", "Text", "LongTextArea"}

OBJECTS_READ = ["Account", "Order", "Product2", EVENT]
USER_PERMISSIONS = ["ApiEnabled", "EditActivatedOrders"]

# Source file suffix → metadata type. A new kind of file must be added here, so that the package
# check below covers it.
SOURCE_TYPES = {
    ".field-meta.xml": "CustomField",
    ".object-meta.xml": "CustomObject",
    ".customPermission-meta.xml": "CustomPermission",
    ".flow-meta.xml": "Flow",
    ".permissionset-meta.xml": "PermissionSet",
    ".quickAction-meta.xml": "QuickAction",
    ".js-meta.xml": "LightningComponentBundle",
}
REQUIRED_TYPES = set(SOURCE_TYPES.values())

problems = []


def problem(text):
    # A file that fails to parse is met by several checks: say it once.
    if text not in problems:
        problems.append(text)


def text_of(element, path):
    found = element.find("/".join(Q + part for part in path.split("/")))
    return None if found is None or found.text is None else found.text.strip()


def children(element, name):
    return element.findall(Q + name)


def parse(path):
    try:
        return ElementTree.parse(path).getroot()
    except ElementTree.ParseError as err:
        problem(f"{path}: not well-formed XML: {err}")
        return None


def member_name(path, suffix):
    base = path.name[: -len(suffix)]
    if suffix == ".field-meta.xml":
        return f"{path.parent.parent.name}.{base}"
    return base


def check_xml_and_package(source, converted):
    """Every XML file parses in the metadata namespace; package.xml lists each component."""
    expected = {}
    for path in sorted(source.rglob("*.xml")):
        root = parse(path)
        if root is not None and not root.tag.startswith(Q):
            problem(f"{path}: root element {root.tag} is not in the {NS} namespace")
        suffix = next((s for s in SOURCE_TYPES if path.name.endswith(s)), None)
        if suffix is None:
            problem(f"{path}: a kind of metadata file these checks do not know")
            continue
        expected.setdefault(SOURCE_TYPES[suffix], set()).add(member_name(path, suffix))

    if not (converted / "package.xml").is_file():
        problem(f"{converted}: the conversion wrote no package.xml")
        return
    package = parse(converted / "package.xml")
    if package is None:
        return
    listed = {}
    for types in children(package, "types"):
        name = text_of(types, "name")
        listed[name] = {m.text for m in children(types, "members")}
    for kind in sorted(REQUIRED_TYPES - set(listed)):
        problem(f"package.xml lists no {kind}")
    for kind, members in sorted(expected.items()):
        missing = members - listed.get(kind, set())
        if missing:
            problem(f"package.xml lacks {kind} {sorted(missing)}: the converter skipped them")


def load_fields(default):
    """Object → field → parsed field file, and each picklist field's values."""
    fields, picklists = {}, {}
    for path in default.glob("objects/*/fields/*.field-meta.xml"):
        root = parse(path)
        if root is None:
            continue
        obj, name = path.parent.parent.name, path.name[: -len(".field-meta.xml")]
        fields.setdefault(obj, {})[name] = root
        values = root.findall(f"{Q}valueSet/{Q}valueSetDefinition/{Q}value/{Q}fullName")
        if values:
            picklists[f"{obj}.{name}"] = {v.text for v in values}
    return fields, picklists


def field_exists(fields, qualified):
    obj, name = qualified.split(".", 1)
    if obj == "Order" and name in STANDARD_ORDER_FIELDS:
        return True
    return name in fields.get(obj, {})


def check_field_files(default):
    """What sf project convert does not look at: a field's <fullName> against its file name, a
    picklist value listed twice, and the event's field types and publish behaviour."""
    for path in sorted(default.glob("objects/*/fields/*.field-meta.xml")):
        root = parse(path)
        if root is None:
            continue
        obj, name = path.parent.parent.name, path.name[: -len(".field-meta.xml")]
        full_name = text_of(root, "fullName")
        if full_name is not None and full_name != name:
            problem(f"{path}: <fullName> is {full_name!r}, not {name!r} as the file name says")
        seen = set()
        for value in root.findall(f"{Q}valueSet/{Q}valueSetDefinition/{Q}value/{Q}fullName"):
            key = (value.text or "").strip().lower()
            if key in seen:
                problem(f"{path}: the picklist lists {value.text!r} twice")
            seen.add(key)
        if obj.endswith("__e"):
            kind = text_of(root, "type")
            if kind not in EVENT_FIELD_TYPES:
                problem(f"{path}: a platform event cannot have a {kind} field")
            if not name.endswith("__c"):
                problem(f"{path}: a platform event has only custom fields (__c)")
    event = default / "objects" / EVENT / f"{EVENT}.object-meta.xml"
    root = parse(event) if event.is_file() else None
    if root is None:
        problem(f"{event}: missing")
    elif text_of(root, "publishBehavior") != "PublishAfterCommit":
        # The bridge reads the Order the event names: it must see the committed save.
        problem(f"{event}: publishBehavior must be PublishAfterCommit")


def check_descriptions(default):
    for pattern in ("flows/*.xml", "permissionsets/*.xml", "customPermissions/*.xml"):
        for path in default.glob(pattern):
            root = parse(path)
            for element in [] if root is None else root.iter(Q + "description"):
                if element.text and len(element.text) > DESCRIPTION_LIMIT:
                    problem(f"{path}: a description of {len(element.text)} characters (limit 255)")


def check_flow_common(path, root, fields, picklists, trigger):
    """What both Order flows share: trigger, connectors, references, the bridge skip."""
    start = root.find(Q + "start")
    if start is None:
        problem(f"{path}: no start element")
        return None, ""
    if text_of(start, "object") != "Order" or text_of(start, "triggerType") != trigger:
        problem(f"{path}: must be a {trigger} flow on Order")
    if text_of(start, "recordTriggerType") != "CreateAndUpdate":
        problem(f"{path}: must run when an Order is created and when it is updated")
    if text_of(root, "status") != "Active":
        problem(f"{path}: status must be Active")

    names = {text_of(e, "name") for e in root if e.find(Q + "name") is not None}
    for ref in root.iter(Q + "targetReference"):
        if ref.text not in names:
            problem(f"{path}: a connector points at {ref.text}, which is no element")

    text = ElementTree.tostring(root, encoding="unicode")
    for field in set(re.findall(r"\$Record\.(\w+)", text)):
        if not field_exists(fields, f"Order.{field}"):
            problem(f"{path}: names Order.{field}, which the project does not define")
    for field, value in re.findall(r'ISPICKVAL\(\{!\$Record\.(\w+__c)\}, "([^"]*)"\)', text):
        if value not in picklists.get(f"Order.{field}", set()):
            problem(f"{path}: compares Order.{field} with {value!r}, not one of its values")

    # The first thing after the start must end the run for the bridge's integration user.
    first = text_of(start, "connector/targetReference")
    decision = next(
        (d for d in children(root, "decisions") if text_of(d, "name") == first), None
    )
    skips = False
    for rule in [] if decision is None else children(decision, "rules"):
        tests_permission = any(
            text_of(c, "leftValueReference") == f"$Permission.{CUSTOM_PERMISSION}"
            and text_of(c, "operator") == "EqualTo"
            and text_of(c, "rightValue/booleanValue") == "true"
            for c in children(rule, "conditions")
        )
        skips = skips or (tests_permission and rule.find(Q + "connector") is None)
    if not skips:
        problem(f"{path}: the first element must end the run when $Permission.{CUSTOM_PERMISSION}")
    return start, text_of(start, "filterFormula") or ""


def check_flows(default, fields, picklists):
    before = default / "flows" / f"{BEFORE_SAVE_FLOW}.flow-meta.xml"
    after = default / "flows" / f"{AFTER_SAVE_FLOW}.flow-meta.xml"
    for path in (before, after):
        if not path.is_file():
            problem(f"{path}: missing")
            return

    root = parse(before)
    if root is not None:
        _, formula = check_flow_common(before, root, fields, picklists, "RecordBeforeSave")
        for element in ("recordCreates", "recordUpdates", "recordDeletes", "actionCalls"):
            if children(root, element):
                problem(f"{before}: a before-save flow must only assign to $Record ({element})")
        # Every new Order must meet the flow, whatever a clone copied into it; an update only
        # when it is an approval.
        if not re.match(r"\s*ISNEW\(\)\s*\|\|\s*\(", formula):
            problem(f"{before}: must start for every new Order: the entry condition begins ISNEW() || (")
        if "ISCHANGED({!$Record.Status})" not in formula or '"Activated")' not in formula:
            problem(f"{before}: must start for an update only when Status changes to Activated")
        statuses = picklists.get("Order.Activation_Status__c", set())
        for finding in flow_cases.before_save_findings(root, statuses, CUSTOM_PERMISSION):
            problem(f"{before}: {finding}")

    root = parse(after)
    if root is not None:
        _, formula = check_flow_common(after, root, fields, picklists, "RecordAfterSave")
        # Updating the Order here would save it again and could run both flows a second time.
        for element in ("recordUpdates", "recordDeletes", "actionCalls", "subflows"):
            if children(root, element):
                problem(f"{after}: must not {element}: only the event is created")
        if "ISCHANGED({!$Record.Activation_Status__c})" not in formula or '"Activating")' not in formula:
            problem(f"{after}: must start only when Activation_Status__c changes to Activating")
        if "ISNEW()" not in formula:
            # ISCHANGED is false on create: a new Order saved approved would publish nothing.
            problem(f"{after}: must also start for a new Order that is Activating (ISNEW())")
        for finding in flow_cases.after_save_findings(root, CUSTOM_PERMISSION, EVENT):
            problem(f"{after}: {finding}")
        creates = children(root, "recordCreates")
        if len(creates) != 1 or text_of(creates[0], "object") != EVENT:
            problem(f"{after}: must create exactly one {EVENT}")
        else:
            assignments = {
                text_of(i, "field"): text_of(i, "value/elementReference")
                for i in children(creates[0], "inputAssignments")
            }
            if assignments != {"OrderId__c": "$Record.Id"}:
                problem(f"{after}: the event must carry OrderId__c = $Record.Id only")
            if "OrderId__c" not in fields.get(EVENT, {}):
                problem(f"{after}: {EVENT}.OrderId__c is not defined in objects/")


def permissions_of(root):
    fls = {
        text_of(f, "field"): (text_of(f, "readable"), text_of(f, "editable"))
        for f in children(root, "fieldPermissions")
    }
    objects = {
        text_of(o, "object"): (text_of(o, "allowRead"), text_of(o, "allowEdit"))
        for o in children(root, "objectPermissions")
    }
    users = {text_of(u, "name") for u in children(root, "userPermissions") if text_of(u, "enabled") == "true"}
    custom = {text_of(c, "name") for c in children(root, "customPermissions") if text_of(c, "enabled") == "true"}
    return fls, objects, users, custom


def fields_used(project):
    """(field, access) for every custom field the fulfillment service declares, read from its
    Rust declarations so that a field it starts using cannot miss its field-level security."""
    source = project.resolve().parent / FIELDS_USED_SOURCE
    if not source.is_file():
        problem(f"{source}: missing: the services' field declarations are checked against the permission set")
        return []
    code = source.read_text(encoding="utf-8")
    declared = [(f"{obj}.{field}", access) for obj, field, access in FIELD_USE.findall(code)]
    # Every `FieldUse {` literal must have been read, else a changed layout would hide fields.
    if not declared or len(declared) != len(re.findall(r"FieldUse\s*\{", code)):
        problem(f"{source}: could not read every FieldUse (object, field, access) declaration")
    return declared


def operator_writes(default):
    """The Order fields Provision / Retry writes: the keys of the record input retryPlan.js builds."""
    plan = default / "lwc" / "provisionRetry" / "retryPlan.js"
    if not plan.is_file():
        problem(f"{plan}: missing")
        return []
    written = sorted(set(re.findall(r"\b(\w+__c)\s*:", plan.read_text(encoding="utf-8"))))
    if not written:
        problem(f"{plan}: names no field it writes")
    return [f"Order.{field}" for field in written]


def check_permission_sets(default, fields, used, retried):
    if not (default / "customPermissions" / f"{CUSTOM_PERMISSION}.customPermission-meta.xml").is_file():
        problem(f"the custom permission {CUSTOM_PERMISSION} is missing")
    for path in default.glob("permissionsets/*.permissionset-meta.xml"):
        root = parse(path)
        if root is None:
            continue
        fls, objects, users, custom = permissions_of(root)
        for field in fls:
            if not field_exists(fields, field):
                problem(f"{path}: field permission on {field}, which the project does not define")
        if text_of(root, "hasActivationRequired") != "false":
            problem(f"{path}: hasActivationRequired must be false (a headless login never activates it)")
        name = path.name[: -len(".permissionset-meta.xml")]
        if name == PERMISSION_SET:
            for field, access in used:
                if fls.get(field, (None, None))[0] != "true":
                    problem(f"{path}: the bridge reads {field}, which is not readable")
                if access == "Write" and fls.get(field) != ("true", "true"):
                    problem(f"{path}: the bridge writes {field}, which is not editable")
            for obj in OBJECTS_READ:
                if objects.get(obj, (None, None))[0] != "true":
                    problem(f"{path}: no read on {obj}")
            if objects.get("Order", (None, None))[1] != "true":
                problem(f"{path}: no edit on Order")
            for permission in USER_PERMISSIONS:
                if permission not in users:
                    problem(f"{path}: user permission {permission} is not enabled")
            if CUSTOM_PERMISSION not in custom:
                problem(f"{path}: must enable the custom permission {CUSTOM_PERMISSION}")
        elif CUSTOM_PERMISSION in custom:
            # The flows skip whoever holds it: an operator with it could never retry.
            problem(f"{path}: only {PERMISSION_SET} may grant {CUSTOM_PERMISSION}")
        if name == OPERATOR_PERMISSION_SET:
            for field in retried:
                if fls.get(field) != ("true", "true"):
                    problem(f"{path}: Provision / Retry writes {field}, which is not editable")
            if objects.get("Order", (None, None)) != ("true", "true"):
                problem(f"{path}: Provision / Retry needs read and edit on Order")
            if "EditActivatedOrders" not in users:
                problem(f"{path}: Provision / Retry edits activated Orders: EditActivatedOrders")
    if not (default / "permissionsets" / f"{PERMISSION_SET}.permissionset-meta.xml").is_file():
        problem(f"the permission set {PERMISSION_SET} is missing")
    if not (default / "permissionsets" / f"{OPERATOR_PERMISSION_SET}.permissionset-meta.xml").is_file():
        problem(f"the permission set {OPERATOR_PERMISSION_SET} is missing")


def check_quick_action(default, fields, picklists):
    path = default / "quickActions" / f"{QUICK_ACTION}.quickAction-meta.xml"
    root = parse(path) if path.is_file() else None
    if root is None:
        problem(f"{path}: missing")
        return
    if text_of(root, "type") != "LightningWebComponent":
        problem(f"{path}: type must be LightningWebComponent")
    bundle = default / "lwc" / (text_of(root, "lightningWebComponent") or "?")
    meta = bundle / f"{bundle.name}.js-meta.xml"
    lwc = parse(meta) if meta.is_file() else None
    if lwc is None:
        problem(f"{path}: names the component {bundle.name}, which has no bundle")
        return
    targets = {t.text for t in lwc.iter(Q + "target")}
    action_types = {t.text for t in lwc.iter(Q + "actionType")}
    if "lightning__RecordAction" not in targets or action_types != {"Action"}:
        problem(f"{meta}: must be a headless record action (lightning__RecordAction, Action)")
    if text_of(root, "actionSubtype") not in action_types:
        problem(f"{path}: actionSubtype must match the component's actionType")

    code = "\n".join(p.read_text(encoding="utf-8") for p in sorted(bundle.glob("*.js")))
    for field in re.findall(r"@salesforce/schema/Order\.(\w+)", code):
        if not field_exists(fields, f"Order.{field}"):
            problem(f"{bundle}: imports Order.{field}, which the project does not define")
    for field in set(re.findall(r"\b(\w+__c)\b", code)):
        if not field_exists(fields, f"Order.{field}"):
            problem(f"{bundle}: names Order.{field}, which the project does not define")
    for value in re.findall(r"ACTIVATING = '([^']*)'", code):
        if value not in picklists.get("Order.Activation_Status__c", set()):
            problem(f"{bundle}: writes Activation_Status__c = {value!r}, not one of its values")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: check_project.py <salesforce dir> <converted metadata dir>")
    project, converted = Path(sys.argv[1]), Path(sys.argv[2])
    default = project / "force-app" / "main" / "default"

    check_xml_and_package(project / "force-app", converted)
    fields, picklists = load_fields(default)
    check_descriptions(default)
    check_flows(default, fields, picklists)
    check_field_files(default)
    check_permission_sets(default, fields, fields_used(project), operator_writes(default))
    check_quick_action(default, fields, picklists)

    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
