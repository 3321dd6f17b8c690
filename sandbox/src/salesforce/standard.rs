//! The platform's own part of the emulated org's metadata: the objects the emulator knows,
//! their id prefixes, standard fields and relationships. These are Salesforce's, not the
//! project's, so they live here; the custom fields (`__c`) come from the DX project in
//! `salesforce/` and are added to these objects by [`Catalog`](super::schema::Catalog).

use super::schema::{ChildDef, FieldDef, FieldKind, ObjectDef, ParentDef};

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
];

const ACCOUNT_FIELDS: &[FieldDef] = &[
    field("Id", "Account ID", FieldKind::Id),
    required("Name", "Account Name", FieldKind::Text(255)),
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

/// Every object the emulated org knows, with its standard fields only.
pub(super) static STANDARD_OBJECTS: &[ObjectDef] = &[
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
