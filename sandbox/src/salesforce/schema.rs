//! The emulated org's metadata: one table per object listing its fields (API name, type,
//! whether the integration user may write it, picklist values, text lengths) and its
//! relationships. SOQL resolution, record rendering and `PATCH` validation all read these
//! tables, so adding a field here is all it takes to make it queryable and writable.

/// The type of a field, with what its values may be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum FieldKind {
    /// The record's own id.
    Id,
    /// A lookup to a record of the named object.
    Reference(&'static str),
    /// Text up to a number of characters.
    Text(usize),
    /// A number Salesforce generates (`OrderNumber`).
    AutoNumber,
    /// A picklist; a restricted one refuses values outside its list.
    Picklist {
        values: &'static [&'static str],
        restricted: bool,
    },
    /// Money, rendered as a JSON number.
    Currency,
    /// A floating-point number, rendered as a JSON number (`3.0`).
    Double,
    /// `YYYY-MM-DD`.
    Date,
    /// `YYYY-MM-DDTHH:MM:SS.mmm+0000`.
    DateTime,
    /// A checkbox.
    Boolean,
}

impl FieldKind {
    /// The type's name as SOQL error messages spell it.
    pub(crate) fn soql_name(self) -> &'static str {
        match self {
            Self::Id | Self::Reference(_) => "id",
            Self::Text(_) | Self::AutoNumber | Self::Picklist { .. } => "string",
            Self::Currency => "currency",
            Self::Double => "double",
            Self::Date => "date",
            Self::DateTime => "datetime",
            Self::Boolean => "boolean",
        }
    }
}

/// One field of an object.
#[derive(Debug)]
pub(crate) struct FieldDef {
    /// The API name, in its canonical casing.
    pub(crate) name: &'static str,
    /// The label shown in error messages.
    pub(crate) label: &'static str,
    /// The type.
    pub(crate) kind: FieldKind,
    /// Whether the integration user may update it.
    pub(crate) writable: bool,
    /// Whether it may not be cleared.
    pub(crate) required: bool,
}

/// A child-to-parent relationship (`Account` on Order through `AccountId`).
#[derive(Debug)]
pub(crate) struct ParentDef {
    /// The relationship name used in field paths.
    pub(crate) name: &'static str,
    /// The lookup field holding the parent's id.
    pub(crate) field: &'static str,
    /// The parent's object.
    pub(crate) target: &'static str,
}

/// A parent-to-child relationship (`OrderItems` on Order).
#[derive(Debug)]
pub(crate) struct ChildDef {
    /// The relationship name used in subqueries.
    pub(crate) name: &'static str,
    /// The child object.
    pub(crate) object: &'static str,
    /// The child's lookup field pointing at the parent.
    pub(crate) field: &'static str,
}

/// One object (sObject type).
#[derive(Debug)]
pub(crate) struct ObjectDef {
    /// The API name.
    pub(crate) name: &'static str,
    /// The three-character id prefix.
    pub(crate) key_prefix: &'static str,
    /// Every field, `Id` first.
    pub(crate) fields: &'static [FieldDef],
    /// Lookups usable in field paths.
    pub(crate) parents: &'static [ParentDef],
    /// Child relationships usable in subqueries.
    pub(crate) children: &'static [ChildDef],
}

impl ObjectDef {
    /// The field with this name, in any casing.
    pub(crate) fn field(&self, name: &str) -> Option<&'static FieldDef> {
        let fields: &'static [FieldDef] = self.fields;
        fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The parent relationship with this name, in any casing.
    pub(crate) fn parent(&self, name: &str) -> Option<&'static ParentDef> {
        let parents: &'static [ParentDef] = self.parents;
        parents.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The child relationship with this name, in any casing.
    pub(crate) fn child(&self, name: &str) -> Option<&'static ChildDef> {
        let children: &'static [ChildDef] = self.children;
        children.iter().find(|c| c.name.eq_ignore_ascii_case(name))
    }
}

/// The object with this name, in any casing.
pub(crate) fn object(name: &str) -> Option<&'static ObjectDef> {
    OBJECTS.iter().find(|o| o.name.eq_ignore_ascii_case(name))
}

/// `Activation_Status__c`, the bridge's state on an Order.
pub(crate) const ACTIVATION_STATUSES: &[&str] =
    &["Not Started", "Activating", "Activated", "Failed"];

/// `Billing_Cycle__c` on Product2: API names equal their labels.
const BILLING_CYCLES: &[&str] = &[
    "Monthly",
    "Quarterly",
    "Semi-Annually",
    "Annually",
    "Biennially",
    "Triennially",
    "One Time",
    "Free",
];

/// The standard Order statuses this org defines (one per category).
const ORDER_STATUSES: &[&str] = &["Draft", "Activated"];

const fn field(name: &'static str, label: &'static str, kind: FieldKind) -> FieldDef {
    FieldDef {
        name,
        label,
        kind,
        writable: false,
        required: false,
    }
}

const fn writable(name: &'static str, label: &'static str, kind: FieldKind) -> FieldDef {
    FieldDef {
        name,
        label,
        kind,
        writable: true,
        required: false,
    }
}

const fn required(name: &'static str, label: &'static str, kind: FieldKind) -> FieldDef {
    FieldDef {
        name,
        label,
        kind,
        writable: true,
        required: true,
    }
}

const ORDER_FIELDS: &[FieldDef] = &[
    field("Id", "Order ID", FieldKind::Id),
    field("OrderNumber", "Order Number", FieldKind::AutoNumber),
    required(
        "Status",
        "Status",
        FieldKind::Picklist {
            values: ORDER_STATUSES,
            restricted: true,
        },
    ),
    field(
        "StatusCode",
        "Status Category",
        FieldKind::Picklist {
            values: ORDER_STATUSES,
            restricted: true,
        },
    ),
    required("EffectiveDate", "Order Start Date", FieldKind::Date),
    required("AccountId", "Account ID", FieldKind::Reference("Account")),
    writable(
        "Pricebook2Id",
        "Price Book ID",
        FieldKind::Reference("Pricebook2"),
    ),
    field("TotalAmount", "Order Amount", FieldKind::Currency),
    writable(
        "Activation_Status__c",
        "Activation Status",
        FieldKind::Picklist {
            values: ACTIVATION_STATUSES,
            restricted: true,
        },
    ),
    writable(
        "Activation_Error_Code__c",
        "Activation Error Code",
        FieldKind::Text(64),
    ),
    writable(
        "Activation_Error_Message__c",
        "Activation Error Message",
        FieldKind::Text(255),
    ),
    writable("WHMCS_Order_ID__c", "WHMCS Order ID", FieldKind::Text(32)),
    field("CreatedDate", "Created Date", FieldKind::DateTime),
    field(
        "LastModifiedDate",
        "Last Modified Date",
        FieldKind::DateTime,
    ),
];

const ORDER_ITEM_FIELDS: &[FieldDef] = &[
    field("Id", "Order Product ID", FieldKind::Id),
    field("OrderId", "Order ID", FieldKind::Reference("Order")),
    required("Quantity", "Quantity", FieldKind::Double),
    required("UnitPrice", "Unit Price", FieldKind::Currency),
    field("ListPrice", "List Price", FieldKind::Currency),
    field("TotalPrice", "Total Price", FieldKind::Currency),
    field("Product2Id", "Product ID", FieldKind::Reference("Product2")),
    field(
        "PricebookEntryId",
        "Price Book Entry ID",
        FieldKind::Reference("PricebookEntry"),
    ),
    field("CreatedDate", "Created Date", FieldKind::DateTime),
    field(
        "LastModifiedDate",
        "Last Modified Date",
        FieldKind::DateTime,
    ),
];

const PRODUCT_FIELDS: &[FieldDef] = &[
    field("Id", "Product ID", FieldKind::Id),
    required("Name", "Product Name", FieldKind::Text(255)),
    writable("ProductCode", "Product Code", FieldKind::Text(255)),
    writable("IsActive", "Active", FieldKind::Boolean),
    writable("WH_Product_ID__c", "WH Product ID", FieldKind::Text(32)),
    writable(
        "Billing_Cycle__c",
        "Billing Cycle",
        FieldKind::Picklist {
            values: BILLING_CYCLES,
            restricted: false,
        },
    ),
];

const ACCOUNT_FIELDS: &[FieldDef] = &[
    field("Id", "Account ID", FieldKind::Id),
    required("Name", "Account Name", FieldKind::Text(255)),
    writable("WH_Client_ID__c", "WH Client ID", FieldKind::Text(32)),
];

const PRICEBOOK_FIELDS: &[FieldDef] = &[
    field("Id", "Price Book ID", FieldKind::Id),
    required("Name", "Price Book Name", FieldKind::Text(255)),
    writable("IsActive", "Active", FieldKind::Boolean),
    field("IsStandard", "Is Standard Price Book", FieldKind::Boolean),
];

const PRICEBOOK_ENTRY_FIELDS: &[FieldDef] = &[
    field("Id", "Price Book Entry ID", FieldKind::Id),
    field(
        "Pricebook2Id",
        "Price Book ID",
        FieldKind::Reference("Pricebook2"),
    ),
    field("Product2Id", "Product ID", FieldKind::Reference("Product2")),
    required("UnitPrice", "List Price", FieldKind::Currency),
    writable("IsActive", "Active", FieldKind::Boolean),
];

/// Every object the emulated org knows.
pub(crate) static OBJECTS: &[ObjectDef] = &[
    ObjectDef {
        name: "Order",
        key_prefix: "801",
        fields: ORDER_FIELDS,
        parents: &[
            ParentDef {
                name: "Account",
                field: "AccountId",
                target: "Account",
            },
            ParentDef {
                name: "Pricebook2",
                field: "Pricebook2Id",
                target: "Pricebook2",
            },
        ],
        children: &[ChildDef {
            name: "OrderItems",
            object: "OrderItem",
            field: "OrderId",
        }],
    },
    ObjectDef {
        name: "OrderItem",
        key_prefix: "802",
        fields: ORDER_ITEM_FIELDS,
        parents: &[
            ParentDef {
                name: "Order",
                field: "OrderId",
                target: "Order",
            },
            ParentDef {
                name: "Product2",
                field: "Product2Id",
                target: "Product2",
            },
            ParentDef {
                name: "PricebookEntry",
                field: "PricebookEntryId",
                target: "PricebookEntry",
            },
        ],
        children: &[],
    },
    ObjectDef {
        name: "Product2",
        key_prefix: "01t",
        fields: PRODUCT_FIELDS,
        parents: &[],
        children: &[],
    },
    ObjectDef {
        name: "Account",
        key_prefix: "001",
        fields: ACCOUNT_FIELDS,
        parents: &[],
        children: &[ChildDef {
            name: "Orders",
            object: "Order",
            field: "AccountId",
        }],
    },
    ObjectDef {
        name: "Pricebook2",
        key_prefix: "01s",
        fields: PRICEBOOK_FIELDS,
        parents: &[],
        children: &[ChildDef {
            name: "PricebookEntries",
            object: "PricebookEntry",
            field: "Pricebook2Id",
        }],
    },
    ObjectDef {
        name: "PricebookEntry",
        key_prefix: "01u",
        fields: PRICEBOOK_ENTRY_FIELDS,
        parents: &[
            ParentDef {
                name: "Pricebook2",
                field: "Pricebook2Id",
                target: "Pricebook2",
            },
            ParentDef {
                name: "Product2",
                field: "Product2Id",
                target: "Product2",
            },
        ],
        children: &[],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_relationship_names_real_objects_and_fields() {
        for def in OBJECTS {
            assert_eq!(def.fields[0].name, "Id", "{}", def.name);
            for parent in def.parents {
                let field = def.field(parent.field).expect(parent.field);
                assert_eq!(field.kind, FieldKind::Reference(parent.target));
                assert!(object(parent.target).is_some(), "{}", parent.target);
            }
            for child in def.children {
                let child_def = object(child.object).expect(child.object);
                let field = child_def.field(child.field).expect(child.field);
                assert_eq!(field.kind, FieldKind::Reference(def.name));
            }
        }
    }

    #[test]
    fn lookups_ignore_case() {
        let order = object("order").expect("Order");
        assert_eq!(order.name, "Order");
        assert_eq!(
            order.field("activation_status__C").map(|f| f.name),
            Some("Activation_Status__c")
        );
        assert_eq!(
            order.child("orderitems").map(|c| c.name),
            Some("OrderItems")
        );
        assert!(order.field("Name").is_none());
    }
}
