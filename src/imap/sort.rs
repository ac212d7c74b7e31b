//! SORT and THREAD (RFC 5256).

use super::command::{SearchKey, SearchReturn, SortCriterion, ThreadAlgorithm};
use super::driver::Driver;

impl Driver {
    pub(super) async fn sort(
        &mut self,
        tag: &str,
        _by_uid: bool,
        _criteria: &[SortCriterion],
        _search: &SearchKey,
        _returns: Option<&[SearchReturn]>,
    ) {
        self.bad_in_state(tag, "SORT is not supported");
    }

    pub(super) async fn thread(
        &mut self,
        tag: &str,
        _by_uid: bool,
        _algorithm: ThreadAlgorithm,
        _search: &SearchKey,
    ) {
        self.bad_in_state(tag, "THREAD is not supported");
    }
}
