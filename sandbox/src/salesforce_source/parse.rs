//! Reading one metadata file: a field's `<CustomField>` or an object's `<CustomObject>`.
//!
//! Only the elements the sandbox uses are read; any other element (`description`,
//! `trackHistory`, `externalId`, ...) is ignored, as a deploy of a newer API version could add
//! some. Elements are matched by local name, whatever namespace the file declares.

use std::path::Path;

use roxmltree::{Document, Node};

use super::{
    error::{Problem, SourceError},
    field::{FieldType, SourceField},
    read,
};

/// The longest `Text` field the platform allows.
const MAX_TEXT_LENGTH: usize = 255;

/// The longest `LongTextArea` the platform allows.
const MAX_LONG_TEXT_LENGTH: usize = 131_072;

/// The most digits a `Number`, `Currency` or `Percent` field has.
const MAX_PRECISION: u8 = 18;

/// What an object's own file says, as far as the sandbox cares.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct ObjectMeta {
    /// `<label>`.
    pub(super) label: Option<String>,
    /// `<publishBehavior>` and `<eventType>` of a platform event.
    pub(super) event: Option<(String, String)>,
}

/// Reads the field `field` of `object` from `path`.
pub(super) fn read_field(
    path: &Path,
    object: &str,
    field: &str,
) -> Result<SourceField, SourceError> {
    let failed = |problem| SourceError::Field {
        path: path.to_owned(),
        object: object.to_owned(),
        field: field.to_owned(),
        problem: Box::new(problem),
    };
    let text = read::text(path).map_err(failed)?;
    let (label, field_type, required) = parse_field(&text, field).map_err(failed)?;
    Ok(SourceField {
        name: field.to_owned(),
        label,
        field_type,
        required,
        file: path.to_owned(),
    })
}

/// Reads `object`'s own file at `path`.
pub(super) fn read_object(path: &Path, object: &str) -> Result<ObjectMeta, SourceError> {
    let failed = |problem| SourceError::Object {
        path: path.to_owned(),
        object: object.to_owned(),
        problem: Box::new(problem),
    };
    let text = read::text(path).map_err(failed)?;
    parse_object(&text, object).map_err(failed)
}

/// A field's label, type and required flag from its file's text.
fn parse_field(text: &str, name: &str) -> Result<(String, FieldType, bool), Problem> {
    let document = Document::parse(text).map_err(|err| Problem::Xml(err.to_string()))?;
    let root = root_named(&document, "CustomField")?;
    for name in FIELD_ELEMENTS {
        once(root, name)?;
    }
    if let Some(full_name) = child_text(root, "fullName")
        && full_name != name
    {
        return Err(Problem::NameMismatch(full_name.to_owned()));
    }
    let label = required_text(root, "label")?.to_owned();
    let required = boolean(root, "required")?.unwrap_or(false);
    let field_type = match required_text(root, "type")? {
        "Text" => FieldType::Text {
            length: length(root, MAX_TEXT_LENGTH)?,
        },
        "TextArea" => FieldType::TextArea,
        "LongTextArea" => FieldType::LongTextArea {
            length: length(root, MAX_LONG_TEXT_LENGTH)?,
        },
        "Picklist" => picklist(root)?,
        "Number" => {
            let (precision, scale) = digits(root)?;
            FieldType::Number { precision, scale }
        }
        "Currency" => {
            let (precision, scale) = digits(root)?;
            FieldType::Currency { precision, scale }
        }
        "Percent" => {
            let (precision, scale) = digits(root)?;
            FieldType::Percent { precision, scale }
        }
        "Checkbox" => FieldType::Checkbox {
            default: boolean(root, "defaultValue")?.unwrap_or(false),
        },
        "Date" => FieldType::Date,
        "DateTime" => FieldType::DateTime,
        "Email" => FieldType::Email,
        "Phone" => FieldType::Phone,
        "Url" => FieldType::Url,
        other => return Err(Problem::UnknownType(other.to_owned())),
    };
    Ok((label, field_type, required))
}

/// An object's label (required for events and custom objects) and, for a platform event, how
/// it publishes.
fn parse_object(text: &str, name: &str) -> Result<ObjectMeta, Problem> {
    let document = Document::parse(text).map_err(|err| Problem::Xml(err.to_string()))?;
    let root = root_named(&document, "CustomObject")?;
    for name in ["label", "publishBehavior", "eventType"] {
        once(root, name)?;
    }
    let is_event = name.ends_with("__e");
    let label = if is_event || name.ends_with("__c") {
        Some(required_text(root, "label")?.to_owned())
    } else {
        child_text(root, "label")
            .filter(|label| !label.is_empty())
            .map(str::to_owned)
    };
    let event = if is_event {
        let behavior = one_of(
            root,
            "publishBehavior",
            &["PublishAfterCommit", "PublishImmediately"],
        )?;
        let volume = one_of(root, "eventType", &["HighVolume", "StandardVolume"])?;
        Some((behavior.to_owned(), volume.to_owned()))
    } else {
        None
    };
    Ok(ObjectMeta { label, event })
}

fn root_named<'a, 'input>(
    document: &'a Document<'input>,
    expected: &'static str,
) -> Result<Node<'a, 'input>, Problem> {
    let root = document.root_element();
    let found = root.tag_name().name();
    if found == expected {
        Ok(root)
    } else {
        Err(Problem::Root {
            found: found.to_owned(),
            expected,
        })
    }
}

/// The elements of a field definition the loader reads: each may appear once.
const FIELD_ELEMENTS: [&str; 9] = [
    "fullName",
    "label",
    "type",
    "required",
    "length",
    "precision",
    "scale",
    "defaultValue",
    "valueSet",
];

/// Refuses a second `name` child of `node`: the platform's schema allows one, and reading only
/// the first would hide what the second says.
fn once(node: Node<'_, '_>, name: &'static str) -> Result<(), Problem> {
    let count = node
        .children()
        .filter(|child| child.is_element() && child.tag_name().name() == name)
        .count();
    if count > 1 {
        Err(Problem::Repeated(name))
    } else {
        Ok(())
    }
}

/// The first child element of `node` called `name`.
fn child<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    node.children()
        .find(|child| child.is_element() && child.tag_name().name() == name)
}

/// The trimmed text of the first child element called `name` (`""` when it is empty).
fn child_text<'a>(node: Node<'a, '_>, name: &str) -> Option<&'a str> {
    child(node, name).map(|child| child.text().unwrap_or_default().trim())
}

/// The non-empty text of a child that must be there.
fn required_text<'a>(node: Node<'a, '_>, name: &'static str) -> Result<&'a str, Problem> {
    child_text(node, name)
        .filter(|text| !text.is_empty())
        .ok_or(Problem::Missing(name))
}

/// A `true`/`false` child, `None` when absent.
fn boolean(node: Node<'_, '_>, name: &'static str) -> Result<Option<bool>, Problem> {
    match child_text(node, name) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => Err(Problem::BadValue {
            element: name,
            value: other.to_owned(),
            expected: "true or false".to_owned(),
        }),
    }
}

/// A child that must hold one of `allowed`.
fn one_of<'a>(
    node: Node<'a, '_>,
    name: &'static str,
    allowed: &[&str],
) -> Result<&'a str, Problem> {
    let value = required_text(node, name)?;
    if allowed.contains(&value) {
        Ok(value)
    } else {
        Err(Problem::BadValue {
            element: name,
            value: value.to_owned(),
            expected: format!("one of {}", allowed.join(", ")),
        })
    }
}

/// A number child that must be there and lie in `min..=max`.
fn number(
    node: Node<'_, '_>,
    name: &'static str,
    min: usize,
    max: usize,
) -> Result<usize, Problem> {
    let text = required_text(node, name)?;
    match text.parse::<usize>() {
        Ok(value) if (min..=max).contains(&value) => Ok(value),
        _ => Err(Problem::BadValue {
            element: name,
            value: text.to_owned(),
            expected: format!("a whole number from {min} to {max}"),
        }),
    }
}

/// `<length>`, from 1 to `max`.
fn length(node: Node<'_, '_>, max: usize) -> Result<usize, Problem> {
    number(node, "length", 1, max)
}

/// `<precision>` (1–18) and `<scale>` (0 to the precision).
fn digits(node: Node<'_, '_>) -> Result<(u8, u8), Problem> {
    let max = usize::from(MAX_PRECISION);
    let precision = number(node, "precision", 1, max)?;
    let scale = number(node, "scale", 0, precision)?;
    // Both are at most 18, so they fit.
    Ok((
        u8::try_from(precision).unwrap_or(MAX_PRECISION),
        u8::try_from(scale).unwrap_or(MAX_PRECISION),
    ))
}

/// A picklist's own values (inactive ones left out) and whether it is restricted.
fn picklist(root: Node<'_, '_>) -> Result<FieldType, Problem> {
    let value_set = child(root, "valueSet").ok_or(Problem::NoPicklistValues)?;
    for name in ["valueSetName", "restricted", "valueSetDefinition"] {
        once(value_set, name)?;
    }
    if let Some(name) = child_text(value_set, "valueSetName") {
        return Err(Problem::GlobalValueSet(name.to_owned()));
    }
    let restricted = boolean(value_set, "restricted")?.unwrap_or(false);
    let definition = child(value_set, "valueSetDefinition").ok_or(Problem::NoPicklistValues)?;
    let mut values = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for value in definition
        .children()
        .filter(|node| node.is_element() && node.tag_name().name() == "value")
    {
        let name = required_text(value, "fullName")
            .map_err(|_| Problem::Missing("valueSet/valueSetDefinition/value/fullName"))?;
        // The platform refuses a second value of the same API name, inactive or not.
        if seen.iter().any(|known| known.eq_ignore_ascii_case(name)) {
            return Err(Problem::DuplicateValue(name.to_owned()));
        }
        seen.push(name);
        if boolean(value, "isActive")? != Some(false) {
            values.push(name.to_owned());
        }
    }
    if values.is_empty() {
        return Err(Problem::NoPicklistValues);
    }
    Ok(FieldType::Picklist { values, restricted })
}
