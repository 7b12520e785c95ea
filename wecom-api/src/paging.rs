//! Cursor-paged lists as streams of items: the next page is fetched only when the items of
//! the current one are used up. Generated `into_stream` methods return a [`Paged`].

// Only generated code pages; the groups' features and the unit-test build can leave all of it
// out.
#![allow(dead_code)]

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::future::IntoFuture;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::Stream;

use crate::{Error, Result};

/// Every item of a cursor-paged list, page after page: a [`Stream`] that is `Unpin`, so
/// `while let Some(item) = stream.next().await` works without pinning or imports.
///
/// ```no_run
/// # async fn example(client: wecom_api::Client) -> wecom_api::Result<()> {
/// let mut members = client.user().list_id().limit(1000).into_stream();
/// while let Some(member) = members.next().await {
///     println!("{}", member?.userid);
/// }
/// # Ok(())
/// # }
/// ```
///
/// The stream ends after the last page (an empty next cursor, or where the endpoint
/// documents one, a `has_more` of 0), after an error, or with an error when WeCom hands
/// back a cursor it already gave (a cycle that would otherwise page forever).
///
/// APIs whose docs say to keep the cursor (微信客服 `sync_msg`, for one) resume from
/// [`last_cursor`](Self::last_cursor):
///
/// ```no_run
/// # async fn example(kf: wecom_api::Client, saved: Option<String>, token: &str) -> wecom_api::Result<()> {
/// let mut call = kf.kf_message().sync("wkOPEN_KFID").token(token).limit(1000);
/// if let Some(cursor) = saved {
///     call = call.cursor(cursor);
/// }
/// let mut messages = call.into_stream();
/// while let Some(message) = messages.next().await {
///     println!("{}", message?.msgid);
/// }
/// let keep = messages.last_cursor(); // persist it for the next pull
/// # Ok(())
/// # }
/// ```
#[must_use = "a stream does nothing until polled"]
pub struct Paged<T> {
    inner: Pin<Box<dyn Stream<Item = Result<T>> + Send + 'static>>,
    last_cursor: Arc<Mutex<Option<String>>>,
}

impl<T> fmt::Debug for Paged<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Paged").finish_non_exhaustive()
    }
}

impl<T> Paged<T> {
    /// The next item, fetching the next page when needed; `None` at the end. (The same as
    /// `StreamExt::next`, without importing it.)
    pub async fn next(&mut self) -> Option<Result<T>> {
        futures::StreamExt::next(self).await
    }

    /// The newest non-empty cursor WeCom returned so far (the last page's, once the stream
    /// has ended): where the next listing resumes.
    pub fn last_cursor(&self) -> Option<String> {
        self.last_cursor
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Every remaining item, or the first error.
    pub async fn try_collect(mut self) -> Result<Vec<T>> {
        let mut items = Vec::new();
        while let Some(item) = self.next().await {
            items.push(item?);
        }
        Ok(items)
    }
}

impl<T> Stream for Paged<T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// A page's items, its next cursor and whether more pages follow.
pub(crate) type PageParts<T> = (Vec<T>, Option<String>, bool);

/// Pages through `first`, setting each next cursor with `with_cursor`; `split` turns a page
/// into its items, its next cursor and whether more pages follow.
pub(crate) fn stream<C, P, T>(
    first: C,
    with_cursor: fn(C, String) -> C,
    split: fn(P) -> PageParts<T>,
) -> Paged<T>
where
    C: IntoFuture<Output = Result<P>> + Clone + Send + 'static,
    C::IntoFuture: Send,
    P: Send + 'static,
    T: Send + 'static,
{
    let last_cursor = Arc::new(Mutex::new(None));
    let state = State {
        next: Some(first),
        items: VecDeque::new(),
        seen: HashSet::new(),
        cycle: false,
        last_cursor: Arc::clone(&last_cursor),
    };
    let inner = futures::stream::unfold(state, move |mut state| async move {
        loop {
            if let Some(item) = state.items.pop_front() {
                return Some((Ok(item), state));
            }
            if std::mem::take(&mut state.cycle) {
                return Some((Err(cursor_cycle()), state));
            }
            let call = state.next.take()?;
            let page = match call.clone().into_future().await {
                Ok(page) => page,
                // `next` is empty now, so the stream ends after the error.
                Err(error) => return Some((Err(error), state)),
            };
            let (items, next_cursor, more) = split(page);
            state.items.extend(items);
            if let Some(cursor) = next_cursor.filter(|c| !c.is_empty()) {
                *state.last_cursor.lock().unwrap_or_else(|e| e.into_inner()) = Some(cursor.clone());
                if !more {
                    // The last page: its cursor is kept, not followed.
                } else if state.seen.insert(cursor.clone()) {
                    state.next = Some(with_cursor(call, cursor));
                } else {
                    // This page's items are still delivered; then the cycle is reported.
                    state.cycle = true;
                }
            }
        }
    });
    Paged {
        inner: Box::pin(inner),
        last_cursor,
    }
}

fn cursor_cycle() -> Error {
    Error::Decode {
        endpoint: "cursor paging".into(),
        path: "next_cursor".into(),
        message: "WeCom returned a cursor it had already returned in this listing; \
                  stopped instead of paging forever"
            .into(),
        excerpt: String::new(),
    }
}

struct State<C, T> {
    next: Option<C>,
    items: VecDeque<T>,
    /// Every cursor WeCom has handed out in this listing.
    seen: HashSet<String>,
    /// A repeated cursor was seen: report it once the pending items are out.
    cycle: bool,
    last_cursor: Arc<Mutex<Option<String>>>,
}
