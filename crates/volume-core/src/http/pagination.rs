//! Turns a page fetcher into a lazy stream of items.

use std::future::Future;

use futures::stream::{self, BoxStream, StreamExt};

use crate::error::Result;
use crate::model::{Page, PageToken};

/// A stream over every item of a listing, fetching one page at a time and
/// only when the previous page has been consumed; at most one page is held.
///
/// `fetch` gets `None` for the first page and then each page's `next` token.
/// The stream ends after a page without `next`, or after the first error
/// (which it yields). A provider that returns the same token twice would
/// loop forever, so a repeated token ends the stream with a decode error.
///
/// ```
/// # use volume_core::{Page, PageToken, http::paginate};
/// # use futures::TryStreamExt;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let items: Vec<u32> = paginate(|token: Option<PageToken>| async move {
///     Ok(match token {
///         None => Page::new(vec![1, 2], Some(PageToken::new("2"))),
///         Some(_) => Page::last(vec![3]),
///     })
/// })
/// .try_collect()
/// .await
/// .unwrap();
/// assert_eq!(items, [1, 2, 3]);
/// # });
/// ```
pub fn paginate<'a, T, F, Fut>(fetch: F) -> BoxStream<'a, Result<T>>
where
    T: Send + 'a,
    F: FnMut(Option<PageToken>) -> Fut + Send + 'a,
    Fut: Future<Output = Result<Page<T>>> + Send + 'a,
{
    enum Next {
        Fetch(Option<PageToken>),
        Done,
    }
    stream::unfold(
        (Next::Fetch(None), fetch, None::<PageToken>),
        |(next, mut fetch, last)| async move {
            let token = match next {
                Next::Done => return None,
                Next::Fetch(token) => token,
            };
            match fetch(token.clone()).await {
                Ok(page) => {
                    let following = match page.next {
                        Some(t) if Some(&t) == token.as_ref() || Some(&t) == last.as_ref() => {
                            let err = crate::Error::Decode {
                                message: format!(
                                    "the provider returned page token {:?} twice",
                                    t.as_str()
                                ),
                                source: None,
                            };
                            let items: Vec<Result<T>> =
                                page.items.into_iter().map(Ok).chain([Err(err)]).collect();
                            return Some((stream::iter(items), (Next::Done, fetch, None)));
                        }
                        Some(t) => Next::Fetch(Some(t)),
                        None => Next::Done,
                    };
                    let items: Vec<Result<T>> = page.items.into_iter().map(Ok).collect();
                    Some((stream::iter(items), (following, fetch, token)))
                }
                Err(e) => Some((stream::iter(vec![Err(e)]), (Next::Done, fetch, None))),
            }
        },
    )
    .flatten()
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn pages_are_fetched_lazily() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = Arc::clone(&calls);
        let mut s = paginate(move |token: Option<PageToken>| {
            c.fetch_add(1, Ordering::SeqCst);
            async move {
                let n: u32 = token.map_or(0, |t| t.as_str().parse().unwrap());
                Ok(Page::new(
                    vec![n * 2, n * 2 + 1],
                    (n < 4).then(|| PageToken::new((n + 1).to_string())),
                ))
            }
        });
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        assert_eq!(s.try_next().await.unwrap(), Some(0));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let rest: Vec<u32> = s.try_collect().await.unwrap();
        assert_eq!(rest, (1..10).collect::<Vec<_>>());
        assert_eq!(calls.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn a_repeated_token_ends_the_stream_with_an_error() {
        let s = paginate(|_token: Option<PageToken>| async {
            Ok(Page::new(vec![1], Some(PageToken::new("same"))))
        });
        let all: Vec<Result<i32>> = s.collect().await;
        assert_eq!(all.len(), 3);
        assert!(all[2].is_err());
    }

    #[tokio::test]
    async fn an_error_ends_the_stream() {
        let s = paginate(|token: Option<PageToken>| async move {
            match token {
                None => Ok(Page::new(vec![1], Some(PageToken::new("x")))),
                Some(_) => Err(crate::Error::not_found(crate::ResourceKind::Volume, "x")),
            }
        });
        let all: Vec<Result<i32>> = s.collect().await;
        assert_eq!(all.len(), 2);
        assert!(all[1].as_ref().unwrap_err().is_not_found());
    }
}
