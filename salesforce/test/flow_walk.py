"""Runs a record-triggered Flow's elements for one saved record, the way the Flow runtime does,
so that check_project.py can state what a Flow does to an Order (its fields after a before-save
Flow, the records an after-save Flow creates) instead of how the Flow is drawn.

The entry condition (the start's filterFormula) is not evaluated: a walk starts as if the record
met it, and check_project.py checks the formula's text on its own. Only what the Order Flows use
is understood: decisions whose rules join conditions with AND or OR (operators EqualTo,
NotEqualTo, IsNull), assignments (Assign) to $Record fields, and record creates. A walk that meets
anything else stops and says so, rather than guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NS = "http://soap.sforce.com/2006/04/metadata"
Q = "{" + NS + "}"

# More elements than this in one walk means the connectors go round in a loop.
STEP_LIMIT = 100


@dataclass
class Save:
    """One save of an Order, as the Flow sees it."""

    # The record's fields as saved; a new record has no Id before its first save.
    record: dict
    # The record before this save; None for a new record.
    prior: dict | None = None
    # The custom permissions the saving user holds.
    permissions: frozenset = frozenset()


@dataclass
class Walk:
    """Where a walk went and what it did."""

    record: dict
    visited: list = field(default_factory=list)
    created: list = field(default_factory=list)
    # Why the walk stopped before the Flow's end; empty when it ran to the end.
    complaints: list = field(default_factory=list)


def _text(element, path):
    found = element.find("/".join(Q + part for part in path.split("/")))
    return None if found is None or found.text is None else found.text.strip()


def _empty_to_none(value):
    # Salesforce stores an empty text as null, and Flow compares them as equal.
    return None if value == "" else value


class _Unknown(Exception):
    pass


def _resolve(reference, save, record):
    if reference.startswith("$Record."):
        return record.get(reference[len("$Record.") :])
    if reference == "$Record__Prior":
        return save.prior
    if reference.startswith("$Record__Prior."):
        return None if save.prior is None else save.prior.get(reference[len("$Record__Prior.") :])
    if reference.startswith("$Permission."):
        return reference[len("$Permission.") :] in save.permissions
    constants = {"$GlobalConstant.EmptyString": "", "$GlobalConstant.True": True, "$GlobalConstant.False": False}
    if reference in constants:
        return constants[reference]
    raise _Unknown(f"cannot tell the value of {reference}")


def _value(element, save, record):
    """The value of a <value> or <rightValue> element."""
    if element is None:
        raise _Unknown("a condition or assignment has no value")
    for kind in ("stringValue", "booleanValue", "numberValue", "elementReference"):
        found = element.find(Q + kind)
        if found is None:
            continue
        text = (found.text or "").strip()
        if kind == "stringValue":
            return text
        if kind == "booleanValue":
            return text == "true"
        if kind == "numberValue":
            return float(text)
        return _resolve(text, save, record)
    raise _Unknown("a value of a kind the checks do not know")


def _holds(condition, save, record):
    left = _empty_to_none(_resolve(_text(condition, "leftValueReference") or "", save, record))
    right = _value(condition.find(Q + "rightValue"), save, record)
    operator = _text(condition, "operator")
    if operator == "IsNull":
        return (left is None) == right
    if operator in ("EqualTo", "NotEqualTo"):
        return (left == _empty_to_none(right)) == (operator == "EqualTo")
    raise _Unknown(f"a condition with the operator {operator}, which the checks do not follow")


def _rule_holds(rule, save, record):
    results = [_holds(c, save, record) for c in rule.findall(Q + "conditions")]
    logic = (_text(rule, "conditionLogic") or "and").lower()
    if logic == "and":
        return all(results)
    if logic == "or":
        return any(results)
    raise _Unknown(f"the rule {_text(rule, 'name')} joins its conditions as {logic!r}")


def _assign(assignment, save, record):
    for item in assignment.findall(Q + "assignmentItems"):
        target = _text(item, "assignToReference") or ""
        if not target.startswith("$Record.") or _text(item, "operator") != "Assign":
            raise _Unknown(f"an assignment to {target} the checks do not follow")
        record[target[len("$Record.") :]] = _empty_to_none(_value(item.find(Q + "value"), save, record))


def walk(root, save):
    """Runs the Flow `root` (a parsed flow-meta.xml) for `save`, from its start to its end."""
    result = Walk(record=dict(save.record))
    elements = {}
    for element in root:
        name = _text(element, "name")
        if name is not None and element.tag != Q + "processMetadataValues":
            elements[name] = element
    start = root.find(Q + "start")
    target = None if start is None else _text(start, "connector/targetReference")
    try:
        while target is not None:
            if len(result.visited) >= STEP_LIMIT or target in result.visited:
                raise _Unknown(f"the connectors go round in a loop at {target}")
            element = elements.get(target)
            if element is None:
                raise _Unknown(f"a connector points at {target}, which is no element")
            result.visited.append(target)
            kind = element.tag[len(Q) :]
            if kind == "decisions":
                rule = next((r for r in element.findall(Q + "rules") if _rule_holds(r, save, result.record)), None)
                path = "connector/targetReference" if rule is not None else "defaultConnector/targetReference"
                target = _text(element if rule is None else rule, path)
            elif kind == "assignments":
                _assign(element, save, result.record)
                target = _text(element, "connector/targetReference")
            elif kind == "recordCreates":
                result.created.append(_text(element, "object"))
                target = _text(element, "connector/targetReference")
            else:
                raise _Unknown(f"the element {target} is a {kind}, which the checks do not follow")
    except _Unknown as err:
        result.complaints.append(str(err))
    return result
