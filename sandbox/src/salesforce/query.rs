//! Running a parsed SOQL query against the org: names are resolved against the schema
//! (`INVALID_FIELD`, `INVALID_TYPE`), filters are type-checked, and rows are rendered as
//! Salesforce renders them: `attributes` first, then exactly the selected fields in query
//! order under their API names, `null` for empty values and lookups, a nested query result for
//! a child subquery (`null` when it has no rows). Paging lives in [`paging`](super::paging).

use serde_json::Value;

use super::{
    ids::to_eighteen,
    ordered_json::OrderedJson,
    org::{Org, Row},
    schema::{Catalog, ChildDef, FieldDef, FieldKind, ObjectDef, ParentDef},
    soql::{FieldPath, Literal, Query, SelectItem, SoqlError},
};

/// A query resolved against the schema, ready to run.
#[derive(Debug)]
pub(crate) struct Plan {
    object: &'static ObjectDef,
    items: Vec<Projection>,
    filter: Vec<Filter>,
    limit: Option<usize>,
}

#[derive(Debug)]
enum Projection {
    Field(&'static FieldDef),
    Parent {
        relationship: &'static ParentDef,
        target: &'static ObjectDef,
        items: Vec<Projection>,
    },
    Child {
        relationship: &'static ChildDef,
        plan: Plan,
    },
}

#[derive(Debug)]
struct Filter {
    path: Vec<&'static ParentDef>,
    field: &'static FieldDef,
    value: Value,
}

const CUSTOM_FIELD_HINT: &str = "If you are attempting to use a custom field, be sure to append \
     the '__c' after the custom field name. Please reference your WSDL or the describe call for \
     the appropriate names.";
const CUSTOM_RELATIONSHIP_HINT: &str = "If you are attempting to use a custom relationship, be \
     sure to append the '__r' after the custom relationship name. Please reference your WSDL or \
     the describe call for the appropriate names.";

/// Resolves `query` against the org's objects.
pub(crate) fn plan(catalog: &'static Catalog, query: &Query) -> Result<Plan, SoqlError> {
    let object = catalog.object(&query.from).ok_or_else(|| {
        SoqlError::new(
            "INVALID_TYPE",
            query.from_at,
            format!(
                "sObject type '{}' is not supported. If you are attempting to use a custom \
                 object, be sure to append the '__c' after the entity name. Please reference \
                 your WSDL or the describe call for the appropriate names.",
                query.from
            ),
        )
    })?;
    plan_on(catalog, object, query)
}

fn plan_on(
    catalog: &'static Catalog,
    object: &'static ObjectDef,
    query: &Query,
) -> Result<Plan, SoqlError> {
    let mut items = Vec::new();
    for item in &query.select {
        match item {
            SelectItem::Field(path) => {
                let (parents, field) = resolve(catalog, object, path)?;
                add_projection(catalog, &mut items, &parents, field, path)?;
            }
            SelectItem::Subquery(subquery) => {
                let relationship = object.child(&subquery.from).ok_or_else(|| {
                    SoqlError::new(
                        "INVALID_TYPE",
                        subquery.from_at,
                        format!(
                            "Didn't understand relationship '{}' in FROM part of query call. {}",
                            subquery.from, CUSTOM_RELATIONSHIP_HINT
                        ),
                    )
                })?;
                let child = catalog.object(relationship.object).ok_or_else(|| {
                    SoqlError::new("INVALID_TYPE", subquery.from_at, "unknown child object")
                })?;
                let plan = plan_on(catalog, child, subquery)?;
                items.push(Projection::Child { relationship, plan });
            }
        }
    }

    let mut filter = Vec::new();
    for condition in &query.filter {
        let (path, field) = resolve(catalog, object, &condition.field)?;
        let value = filter_value(field, &condition.value).map_err(|detail| {
            SoqlError::new("INVALID_QUERY_FILTER_OPERATOR", condition.value_at, detail)
        })?;
        filter.push(Filter { path, field, value });
    }

    Ok(Plan {
        object,
        items,
        filter,
        limit: query.limit,
    })
}

/// The relationships a path walks and the field it ends on.
fn resolve(
    catalog: &'static Catalog,
    object: &'static ObjectDef,
    path: &FieldPath,
) -> Result<(Vec<&'static ParentDef>, &'static FieldDef), SoqlError> {
    let mut current = object;
    let mut parents = Vec::new();
    let Some((last, relationships)) = path.parts.split_last() else {
        return Err(SoqlError::new("MALFORMED_QUERY", path.at, "empty field"));
    };
    for name in relationships {
        let relationship = current.parent(name).ok_or_else(|| {
            SoqlError::new(
                "INVALID_FIELD",
                path.at,
                format!(
                    "Didn't understand relationship '{name}' in field path. {CUSTOM_RELATIONSHIP_HINT}"
                ),
            )
        })?;
        current = catalog
            .object(relationship.target)
            .ok_or_else(|| SoqlError::new("INVALID_FIELD", path.at, "unknown parent object"))?;
        parents.push(relationship);
    }
    let field = current.field(last).ok_or_else(|| {
        SoqlError::new(
            "INVALID_FIELD",
            path.at,
            format!(
                "No such column '{last}' on entity '{}'. {CUSTOM_FIELD_HINT}",
                current.name
            ),
        )
    })?;
    Ok((parents, field))
}

/// Adds a field under the nested parent objects it belongs to, keeping first-seen order.
fn add_projection(
    catalog: &'static Catalog,
    items: &mut Vec<Projection>,
    parents: &[&'static ParentDef],
    field: &'static FieldDef,
    path: &FieldPath,
) -> Result<(), SoqlError> {
    let Some((relationship, rest)) = parents.split_first() else {
        let duplicate = items
            .iter()
            .any(|item| matches!(item, Projection::Field(f) if f.name == field.name));
        if duplicate {
            return Err(SoqlError::new(
                "MALFORMED_QUERY",
                path.at,
                format!("duplicate field selected: {path}"),
            ));
        }
        items.push(Projection::Field(field));
        return Ok(());
    };
    let existing = items.iter_mut().find_map(|item| match item {
        Projection::Parent {
            relationship: r,
            items,
            ..
        } if r.name == relationship.name => Some(items),
        _ => None,
    });
    if let Some(nested) = existing {
        return add_projection(catalog, nested, rest, field, path);
    }
    let target = catalog
        .object(relationship.target)
        .ok_or_else(|| SoqlError::new("INVALID_FIELD", path.at, "unknown parent object"))?;
    let mut nested = Vec::new();
    add_projection(catalog, &mut nested, rest, field, path)?;
    items.push(Projection::Parent {
        relationship,
        target,
        items: nested,
    });
    Ok(())
}

/// The literal of a filter as the field's type requires, or the reason it does not fit.
fn filter_value(field: &FieldDef, literal: &Literal) -> Result<Value, String> {
    let kind = field.kind;
    let quoted = |should: bool| {
        format!(
            "value of filter criterion for field '{}' must be of type {} and should {}be enclosed \
             in quotes",
            field.name,
            kind.soql_name(),
            if should { "" } else { "not " }
        )
    };
    match (kind, literal) {
        (_, Literal::Null) => Ok(Value::Null),
        (FieldKind::Id | FieldKind::Reference(_), Literal::Text(text)) => to_eighteen(text)
            .map(Value::from)
            .ok_or_else(|| format!("invalid ID field: {text}")),
        (FieldKind::Id | FieldKind::Reference(_), _) => Err(quoted(true)),
        (
            FieldKind::Text(_) | FieldKind::AutoNumber | FieldKind::Picklist { .. },
            Literal::Text(text),
        ) => Ok(Value::from(text.as_str())),
        (FieldKind::Text(_) | FieldKind::AutoNumber | FieldKind::Picklist { .. }, _) => {
            Err(quoted(true))
        }
        (FieldKind::Currency | FieldKind::Double, Literal::Number(n)) => {
            Ok(super::org::number_value(*n))
        }
        (FieldKind::Boolean, Literal::Boolean(b)) => Ok(Value::Bool(*b)),
        _ => Err(quoted(false)),
    }
}

/// What the query yields: every matching row, rendered.
pub(crate) fn execute(plan: &Plan, org: &Org, version: &str) -> Vec<OrderedJson> {
    matching(plan, org, org.rows(plan.object.name).iter())
        .map(|row| render(org, plan.object, row, &plan.items, version))
        .collect()
}

fn matching<'a>(
    plan: &'a Plan,
    org: &'a Org,
    rows: impl Iterator<Item = &'a Row> + 'a,
) -> impl Iterator<Item = &'a Row> + 'a {
    rows.filter(move |row| {
        plan.filter
            .iter()
            .all(|filter| filter_matches(org, plan.object, row, filter))
    })
    .take(plan.limit.unwrap_or(usize::MAX))
}

fn filter_matches(org: &Org, object: &ObjectDef, row: &Row, filter: &Filter) -> bool {
    let mut current = row;
    let mut def = object;
    for relationship in &filter.path {
        let parent_id = current.get(relationship.field).and_then(Value::as_str);
        let Some(parent) = parent_id.and_then(|id| org.get(relationship.target, id)) else {
            return filter.value.is_null();
        };
        current = parent;
        def = org.catalog().object(relationship.target).unwrap_or(def);
    }
    let actual = current.get(filter.field.name).unwrap_or(&Value::Null);
    match (&filter.value, actual) {
        (Value::Null, actual) => actual.is_null(),
        (_, Value::Null) => false,
        (Value::String(wanted), Value::String(actual)) => match filter.field.kind {
            // Ids compare exactly once both are in 18-character form.
            FieldKind::Id | FieldKind::Reference(_) => wanted == actual,
            // Text comparison in SOQL ignores case.
            _ => wanted.to_lowercase() == actual.to_lowercase(),
        },
        (Value::Number(wanted), Value::Number(actual)) => wanted.as_f64() == actual.as_f64(),
        (wanted, actual) => wanted == actual,
    }
}

fn render(
    org: &Org,
    object: &ObjectDef,
    row: &Row,
    items: &[Projection],
    version: &str,
) -> OrderedJson {
    let id = row.get("Id").and_then(Value::as_str).unwrap_or_default();
    let mut members = vec![("attributes", attributes(object.name, id, version))];
    for item in items {
        match item {
            Projection::Field(field) => {
                let value = row.get(field.name).cloned().unwrap_or(Value::Null);
                members.push((field.name, value.into()));
            }
            Projection::Parent {
                relationship,
                target,
                items,
            } => {
                let parent = row
                    .get(relationship.field)
                    .and_then(Value::as_str)
                    .and_then(|id| org.get(target.name, id));
                let value = parent.map_or(OrderedJson::NULL, |parent| {
                    render(org, target, parent, items, version)
                });
                members.push((relationship.name, value));
            }
            Projection::Child { relationship, plan } => {
                let children = org.rows(relationship.object).iter().filter(|child| {
                    child.get(relationship.field).and_then(Value::as_str) == Some(id)
                });
                let records: Vec<OrderedJson> = matching(plan, org, children)
                    .map(|child| render(org, plan.object, child, &plan.items, version))
                    .collect();
                let value = if records.is_empty() {
                    OrderedJson::NULL
                } else {
                    OrderedJson::Object(vec![
                        ("totalSize", Value::from(records.len()).into()),
                        ("done", Value::Bool(true).into()),
                        ("records", OrderedJson::List(records)),
                    ])
                };
                members.push((relationship.name, value));
            }
        }
    }
    OrderedJson::Object(members)
}

/// `{"type": "Order", "url": "/services/data/v66.0/sobjects/Order/801…"}`.
pub(crate) fn attributes(object: &'static str, id: &str, version: &str) -> OrderedJson {
    OrderedJson::Object(vec![
        ("type", Value::from(object).into()),
        (
            "url",
            Value::from(format!("/services/data/v{version}/sobjects/{object}/{id}")).into(),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::{
        org::{NewItem, NewOrder},
        soql,
    };

    fn catalog() -> &'static Catalog {
        Catalog::repository().expect("the repository's project")
    }

    fn run_text(org: &Org, soql_text: &str) -> Result<String, SoqlError> {
        let query = soql::parse(soql_text)?;
        let plan = plan(org.catalog(), &query)?;
        let rows = execute(&plan, org, "66.0");
        Ok(serde_json::to_string(&OrderedJson::List(rows)).expect("serialises"))
    }

    fn run(org: &Org, soql_text: &str) -> Result<Value, SoqlError> {
        let text = run_text(org, soql_text)?;
        Ok(serde_json::from_str(&text).expect("JSON"))
    }

    #[test]
    fn unknown_names_give_salesforce_codes() {
        let org = Org::new(catalog());
        let cases = [
            (
                "SELECT Id, Nme FROM Order",
                "INVALID_FIELD",
                "No such column 'Nme' on entity 'Order'",
            ),
            (
                "SELECT Acount.Name FROM Order",
                "INVALID_FIELD",
                "Didn't understand relationship 'Acount'",
            ),
            (
                "SELECT Account.Nme FROM Order",
                "INVALID_FIELD",
                "No such column 'Nme' on entity 'Account'",
            ),
            (
                "SELECT Id FROM Orders",
                "INVALID_TYPE",
                "sObject type 'Orders' is not supported",
            ),
            (
                "SELECT (SELECT Id FROM Items) FROM Order",
                "INVALID_TYPE",
                "Didn't understand relationship 'Items'",
            ),
            (
                "SELECT Id FROM Order WHERE Id = '801'",
                "INVALID_QUERY_FILTER_OPERATOR",
                "invalid ID field: 801",
            ),
            (
                "SELECT Id FROM OrderItem WHERE Quantity = '3'",
                "INVALID_QUERY_FILTER_OPERATOR",
                "must be of type double and should not be enclosed",
            ),
            (
                "SELECT Id, id FROM Order",
                "MALFORMED_QUERY",
                "duplicate field selected: id",
            ),
        ];
        for (text, code, detail) in cases {
            let error = run(&org, text).expect_err(text);
            assert_eq!(error.code, code, "{text}");
            assert!(error.detail.contains(detail), "{text}: {}", error.detail);
        }
    }

    #[test]
    fn parent_fields_nest_in_query_order_and_filters_follow_paths() {
        let mut org = Org::new(catalog());
        let account = org.add_account("Acme", Some("42"));
        let product = org.add_product("VPS", None, None);
        let order = org.add_order(&NewOrder {
            account_id: account.clone(),
            pricebook_id: org.standard_pricebook_id().to_owned(),
            items: vec![NewItem {
                product_id: product,
                quantity: 2.0,
                unit_price: 5.0,
            }],
        });
        org.add_order(&NewOrder {
            account_id: String::new(),
            pricebook_id: String::new(),
            items: vec![],
        });

        let text = run_text(
            &org,
            "SELECT account.name, Id, ACCOUNT.wh_client_id__c FROM Order \
             WHERE Account.WH_Client_ID__c = '42'",
        )
        .expect("runs");
        let expected = format!(
            r#"[{{"attributes":{{"type":"Order","url":"/services/data/v66.0/sobjects/Order/{order}"}},"Account":{{"attributes":{{"type":"Account","url":"/services/data/v66.0/sobjects/Account/{account}"}},"Name":"Acme","WH_Client_ID__c":"42"}},"Id":"{order}"}}]"#
        );
        assert_eq!(text, expected);

        let without_account = run(
            &org,
            "SELECT Account.Name FROM Order WHERE AccountId = null",
        )
        .expect("runs");
        assert_eq!(without_account[0]["Account"], Value::Null);
        let by_short_id = run(
            &org,
            &format!("SELECT Id FROM Order WHERE Id = '{}'", &order[..15]),
        )
        .expect("runs");
        assert_eq!(by_short_id.as_array().map(Vec::len), Some(1));
        // The fourth character is the instance's upper-case letter; its lower-case twin is
        // another record's 15-character id.
        let wrong_case = format!(
            "{}{}{}",
            &order[..3],
            order[3..4].to_lowercase(),
            &order[4..15]
        );
        let by_wrong_case = run(
            &org,
            &format!("SELECT Id FROM Order WHERE Id = '{wrong_case}'"),
        )
        .expect("runs");
        assert_eq!(by_wrong_case.as_array().map(Vec::len), Some(0));
    }
}
