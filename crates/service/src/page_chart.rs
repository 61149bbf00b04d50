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

/// How old the list page's chart may be.
pub const PAGE_CHART_MAX_AGE: Duration = Duration::from_secs(1);

/// Target types come from the URL: a cache holding this many charts drops
/// the stale ones, and everything if none is stale.
const MAX_CHARTS: usize = 64;

/// A chart request: bucket size, range and target type.
type ChartKey = (i64, i64, i64, Option<String>);

struct Kept {
    read_at: Instant,
    figures: Vec<ActivityBucket>,
    markup: Arc<str>,
}

/// The kept charts of one instance.
#[derive(Default)]
pub(crate) struct PageCharts {
    charts: Mutex<HashMap<ChartKey, Kept>>,
}

impl PageCharts {
    /// The markup of a chart read less than [`PAGE_CHART_MAX_AGE`] before
    /// `now`.
    fn fresh(&self, key: &ChartKey, now: Instant) -> Option<Arc<str>> {
        let charts = self.charts.lock().expect("chart cache");
        let kept = charts.get(key)?;
        (now.saturating_duration_since(kept.read_at) < PAGE_CHART_MAX_AGE)
            .then(|| kept.markup.clone())
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
            },
        );
    }
}

impl AdminService {
    /// The list page's chart for `query`, at most [`PAGE_CHART_MAX_AGE`]
    /// old: within that age the kept markup is answered and nothing is read;
    /// after it the figures are read again, and `draw` (the page's
    /// renderer) runs only if they changed, so a busy page draws its chart
    /// about once a second.
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
        if let Some(markup) = charts.fresh(&key, Instant::now()) {
            return Ok(markup);
        }
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

    #[test]
    fn a_chart_is_answered_without_reading_for_less_than_its_max_age() {
        let charts = PageCharts::default();
        let read_at = Instant::now();
        charts.keep(key("a"), read_at, figures(1), "drawn".into());
        let just_before = read_at + PAGE_CHART_MAX_AGE - Duration::from_millis(1);
        assert_eq!(
            charts.fresh(&key("a"), just_before).as_deref(),
            Some("drawn")
        );
        assert_eq!(charts.fresh(&key("a"), read_at + PAGE_CHART_MAX_AGE), None);
        assert_eq!(charts.fresh(&key("b"), read_at), None, "another chart");
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
            charts.fresh(&key("1"), later).is_some(),
            "fresh charts stay"
        );
        assert!(charts.fresh(&key("one more"), later).is_some());
    }
}
