//! Query results longer than a page: the first page is answered at once and the rest is kept
//! behind a query locator (`01g…`), handed out as `nextRecordsUrl`
//! (`/services/data/vNN.N/query/<locator>-<offset>`). As on a real org, a user holds at most
//! ten open locators; opening another releases the oldest, whose next pages are then
//! `INVALID_QUERY_LOCATOR`.

use std::collections::{HashMap, VecDeque};

use serde_json::Value;

use super::ordered_json::OrderedJson;

/// Open locators a user may hold.
const OPEN_LOCATORS: usize = 10;

/// Results kept for their next pages, by query locator.
#[derive(Debug, Default)]
pub(crate) struct Locators {
    results: HashMap<String, Vec<OrderedJson>>,
    opened: VecDeque<String>,
}

impl Locators {
    /// The first page of `rows`; the rest is kept under a new locator when there is more.
    pub(crate) fn first_page(
        &mut self,
        rows: Vec<OrderedJson>,
        page_size: usize,
        locator: impl FnOnce() -> String,
        version: &str,
    ) -> OrderedJson {
        if rows.len() <= page_size {
            return page(rows.len(), rows, None);
        }
        let locator = locator();
        let first = rows[..page_size].to_vec();
        let total = rows.len();
        if self.opened.len() == OPEN_LOCATORS
            && let Some(oldest) = self.opened.pop_front()
        {
            self.results.remove(&oldest);
        }
        self.opened.push_back(locator.clone());
        self.results.insert(locator.clone(), rows);
        let next = format!("/services/data/v{version}/query/{locator}-{page_size}");
        page(total, first, Some(next))
    }

    /// The page a `nextRecordsUrl` tail (`<locator>-<offset>`) names, if it is one.
    pub(crate) fn next_page(
        &self,
        tail: &str,
        page_size: usize,
        version: &str,
    ) -> Option<OrderedJson> {
        let (locator, offset) = tail.rsplit_once('-')?;
        let offset: usize = offset.parse().ok()?;
        let rows = self.results.get(locator)?;
        if offset == 0 || offset >= rows.len() {
            return None;
        }
        let end = rows.len().min(offset.saturating_add(page_size));
        let next =
            (end < rows.len()).then(|| format!("/services/data/v{version}/query/{locator}-{end}"));
        Some(page(rows.len(), rows[offset..end].to_vec(), next))
    }
}

fn page(total: usize, records: Vec<OrderedJson>, next: Option<String>) -> OrderedJson {
    let mut members = vec![
        ("totalSize", Value::from(total).into()),
        ("done", Value::Bool(next.is_none()).into()),
    ];
    if let Some(next) = next {
        members.push(("nextRecordsUrl", Value::from(next).into()));
    }
    members.push(("records", OrderedJson::List(records)));
    OrderedJson::Object(members)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_the_locator_to_the_end() {
        let mut locators = Locators::default();
        let rows: Vec<OrderedJson> = (0..5).map(|i| Value::from(i).into()).collect();
        let first = serde_json::to_value(locators.first_page(rows, 2, || "01gLOC".into(), "66.0"))
            .expect("json");
        assert_eq!(first["totalSize"], 5);
        assert_eq!(first["done"], false);
        assert_eq!(
            first["nextRecordsUrl"],
            "/services/data/v66.0/query/01gLOC-2"
        );
        let second = serde_json::to_value(locators.next_page("01gLOC-2", 2, "66.0")).expect("json");
        assert_eq!(second["records"], serde_json::json!([2, 3]));
        let third = serde_json::to_value(locators.next_page("01gLOC-4", 2, "66.0")).expect("json");
        assert_eq!(third["done"], true);
        assert!(third.get("nextRecordsUrl").is_none());
        assert!(locators.next_page("01gLOC-5", 2, "66.0").is_none());
        assert!(locators.next_page("01gOTHER-2", 2, "66.0").is_none());
    }

    #[test]
    fn opening_an_eleventh_locator_releases_the_oldest() {
        let mut locators = Locators::default();
        for n in 0..=OPEN_LOCATORS {
            let rows: Vec<OrderedJson> = (0..3).map(|i| Value::from(i).into()).collect();
            locators.first_page(rows, 2, || format!("01gL{n}"), "66.0");
        }
        assert!(locators.next_page("01gL0-2", 2, "66.0").is_none());
        assert!(locators.next_page("01gL1-2", 2, "66.0").is_some());
        assert!(
            locators
                .next_page(&format!("01gL{OPEN_LOCATORS}-2"), 2, "66.0")
                .is_some()
        );
    }
}
