//! Store conformance: the product's own store code (Order locks and journals, the leader
//! lease, the replay cursor, dead letters, the readiness probe) and the raw commands behind
//! it, run once against the embedded store and once against a private `redis-server`, with
//! the same assertions. Whatever passes on Redis must pass on the embedded store, so
//! `sandbox demo` without Redis exercises the same behaviour production relies on.
//!
//! The embedded-only tests cover what Redis cannot share: unsupported scripts, malformed
//! requests on a raw socket, and shutdown.

#![allow(
    clippy::unwrap_used,
    reason = "a test's helpers fail loudly on broken set-up"
)]

#[path = "store_conformance/commands.rs"]
mod commands;
#[path = "store_conformance/embedded.rs"]
mod embedded;
#[path = "store_conformance/ingest.rs"]
mod ingest_store;
#[path = "store_conformance/locks.rs"]
mod locks;
#[path = "store_conformance/replies.rs"]
mod replies;
#[path = "store_conformance/scripts.rs"]
mod scripts;
#[path = "store_conformance/streams.rs"]
mod streams;
#[path = "store_conformance/support.rs"]
mod support;

/// Declares each scenario twice: `embedded_store::NAME` and `redis_server::NAME`.
macro_rules! on_both_stores {
    ($($name:ident => $scenario:path),* $(,)?) => {
        mod embedded_store {
            $(
                #[tokio::test]
                async fn $name() {
                    crate::support::on_embedded($scenario).await;
                }
            )*
        }
        mod redis_server {
            $(
                #[tokio::test]
                async fn $name() {
                    crate::support::on_redis($scenario).await;
                }
            )*
        }
    };
}

on_both_stores! {
    one_run_holds_an_order_and_fences_grow => crate::locks::one_run_holds_an_order_and_fences_grow,
    an_expired_holder_is_fenced_after_a_takeover => crate::locks::an_expired_holder_is_fenced_after_a_takeover,
    renewal_keeps_a_lock_past_its_ttl => crate::locks::renewal_keeps_a_lock_past_its_ttl,
    journals_expire_only_after_their_run_ended => crate::locks::journals_expire_only_after_their_run_ended,
    a_journal_reads_back_what_was_written => crate::locks::a_journal_reads_back_what_was_written,
    a_journal_of_the_wrong_type_fails_the_acquisition => crate::locks::a_journal_of_the_wrong_type_fails_the_acquisition,
    the_lease_has_one_holder_and_epochs_grow => crate::ingest_store::the_lease_has_one_holder_and_epochs_grow,
    an_expired_lease_passes_to_a_standby => crate::ingest_store::an_expired_lease_passes_to_a_standby,
    the_cursor_moves_only_under_the_lease => crate::ingest_store::the_cursor_moves_only_under_the_lease,
    every_byte_of_a_cursor_round_trips => crate::ingest_store::every_byte_of_a_cursor_round_trips,
    dead_letters_page_get_and_remove => crate::ingest_store::dead_letters_page_get_and_remove,
    dead_letters_are_capped => crate::ingest_store::dead_letters_are_capped,
    the_probe_pings => crate::commands::the_probe_pings,
    strings_keep_bytes_and_honour_set_options => crate::commands::strings_keep_bytes_and_honour_set_options,
    time_to_live_is_set_read_and_cleared => crate::commands::time_to_live_is_set_read_and_cleared,
    keys_expire_in_real_time => crate::commands::keys_expire_in_real_time,
    hashes_count_new_fields_and_increment => crate::commands::hashes_count_new_fields_and_increment,
    wrong_types_and_bad_numbers_are_refused_alike => crate::commands::wrong_types_and_bad_numbers_are_refused_alike,
    streams_add_range_and_delete => crate::streams::streams_add_range_and_delete,
    scripts_reload_after_a_flush => crate::scripts::scripts_reload_after_a_flush,
    unknown_commands_are_errors => crate::scripts::unknown_commands_are_errors,
}
