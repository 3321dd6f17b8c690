"""Tests of check_project.py's own checks: each breaks a copy of the project (and of the service's
field declarations beside it) the way a careless edit would, and expects the problem named.

Run by scripts/check-salesforce: python3 -m unittest discover -s salesforce/test
"""

import re
import shutil
import tempfile
import unittest
from pathlib import Path

import check_project

PROJECT = Path(__file__).resolve().parent.parent
REPOSITORY = PROJECT.parent
DEFAULT = Path("force-app/main/default")
BEFORE_SAVE_FLOW = f"flows/{check_project.BEFORE_SAVE_FLOW}.flow-meta.xml"
AFTER_SAVE_FLOW = f"flows/{check_project.AFTER_SAVE_FLOW}.flow-meta.xml"


class BrokenCopies(unittest.TestCase):
    def setUp(self):
        self.temp = tempfile.TemporaryDirectory()
        self.root = Path(self.temp.name)
        shutil.copytree(PROJECT, self.root / "salesforce", ignore=shutil.ignore_patterns(".*", "__pycache__"))
        declarations = self.root / check_project.FIELDS_USED_SOURCE
        declarations.parent.mkdir(parents=True)
        shutil.copy(REPOSITORY / check_project.FIELDS_USED_SOURCE, declarations)
        self.project = self.root / "salesforce"
        self.default = self.project / DEFAULT

    def tearDown(self):
        self.temp.cleanup()

    def edit(self, relative, old, new):
        path = self.default / relative
        text = path.read_text(encoding="utf-8")
        changed = re.sub(old, new, text, count=1)
        self.assertNotEqual(text, changed, f"the test edits {relative}")
        path.write_text(changed, encoding="utf-8")

    def problems(self):
        """Every problem the checks that need no converted package find in the copy."""
        check_project.problems.clear()
        fields, picklists = check_project.load_fields(self.default)
        check_project.check_field_files(self.default)
        check_project.check_flows(self.default, fields, picklists)
        check_project.check_permission_sets(
            self.default,
            fields,
            check_project.fields_used(self.project),
            check_project.operator_writes(self.default),
        )
        check_project.check_quick_action(self.default, fields, picklists)
        found = list(check_project.problems)
        check_project.problems.clear()
        return found

    def assert_named(self, *words):
        found = self.problems()
        self.assertTrue(
            any(all(word in line for word in words) for line in found),
            f"no problem naming {words}: {found}",
        )

    def test_the_project_as_shipped_passes(self):
        self.assertEqual(self.problems(), [])

    def test_a_new_order_that_keeps_the_whmcs_order_its_clone_copied_is_named(self):
        self.edit(
            BEFORE_SAVE_FLOW,
            r"(?s)(<name>Reset_Copied_Activation</name>.*?)<assignmentItems>\s*"
            r"<assignToReference>\$Record\.WHMCS_Order_ID__c</assignToReference>.*?</assignmentItems>\s*",
            r"\1",
        )
        self.assert_named("a new Order (a clone of a provisioned one)", "WHMCS_Order_ID__c ends '1042', not cleared")

    def test_a_new_order_that_is_not_reset_is_named(self):
        # Without the rule for a new Order, a clone falls through to no outcome at all.
        self.edit(BEFORE_SAVE_FLOW, r"(?s)<rules>\s*<name>Created</name>.*?</rules>\s*", "")
        self.assert_named("a clone of one being provisioned", "Activation_Status__c ends 'Activating', not 'Not Started'")

    def test_a_new_order_saved_approved_that_is_only_reset_is_named(self):
        # Rules are tried in order: "Created" first would catch an approved new Order too.
        self.edit(
            BEFORE_SAVE_FLOW,
            r"(?s)(<rules>\s*<name>Created_Approved</name>.*?</rules>\s*)(<rules>\s*<name>Created</name>.*?</rules>\s*)",
            r"\2\1",
        )
        self.assert_named("a new Order saved approved", "ends 'Not Started', not 'Activating'")

    def test_an_entry_condition_that_lets_a_new_order_through_unreset_is_named(self):
        self.edit(BEFORE_SAVE_FLOW, r"ISNEW\(\)\s*\|\|\s*", "")
        self.assert_named(check_project.BEFORE_SAVE_FLOW, "must start for every new Order")

    def test_an_after_save_flow_that_skips_new_orders_is_named(self):
        self.edit(AFTER_SAVE_FLOW, r"ISNEW\(\)\s*\|\|\s*", "")
        self.assert_named(check_project.AFTER_SAVE_FLOW, "must also start for a new Order")

    def test_a_bridge_skip_that_goes_on_to_the_reset_is_named(self):
        self.edit(
            BEFORE_SAVE_FLOW,
            r"(<label>Bridge integration user</label>)",
            r"<connector><targetReference>Reset_Copied_Activation</targetReference></connector>\1",
        )
        self.assert_named("a new Order the bridge saves", "Activation_Status__c ends 'Not Started', not 'Activated'")

    def test_a_condition_the_walk_cannot_evaluate_is_named_not_guessed(self):
        self.edit(BEFORE_SAVE_FLOW, "<operator>IsNull</operator>", "<operator>IsChanged</operator>")
        self.assert_named("cannot follow the flow", "operator IsChanged")

    def test_a_picklist_value_listed_twice_in_any_casing_is_named(self):
        self.edit(
            "objects/Order/fields/Activation_Status__c.field-meta.xml",
            "<fullName>Failed</fullName>",
            "<fullName>activated</fullName>",
        )
        self.assert_named("Activation_Status__c", "'activated' twice")

    def test_a_full_name_that_disagrees_with_the_file_name_is_named(self):
        self.edit(
            "objects/Order/fields/WHMCS_Order_ID__c.field-meta.xml",
            "<fullName>WHMCS_Order_ID__c</fullName>",
            "<fullName>WHMCS_Order_Id__c</fullName>",
        )
        self.assert_named("WHMCS_Order_ID__c.field-meta.xml", "'WHMCS_Order_Id__c'")

    def test_an_event_field_of_a_type_events_lack_is_named(self):
        self.edit(
            "objects/OrderProvisionRequested__e/fields/OrderId__c.field-meta.xml",
            "<type>Text</type>",
            "<type>Email</type>",
        )
        self.assert_named("OrderId__c", "cannot have a Email field")

    def test_an_event_published_immediately_is_named(self):
        self.edit(
            "objects/OrderProvisionRequested__e/OrderProvisionRequested__e.object-meta.xml",
            "PublishAfterCommit",
            "PublishImmediately",
        )
        self.assert_named("OrderProvisionRequested__e", "PublishAfterCommit")

    def test_a_field_the_service_starts_to_use_needs_field_level_security(self):
        declarations = self.root / check_project.FIELDS_USED_SOURCE
        code = declarations.read_text(encoding="utf-8")
        added = code.replace(
            "pub const FIELDS_USED: &[FieldUse] = &[\n",
            "pub const FIELDS_USED: &[FieldUse] = &[\n    FieldUse {\n        object: \"Order\",\n"
            "        field: \"Provisioned_At__c\",\n        access: Access::Write,\n"
            "        expected: Expected::Text { min_length: 1 },\n    },\n",
        )
        self.assertNotEqual(code, added)
        declarations.write_text(added, encoding="utf-8")
        self.assert_named("writes Order.Provisioned_At__c", "not editable")

    def test_a_declaration_the_checker_cannot_read_is_named(self):
        declarations = self.root / check_project.FIELDS_USED_SOURCE
        code = declarations.read_text(encoding="utf-8")
        declarations.write_text(code.replace("access: Access::Read", "access: READ", 1), encoding="utf-8")
        self.assert_named("fields_used.rs", "could not read every FieldUse")

    def test_field_level_security_the_bridge_reads_with_is_required(self):
        self.edit(
            "permissionsets/Provisioning_Bridge_Integration.permissionset-meta.xml",
            r"<fieldPermissions>\s*<editable>false</editable>\s*<field>Product2.Billing_Cycle__c</field>"
            r"\s*<readable>true</readable>\s*</fieldPermissions>\s*",
            "",
        )
        self.assert_named("reads Product2.Billing_Cycle__c", "not readable")

    def test_what_provision_retry_writes_must_be_editable_for_operators(self):
        self.edit(
            "permissionsets/Provisioning_Operator.permissionset-meta.xml",
            r"<editable>true</editable>(\s*<field>Order.Activation_Error_Code__c)",
            r"<editable>false</editable>\1",
        )
        self.assert_named("Provisioning_Operator", "writes Order.Activation_Error_Code__c")


if __name__ == "__main__":
    unittest.main()
