//! Turns a page fetcher into a lazy stream of items: by page token
//! ([`paginate`]) or by `next` link or marker ([`paginate_links`]).

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
pub fn paginate<'a, T, F, Fut>(mut fetch: F) -> BoxStream<'a, Result<T>>
where
    T: Send + 'a,
    F: FnMut(Option<PageToken>) -> Fut + Send + 'a,
    Fut: Future<Output = Result<Page<T>>> + Send + 'a,
{
    unfold_pages(
        move |token| {
            let page = fetch(token);
            async move { page.await.map(|page| (page.items, page.next)) }
        },
        |token: &PageToken| format!("page token {:?}", token.as_str()),
    )
}

/// A stream over every item of a listing that pages by link: an absolute
/// `next` URL (Cinder's `volumes_links`, Rancher's `pagination.next`) or a
/// marker. Lazy as [`paginate`], with at most one page held.
///
/// `fetch` gets `None` for the first page and then each page's link, and
/// returns the page's items and its next link (`None` on the last page).
/// Send a link with [`Request::follow`](super::Request::follow), which
/// refuses one to another host. A link seen twice in a row ends the stream
/// with a decode error instead of looping.
///
/// ```
/// # use volume_core::http::{paginate_links, Url};
/// # use futures::TryStreamExt;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let items: Vec<u32> = paginate_links(|link: Option<Url>| async move {
///     // A real fetch sends `Request::follow(link)` (or the first page's
///     // request) and reads the items and the `next` link from the answer.
///     Ok(match link {
///         None => (vec![1, 2], Some(Url::parse("https://h/v3/volumes?marker=2").unwrap())),
///         Some(_) => (vec![3], None),
///     })
/// })
/// .try_collect()
/// .await
/// .unwrap();
/// assert_eq!(items, [1, 2, 3]);
/// # });
/// ```
pub fn paginate_links<'a, T, L, F, Fut>(fetch: F) -> BoxStream<'a, Result<T>>
where
    T: Send + 'a,
    L: Clone + PartialEq + Send + 'a,
    F: FnMut(Option<L>) -> Fut + Send + 'a,
    Fut: Future<Output = Result<(Vec<T>, Option<L>)>> + Send + 'a,
{
    unfold_pages(fetch, |_: &L| "the same next link".to_owned())
}

/// The loop under [`paginate`] and [`paginate_links`]: `cursor` is a token
/// or a link, and `describe` names a repeated one in the error.
fn unfold_pages<'a, T, C, F, Fut>(fetch: F, describe: fn(&C) -> String) -> BoxStream<'a, Result<T>>
where
    T: Send + 'a,
    C: Clone + PartialEq + Send + 'a,
    F: FnMut(Option<C>) -> Fut + Send + 'a,
    Fut: Future<Output = Result<(Vec<T>, Option<C>)>> + Send + 'a,
{
    enum Next<C> {
        Fetch(Option<C>),
        Done,
    }
    stream::unfold(
        (Next::Fetch(None), fetch, None::<C>),
        move |(next, mut fetch, last)| async move {
            let cursor = match next {
                Next::Done => return None,
                Next::Fetch(cursor) => cursor,
            };
            match fetch(cursor.clone()).await {
                Ok((items, following)) => {
                    let following = match following {
                        Some(c) if Some(&c) == cursor.as_ref() || Some(&c) == last.as_ref() => {
                            let err = crate::Error::Decode {
                                message: format!("the provider returned {} twice", describe(&c)),
                                source: None,
                            };
                            let items: Vec<Result<T>> =
                                items.into_iter().map(Ok).chain([Err(err)]).collect();
                            return Some((stream::iter(items), (Next::Done, fetch, None)));
                        }
                        Some(c) => Next::Fetch(Some(c)),
                        None => Next::Done,
                    };
                    let items: Vec<Result<T>> = items.into_iter().map(Ok).collect();
                    Some((stream::iter(items), (following, fetch, cursor)))
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
    async fn links_page_lazily_and_a_repeated_link_is_an_error() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = Arc::clone(&calls);
        let mut s = paginate_links(move |link: Option<String>| {
            c.fetch_add(1, Ordering::SeqCst);
            async move {
                Ok(match link.as_deref() {
                    None => (vec![1, 2], Some("a".to_owned())),
                    Some("a") => (vec![3], Some("b".to_owned())),
                    _ => (vec![4], Some("b".to_owned())),
                })
            }
        });
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        assert_eq!(s.try_next().await.unwrap(), Some(1));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let rest: Vec<Result<i32>> = s.collect().await;
        assert_eq!(rest.len(), 4, "2, 3, 4 and the error");
        let err = rest[3].as_ref().unwrap_err();
        assert!(matches!(err, crate::Error::Decode { .. }), "{err:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
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
