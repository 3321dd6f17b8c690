//! The WHMCS emulator: `includes/api.php` on loopback, faithful to the real API, quirks included.
