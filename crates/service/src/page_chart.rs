//! The list page's activity chart, reused for up to a second. The page is
//! read far more often than its figures move by a bar's worth, so this one
//! cache keeps, per chart, when its figures were read, the figures, and the
//! markup the page drew from them. The activity API and the counts never
//! use it: they always read the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use regen_domain::{ActivityBucket, Caller};

use crate::activity::ActivityQuery;
use crate::{require_admin, AdminService, ServiceError};

/// How old the list page's chart may be before a request reads it again.
pub const PAGE_CHART_MAX_AGE: Duration = Duration::from_secs(1);

/// How old a chart may be shown while one request reads it again: the
/// other requests answer the kept chart meanwhile instead of all reading the
/// same figures at once (up to one per connection, once a second, and each
/// read of a 30-day chart costs the database about two milliseconds). Past
/// this age a read that is still running is not waited for: every request
/// reads.
const PAGE_CHART_MAX_AGE_WHILE_READ: Duration = Duration::from_secs(5);

/// Target types come from the URL: a cache holding this many charts drops
/// the stale ones, and everything if none is stale.
const MAX_CHARTS: usize = 64;

/// A chart request: bucket size, range and target type.
type ChartKey = (i64, i64, i64, Option<String>);

struct Kept {
    read_at: Instant,
    figures: Vec<ActivityBucket>,
    markup: Arc<str>,
    /// A request is reading this chart's figures again.
    being_read: bool,
}

/// A request's turn to read a chart again, given back when it ends (read,
/// failed, or dropped with its request).
struct ReadTurn<'a> {
    charts: &'a PageCharts,
    key: ChartKey,
}

impl Drop for ReadTurn<'_> {
    fn drop(&mut self) {
        let mut charts = self.charts.charts.lock().expect("chart cache");
        if let Some(kept) = charts.get_mut(&self.key) {
            kept.being_read = false;
        }
    }
}

/// The kept charts of one instance.
#[derive(Default)]
pub(crate) struct PageCharts {
    charts: Mutex<HashMap<ChartKey, Kept>>,
}

impl PageCharts {
    /// The markup of a chart read less than [`PAGE_CHART_MAX_AGE`] before
    /// `now`, or of one that another request is reading again (up to
    /// [`PAGE_CHART_MAX_AGE_WHILE_READ`]). Otherwise the caller reads the
    /// chart, and holds the turn to do so until it drops it.
    fn kept_or_read(&self, key: &ChartKey, now: Instant) -> Result<Arc<str>, ReadTurn<'_>> {
        let mut charts = self.charts.lock().expect("chart cache");
        if let Some(kept) = charts.get_mut(key) {
            let age = now.saturating_duration_since(kept.read_at);
            if age < PAGE_CHART_MAX_AGE || (kept.being_read && age < PAGE_CHART_MAX_AGE_WHILE_READ)
            {
                return Ok(kept.markup.clone());
            }
            kept.being_read = true;
        }
        Err(ReadTurn {
            charts: self,
            key: key.clone(),
        })
    }

    /// The markup kept for a chart, if it was drawn from these figures.
    fn drawn_from(&self, key: &ChartKey, figures: &[ActivityBucket]) -> Option<Arc<str>> {
        let charts = self.charts.lock().expect("chart cache");
        let kept = charts.get(key)?;
        (kept.figures == figures).then(|| kept.markup.clone())
    }

    fn keep(
        &self,
        key: ChartKey,
        read_at: Instant,
        figures: Vec<ActivityBucket>,
        markup: Arc<str>,
    ) {
        let mut charts = self.charts.lock().expect("chart cache");
        if charts.len() >= MAX_CHARTS && !charts.contains_key(&key) {
            charts.retain(|_, kept| {
                read_at.saturating_duration_since(kept.read_at) < PAGE_CHART_MAX_AGE
            });
            if charts.len() >= MAX_CHARTS {
                charts.clear();
            }
        }
        charts.insert(
            key,
            Kept {
                read_at,
                figures,
                markup,
                being_read: false,
            },
        );
    }
}

impl AdminService {
    /// The list page's chart for `query`, about [`PAGE_CHART_MAX_AGE`]
    /// old: within that age the kept markup is answered and nothing is read;
    /// after it one request reads the figures again (the others answer the
    /// kept markup meanwhile), and `draw` (the page's renderer) runs only if
    /// they changed, so a busy page reads and draws its chart about once a
    /// second.
    pub async fn page_chart(
        &self,
        caller: Option<&Caller>,
        query: &ActivityQuery,
        draw: impl FnOnce(Vec<ActivityBucket>) -> Arc<str>,
    ) -> Result<Arc<str>, ServiceError> {
        require_admin(caller)?;
        let key = (
            query.bucket.millis(),
            query.from.millis(),
            query.to.millis(),
            query.target_type.clone(),
        );
        let charts = &self.inner.page_charts;
        let _turn = match charts.kept_or_read(&key, Instant::now()) {
            Ok(markup) => return Ok(markup),
            Err(turn) => turn,
        };
        let read_at = Instant::now();
        let figures = self.job_activity(caller, query).await?;
        let markup = match charts.drawn_from(&key, &figures) {
            Some(markup) => markup,
            None => draw(figures.clone()),
        };
        charts.keep(key, read_at, figures, markup.clone());
        Ok(markup)
    }
}

#[cfg(test)]
mod tests {
    use regen_domain::{StatusCounts, Timestamp};

    use super::*;

    fn figures(triggered: u64) -> Vec<ActivityBucket> {
        vec![ActivityBucket {
            start: Timestamp::from_millis(0).unwrap(),
            created: StatusCounts::default(),
            triggered,
        }]
    }

    fn key(target_type: &str) -> ChartKey {
        (1, 2, 3, Some(target_type.to_owned()))
    }

    /// The kept markup, or `None` when the caller is to read the chart.
    fn kept(charts: &PageCharts, key: &ChartKey, now: Instant) -> Option<String> {
        charts.kept_or_read(key, now).ok().map(|m| m.to_string())
    }

    #[test]
    fn a_chart_is_answered_without_reading_for_less_than_its_max_age() {
        let charts = PageCharts::default();
        let read_at = Instant::now();
        charts.keep(key("a"), read_at, figures(1), "drawn".into());
        let just_before = read_at + PAGE_CHART_MAX_AGE - Duration::from_millis(1);
        assert_eq!(
            kept(&charts, &key("a"), just_before).as_deref(),
            Some("drawn")
        );
        assert_eq!(kept(&charts, &key("a"), read_at + PAGE_CHART_MAX_AGE), None);
        assert_eq!(kept(&charts, &key("b"), read_at), None, "another chart");
    }

    #[test]
    fn one_request_reads_a_stale_chart_while_the_others_answer_the_kept_one() {
        let charts = PageCharts::default();
        let read_at = Instant::now();
        charts.keep(key("a"), read_at, figures(1), "drawn".into());
        let stale = read_at + PAGE_CHART_MAX_AGE;

        let turn = charts.kept_or_read(&key("a"), stale);
        assert!(turn.is_err(), "the first request to find it stale reads it");
        assert_eq!(kept(&charts, &key("a"), stale).as_deref(), Some("drawn"));
        let too_old = read_at + PAGE_CHART_MAX_AGE_WHILE_READ;
        assert_eq!(kept(&charts, &key("a"), too_old), None, "not waited for");

        // A reader that ends without keeping new figures (its read failed,
        // or its request went away) gives its turn back.
        drop(turn);
        let turn = charts.kept_or_read(&key("a"), stale);
        assert!(turn.is_err(), "the next request reads it");
        drop(turn);
        charts.keep(key("a"), stale, figures(2), "redrawn".into());
        assert_eq!(kept(&charts, &key("a"), stale).as_deref(), Some("redrawn"));
    }

    #[test]
    fn kept_markup_is_reused_only_for_the_figures_it_was_drawn_from() {
        let charts = PageCharts::default();
        charts.keep(key("a"), Instant::now(), figures(1), "drawn".into());
        assert_eq!(
            charts.drawn_from(&key("a"), &figures(1)).as_deref(),
            Some("drawn")
        );
        assert_eq!(charts.drawn_from(&key("a"), &figures(2)), None);
    }

    #[test]
    fn a_full_cache_drops_its_stale_charts_first() {
        let charts = PageCharts::default();
        let start = Instant::now();
        charts.keep(key("stale"), start, figures(1), "old".into());
        let later = start + PAGE_CHART_MAX_AGE;
        for n in 1..MAX_CHARTS {
            charts.keep(key(&n.to_string()), later, figures(1), "new".into());
        }
        charts.keep(key("one more"), later, figures(1), "new".into());
        assert_eq!(charts.drawn_from(&key("stale"), &figures(1)), None);
        assert!(
            kept(&charts, &key("1"), later).is_some(),
            "fresh charts stay"
        );
        assert!(kept(&charts, &key("one more"), later).is_some());
    }
}
