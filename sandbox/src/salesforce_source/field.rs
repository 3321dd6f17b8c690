//! One custom field of a DX project as the loader reads it: its API name, label, type (with
//! what its values may be) and whether it is required, plus the questions a caller checking
//! its own use of the field asks of it (does it hold text, how long, which picklist values).

use std::path::PathBuf;

/// The longest text a `TextArea` holds; fixed by the platform.
pub const TEXT_AREA_LENGTH: usize = 255;

/// The longest e-mail address an `Email` field holds; fixed by the platform.
pub const EMAIL_LENGTH: usize = 80;

/// The longest number a `Phone` field holds; fixed by the platform.
pub const PHONE_LENGTH: usize = 40;

/// The longest URL a `Url` field holds; fixed by the platform.
pub const URL_LENGTH: usize = 255;

/// A field's type, with what its values may be.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldType {
    /// Text of at most `length` characters (1–255).
    Text {
        /// The most characters a value has.
        length: usize,
    },
    /// Multi-line text of at most [`TEXT_AREA_LENGTH`] characters.
    TextArea,
    /// Long multi-line text of at most `length` characters.
    LongTextArea {
        /// The most characters a value has.
        length: usize,
    },
    /// One value of a list; a restricted picklist refuses any other value through the API.
    Picklist {
        /// The active values' API names, in the order the definition lists them.
        values: Vec<String>,
        /// Whether values outside the list are refused.
        restricted: bool,
    },
    /// A number with `precision` digits, `scale` of them after the point.
    Number {
        /// All digits.
        precision: u8,
        /// Digits after the point.
        scale: u8,
    },
    /// Money, with `precision` digits, `scale` of them after the point.
    Currency {
        /// All digits.
        precision: u8,
        /// Digits after the point.
        scale: u8,
    },
    /// A percentage, with `precision` digits, `scale` of them after the point.
    Percent {
        /// All digits.
        precision: u8,
        /// Digits after the point.
        scale: u8,
    },
    /// A checkbox.
    Checkbox {
        /// Its value on a new record.
        default: bool,
    },
    /// A date without a time.
    Date,
    /// An instant.
    DateTime,
    /// An e-mail address.
    Email,
    /// A phone number.
    Phone,
    /// A URL.
    Url,
}

impl FieldType {
    /// The type's name as `<type>` spells it in metadata.
    pub fn metadata_name(&self) -> &'static str {
        match self {
            Self::Text { .. } => "Text",
            Self::TextArea => "TextArea",
            Self::LongTextArea { .. } => "LongTextArea",
            Self::Picklist { .. } => "Picklist",
            Self::Number { .. } => "Number",
            Self::Currency { .. } => "Currency",
            Self::Percent { .. } => "Percent",
            Self::Checkbox { .. } => "Checkbox",
            Self::Date => "Date",
            Self::DateTime => "DateTime",
            Self::Email => "Email",
            Self::Phone => "Phone",
            Self::Url => "Url",
        }
    }

    /// Whether the field's value is free text in JSON (a string the caller chooses), and if so
    /// the most characters it holds. Picklists, dates and numbers are not free text.
    pub fn text_length(&self) -> Option<usize> {
        match self {
            Self::Text { length } | Self::LongTextArea { length } => Some(*length),
            Self::TextArea | Self::Url => Some(TEXT_AREA_LENGTH),
            Self::Email => Some(EMAIL_LENGTH),
            Self::Phone => Some(PHONE_LENGTH),
            Self::Picklist { .. }
            | Self::Number { .. }
            | Self::Currency { .. }
            | Self::Percent { .. }
            | Self::Checkbox { .. }
            | Self::Date
            | Self::DateTime => None,
        }
    }

    /// A picklist's values, `None` for any other type.
    pub fn picklist_values(&self) -> Option<&[String]> {
        match self {
            Self::Picklist { values, .. } => Some(values),
            _ => None,
        }
    }

    /// Whether the type is a restricted picklist.
    pub fn is_restricted_picklist(&self) -> bool {
        matches!(
            self,
            Self::Picklist {
                restricted: true,
                ..
            }
        )
    }
}

/// One field of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceField {
    /// The API name (`OrderId__c`).
    pub name: String,
    /// The label shown to users and in error messages.
    pub label: String,
    /// The type.
    pub field_type: FieldType,
    /// Whether a record must have a value.
    pub required: bool,
    /// The file that defines it.
    pub file: PathBuf,
}

impl SourceField {
    /// Whether the API may write `value` to the field as far as its type goes: free text up to
    /// its length, or one of a restricted picklist's values (any text for an unrestricted
    /// one). Other types take no text and refuse.
    pub fn accepts_text(&self, value: &str) -> bool {
        match &self.field_type {
            FieldType::Picklist { values, restricted } => {
                !restricted || values.iter().any(|known| known == value)
            }
            other => other
                .text_length()
                .is_some_and(|length| value.chars().count() <= length),
        }
    }
}
