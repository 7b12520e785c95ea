//! Cursor-paged lists as streams of items: the next page is fetched only when the items of
//! the current one are used up. Generated `into_stream` methods call `stream`.

use std::collections::VecDeque;
use std::future::IntoFuture;

use futures::Stream;

use crate::Result;

/// Pages through `first`, setting each next cursor with `with_cursor`; `split` turns a page
/// into its items and next cursor. Ends after an error, on an empty cursor, or when WeCom
/// returns the cursor it was just given (which would otherwise loop forever).
pub(crate) fn stream<C, P, T>(
    first: C,
    with_cursor: fn(C, String) -> C,
    split: fn(P) -> (Vec<T>, Option<String>),
) -> impl Stream<Item = Result<T>> + Send + 'static
where
    C: IntoFuture<Output = Result<P>> + Clone + Send + 'static,
    C::IntoFuture: Send,
    P: Send + 'static,
    T: Send + 'static,
{
    let state = State {
        next: Some(first),
        items: VecDeque::new(),
        cursor: None,
    };
    futures::stream::unfold(state, move |mut state| async move {
        loop {
            if let Some(item) = state.items.pop_front() {
                return Some((Ok(item), state));
            }
            let call = state.next.take()?;
            let page = match call.clone().into_future().await {
                Ok(page) => page,
                Err(error) => return Some((Err(error), state)),
            };
            let (items, next_cursor) = split(page);
            state.items.extend(items);
            if let Some(cursor) = next_cursor.filter(|c| !c.is_empty()) {
                if state.cursor.as_deref() != Some(cursor.as_str()) {
                    state.cursor = Some(cursor.clone());
                    state.next = Some(with_cursor(call, cursor));
                }
            }
        }
    })
}

struct State<C, T> {
    next: Option<C>,
    items: VecDeque<T>,
    /// The cursor the pending call carries.
    cursor: Option<String>,
}
