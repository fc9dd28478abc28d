//! One authenticated Cinder or Nova request carried out on the engine: the
//! context every operation shares ([`Ctx`]), request bodies, and listing
//! (filters, sort, `limit`/`marker`, `*_links`, `count`).

use std::cmp::Ordering;
use std::time::SystemTime;

use serde_json::{json, Map, Value};
use volume_core::{BackupId, Error, Labels, SnapshotId, VolumeId};

use super::super::{Deferred, FakeRequest, FakeResponse, Operation, Rejection};
use super::error::{self, bad_request, over_limit};
use super::microversion::{self, Microversion};
use super::routes::{CinderApi, NovaApi, Route};
use super::state::CinderState;
use super::views::{iso, origin};
use super::CinderDialect;
use crate::engine::{Control, Fault};

/// The most items a list returns (`osapi_max_limit`).
pub(super) const MAX_LIMIT: usize = 1000;

/// The most filter terms one listing takes: the fake's own bound (Cinder
/// sets none; its widest filter set, volumes', has 11 keys), so that a
/// query's cost does not grow with its length.
pub(super) const MAX_FILTERS: usize = 16;

/// The most sort keys one listing takes: the fake's own bound (each
/// resource has fewer sortable columns).
pub(super) const MAX_SORT_KEYS: usize = 8;

/// What every operation works with.
pub(super) struct Ctx<'a> {
    pub(super) c: &'a mut Control,
    pub(super) st: &'a mut CinderState,
    pub(super) tenant: &'a str,
    pub(super) fault: Option<&'a Fault>,
    pub(super) mv: Microversion,
    pub(super) origin: String,
    pub(super) user_id: String,
    pub(super) req: &'a FakeRequest,
    pub(super) request_id: String,
}

/// What rendering an answer needs from the request, owned, so that JSON
/// can be written after the engine's lock is released.
#[derive(Debug, Clone)]
pub(super) struct Shape {
    pub(super) origin: String,
    pub(super) tenant: String,
    pub(super) mv: Microversion,
    pub(super) user_id: String,
}

/// One page of a listing, chosen under the lock: its items, the next
/// page's URL and the total count when asked for.
pub(super) struct Selected<T> {
    collection: String,
    items: Vec<T>,
    next: Option<String>,
    count: Option<usize>,
}

impl<T> Selected<T> {
    /// The page as Cinder writes it: `{collection: [...],
    /// collection_links?, count?}`.
    pub(super) fn into_json(self, render: impl Fn(&T) -> Value) -> Value {
        let mut out = Map::new();
        let rendered: Vec<Value> = self.items.iter().map(render).collect();
        out.insert(self.collection.clone(), Value::Array(rendered));
        if let Some(href) = self.next {
            out.insert(
                format!("{}_links", self.collection),
                json!([{"href": href, "rel": "next"}]),
            );
        }
        if let Some(count) = self.count {
            out.insert("count".to_owned(), Value::from(count));
        }
        Value::Object(out)
    }

    /// The same page over other items (what rendering needs of each).
    pub(super) fn map<U>(self, f: impl FnMut(T) -> U) -> Selected<U> {
        Selected {
            collection: self.collection,
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
            count: self.count,
        }
    }
}

/// Carries out `route` (Cinder or Nova) under the engine's lock.
pub(super) fn run(
    d: &CinderDialect,
    op: &mut Operation<'_, CinderState>,
    route: &Route,
    req: &FakeRequest,
) -> Result<Deferred, Rejection> {
    let now = op.control.now();
    let user_id = req
        .header("x-auth-token")
        .and_then(|t| d.tokens().valid(t, now))
        .map(|t| t.user_id)
        .unwrap_or_default();
    let (mv, api) = match route {
        Route::Cinder { api, header } => (
            microversion::requested(header.as_deref(), d.max_microversion)?,
            Some(api),
        ),
        _ => (Microversion::MIN, None),
    };
    let mut ctx = Ctx {
        c: op.control,
        st: op.state,
        tenant: op.tenant,
        fault: op.fault,
        mv,
        origin: origin(req),
        user_id,
        req,
        request_id: d.request_id(),
    };
    ctx.forget_gone();
    let answer = match (api, route) {
        (Some(CinderApi::ListVolumes { detail }), _) => ctx.list_volumes(*detail),
        (Some(api), _) => ctx.cinder(api).map(Deferred::Now),
        (None, Route::Nova(nova)) => ctx.nova(nova).map(Deferred::Now),
        _ => Err(error::resource_not_found()),
    };
    // The id messages recorded by this request name is the one it answers
    // with.
    let id = ctx.request_id;
    answer.map(|reply| match reply {
        Deferred::Now(r) => Deferred::Now(r.header("x-openstack-request-id", id)),
        Deferred::Later(write) => Deferred::Later(Box::new(move || {
            write().header("x-openstack-request-id", id)
        })),
    })
}

impl Ctx<'_> {
    /// What rendering needs from this request.
    pub(super) fn shape(&self) -> Shape {
        Shape {
            origin: self.origin.clone(),
            tenant: self.tenant.to_owned(),
            mv: self.mv,
            user_id: self.user_id.clone(),
        }
    }

    fn cinder(&mut self, api: &CinderApi) -> Result<FakeResponse, Rejection> {
        use CinderApi as C;
        match api {
            C::ListVolumes { detail } => self.list_volumes(*detail).map(FakeResponse::from),
            C::CreateVolume => self.create_volume(),
            C::VolumesSummary => self.volumes_summary(),
            C::ShowVolume(id) => self.show_volume(id),
            C::UpdateVolume(id) => self.update_volume(id),
            C::DeleteVolume(id) => self.delete_volume(id),
            C::VolumeAction(id, _) => self.volume_action(id),
            C::VolumeMetadata(m, id) => self.volume_metadata(m, id),
            C::VolumeMetadataKey(m, id, key) => self.volume_metadata_key(m, id, key),
            C::ListSnapshots { detail } => self.list_snapshots(*detail),
            C::CreateSnapshot => self.create_snapshot(),
            C::ShowSnapshot(id) => self.show_snapshot(id),
            C::UpdateSnapshot(id) => self.update_snapshot(id),
            C::DeleteSnapshot(id) => self.delete_snapshot(id),
            C::SnapshotAction(id) => self.snapshot_action(id),
            C::SnapshotMetadata(m, id) => self.snapshot_metadata(m, id),
            C::SnapshotMetadataKey(m, id, key) => self.snapshot_metadata_key(m, id, key),
            C::ListBackups { detail } => self.list_backups(*detail),
            C::CreateBackup => self.create_backup(),
            C::ShowBackup(id) => self.show_backup(id),
            C::UpdateBackup(id) => self.update_backup(id),
            C::DeleteBackup(id) => self.delete_backup(id),
            C::RestoreBackup(id) => self.restore_backup(id),
            C::BackupAction(id) => self.backup_action(id),
            C::ListAttachments { detail } => self.list_attachments(*detail),
            C::CreateAttachment => self.create_attachment(),
            C::ShowAttachment(id) => self.show_attachment(id),
            C::UpdateAttachment(id) => self.update_attachment(id),
            C::DeleteAttachment(id) => self.delete_attachment(id),
            C::AttachmentAction(id) => self.attachment_action(id),
            C::ListTypes => self.list_types(),
            C::ShowType(id) => self.show_type(id),
            C::TypeExtraSpecs(id) => self.type_extra_specs(id),
            C::TypeExtraSpec(id, key) => self.type_extra_spec(id, key),
            C::ListQos => self.list_qos(),
            C::ShowQos(id) => self.show_qos(id),
            C::Limits => self.limits(),
            C::QuotaSet(p) => self.quota_set(p, false),
            C::QuotaDefaults(p) => self.quota_set(p, true),
            C::AvailabilityZones => self.availability_zones(),
            C::ListMessages => self.list_messages(),
            C::ShowMessage(id) => self.show_message(id),
            C::DeleteMessage(id) => self.delete_message(id),
        }
    }

    fn nova(&mut self, api: &NovaApi) -> Result<FakeResponse, Rejection> {
        match api {
            NovaApi::ListServers { detail } => self.list_servers(*detail),
            NovaApi::ShowServer(id) => self.show_server(id),
            NovaApi::ListVolumeAttachments(s) => self.nova_attachments(s),
            NovaApi::AttachVolume(s) => self.nova_attach(s),
            NovaApi::ShowVolumeAttachment(s, v) => self.nova_attachment(s, v),
            NovaApi::DetachVolume(s, v) => self.nova_detach(s, v),
        }
    }

    /// 404 unless the request's microversion is at least `3.minor`: how
    /// Cinder answers a method below its microversion.
    pub(super) fn need(&self, minor: u16) -> Result<(), Rejection> {
        if self.mv.at_least(minor) {
            Ok(())
        } else {
            Err(error::resource_not_found())
        }
    }

    /// The engine clock as wall-clock time.
    pub(super) fn now(&self) -> SystemTime {
        self.c.system_time(self.c.now())
    }

    /// The engine's refusal in Cinder's words, quotas included.
    pub(super) fn core(&self, e: Error) -> Rejection {
        if let Error::QuotaExceeded { message, .. } = &e {
            let quota = self.c.quota(self.tenant);
            let used = self.c.quota_usage(self.tenant);
            let what = message.split(':').next().unwrap_or_default();
            let limit = |l: Option<u64>| l.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
            return over_limit(match what {
                "gigabytes" => format!(
                    "VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes quota. Requested {}, quota is {}G and {}G has been consumed.",
                    message.rsplit(", ").next().unwrap_or_default().replace(" more requested", "G"),
                    limit(quota.gigabytes),
                    used.gigabytes
                ),
                "snapshots" => format!(
                    "SnapshotLimitExceeded: Maximum number of snapshots allowed ({}) exceeded",
                    limit(quota.snapshots)
                ),
                "backups" => format!(
                    "BackupLimitExceeded: Maximum number of backups allowed ({}) exceeded",
                    limit(quota.backups)
                ),
                _ => format!(
                    "VolumeLimitExceeded: Maximum number of volumes allowed ({}) exceeded for quota 'volumes'.",
                    limit(quota.volumes)
                ),
            });
        }
        error::from_core(e)
    }

    /// Forgets what the fake keeps about resources the engine no longer
    /// has, now and then, so memory follows the engine's.
    fn forget_gone(&mut self) {
        self.st.calls = self.st.calls.wrapping_add(1);
        if self.st.calls % 256 != 0 {
            return;
        }
        let c = &*self.c;
        self.st.volumes.retain(|id, e| {
            VolumeId::new(id.as_str()).is_ok_and(|id| c.get_volume_shared(&e.tenant, &id).is_ok())
        });
        self.st.snapshots.retain(|id, e| {
            SnapshotId::new(id.as_str()).is_ok_and(|id| c.get_snapshot(&e.tenant, &id).is_ok())
        });
        self.st.backups.retain(|id, e| {
            BackupId::new(id.as_str()).is_ok_and(|id| c.get_backup(&e.tenant, &id).is_ok())
        });
        self.st.attachments.retain(|_, a| {
            VolumeId::new(a.volume_id.as_str()).is_ok_and(|id| c.get_volume(&a.tenant, &id).is_ok())
        });
    }

    // ----- bodies -----------------------------------------------------------

    /// The request's JSON object, or Cinder's 400.
    pub(super) fn body(&self) -> Result<Map<String, Value>, Rejection> {
        if self.req.body.iter().all(u8::is_ascii_whitespace) {
            return Err(bad_request("Missing request body."));
        }
        match serde_json::from_slice::<Value>(&self.req.body) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) | Err(_) => Err(bad_request("Malformed request body")),
        }
    }

    /// The object under `key` of the body (`{"volume": {...}}`).
    pub(super) fn body_of(&self, key: &str) -> Result<Map<String, Value>, Rejection> {
        let mut body = self.body()?;
        match body.remove(key) {
            Some(Value::Object(m)) => Ok(m),
            Some(other) => Err(error::invalid_field(key, &other, "is not of type 'object'")),
            None => Err(bad_request(format!("'{key}' is a required property"))),
        }
    }

    /// The query's value of `key`.
    pub(super) fn query(&self, key: &str) -> Option<String> {
        self.req
            .query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }

    /// Whether the query sets `key` to a true word.
    pub(super) fn query_flag(&self, key: &str) -> Result<bool, Rejection> {
        match self.query(key) {
            None => Ok(false),
            Some(v) => parse_bool(&Value::String(v.clone())).ok_or_else(|| {
                bad_request(format!("Invalid value '{v}' for {key}: must be a boolean."))
            }),
        }
    }

    // ----- listing ------------------------------------------------------------

    /// One page of `items` (already filtered, in creation order, oldest
    /// first) as Cinder pages it: sorted by `sort` (default `created_at`
    /// descending, then newest first), after `marker`, at most `limit`;
    /// `{collection}_links` with the next page when the page is full, and
    /// `count` when asked for (3.45+).
    pub(super) fn page<T>(
        &self,
        list: Listing<'_>,
        items: Vec<T>,
        key: impl Fn(&T, &str) -> Option<SortKey>,
        id_of: impl Fn(&T) -> &str,
        render: impl Fn(&Self, &T) -> Value,
    ) -> Result<Value, Rejection> {
        let page = self.select(list, items, key, id_of)?;
        Ok(page.into_json(|t| render(self, t)))
    }

    /// The page [`page`](Self::page) writes, chosen but not rendered.
    pub(super) fn select<T>(
        &self,
        list: Listing<'_>,
        mut items: Vec<T>,
        key: impl Fn(&T, &str) -> Option<SortKey>,
        id_of: impl Fn(&T) -> &str,
    ) -> Result<Selected<T>, Rejection> {
        let Listing {
            collection,
            link_path,
            kind,
            sort_keys,
        } = list;
        let limit = match self.query("limit") {
            None => None,
            Some(l) => match l.trim().parse::<i64>() {
                Ok(n) if n < 0 => return Err(bad_request("limit param must be positive")),
                Ok(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
                Err(_) => return Err(bad_request("limit param must be an integer")),
            },
        };
        let offset = match self.query("offset") {
            None => 0,
            Some(o) => match o.trim().parse::<usize>() {
                Ok(n) => n,
                Err(_) => return Err(bad_request("offset param must be an integer")),
            },
        };
        let sort = self.sort_keys()?;
        if let Some((k, _)) = sort.iter().find(|(k, _)| !sort_keys.contains(&k.as_str())) {
            return Err(bad_request(format!(
                "Invalid input received: Invalid sort key {k}"
            )));
        }
        // Each item's keys are worked out once, not at every comparison;
        // creation order is the final tie-break (newest first by default).
        let mut ranked: Vec<(usize, Vec<Option<SortKey>>, T)> = items
            .drain(..)
            .enumerate()
            .map(|(i, t)| (i, sort.iter().map(|(k, _)| key(&t, k)).collect(), t))
            .collect();
        let newest_first = sort.first().is_none_or(|(_, desc)| *desc);
        ranked.sort_by(|(ra, ka, _), (rb, kb, _)| {
            for ((a, b), (_, desc)) in ka.iter().zip(kb).zip(&sort) {
                let o = a.cmp(b);
                let o = if *desc { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            let o = ra.cmp(rb);
            if newest_first {
                o.reverse()
            } else {
                o
            }
        });
        let count = ranked.len();
        let start = match self.query("marker") {
            None => 0,
            Some(m) => match ranked.iter().position(|(_, _, t)| id_of(t) == m) {
                Some(i) => i + 1,
                None => return Err(error::not_found(kind, &m)),
            },
        };
        let effective = limit.unwrap_or(MAX_LIMIT).min(MAX_LIMIT);
        let with_count = self.mv.at_least(45) && self.query_flag("with_count")?;
        let page: Vec<T> = ranked
            .into_iter()
            .map(|(_, _, t)| t)
            .skip(start.saturating_add(offset))
            .take(effective)
            .collect();
        let seen = if with_count { count } else { page.len() };
        let next = page
            .last()
            .filter(|_| effective <= seen)
            .map(|last| self.next_href(link_path, id_of(last)));
        Ok(Selected {
            collection: collection.to_owned(),
            items: page,
            next,
            count: with_count.then_some(count),
        })
    }

    /// The sort keys asked for: `sort=k[:dir],...` or `sort_key`/`sort_dir`.
    fn sort_keys(&self) -> Result<Vec<(String, bool)>, Rejection> {
        let dir = |d: &str| {
            match d.trim() {
            "" | "desc" => Ok(true),
            "asc" => Ok(false),
            other => Err(bad_request(format!(
                "Invalid input received: Unknown sort direction, must be 'desc' or 'asc' (got {other})."
            ))),
        }
        };
        if let Some(sort) = self.query("sort") {
            let keys: Vec<&str> = sort.split(',').filter(|s| !s.trim().is_empty()).collect();
            if keys.len() > MAX_SORT_KEYS {
                return Err(bad_request(format!(
                    "Invalid input received: at most {MAX_SORT_KEYS} sort keys (volume-sim's limit)."
                )));
            }
            return keys
                .into_iter()
                .map(|s| match s.split_once(':') {
                    Some((k, d)) => Ok((k.trim().to_owned(), dir(d)?)),
                    None => Ok((s.trim().to_owned(), true)),
                })
                .collect();
        }
        let key = self
            .query("sort_key")
            .unwrap_or_else(|| "created_at".to_owned());
        let desc = dir(&self.query("sort_dir").unwrap_or_default())?;
        Ok(vec![(key, desc)])
    }

    /// The next page's URL: this request's query with `marker` replaced.
    fn next_href(&self, link_path: &str, marker: &str) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        let mut had = false;
        for (k, v) in self.req.query_pairs() {
            if k == "marker" {
                had = true;
                q.append_pair("marker", marker);
            } else {
                q.append_pair(&k, &v);
            }
        }
        if !had {
            q.append_pair("marker", marker);
        }
        format!(
            "{}/volume/v3/{}/{link_path}?{}",
            self.origin,
            self.tenant,
            q.finish()
        )
    }

    /// Filters of the query that are not paging or sorting, each read
    /// once, at most [`MAX_FILTERS`] of them.
    ///
    /// Unknown keys are kept (and match everything where they are used):
    /// the fake's users hold the `admin` role, and Cinder lets an admin
    /// filter on any column (`reject_invalid_filters`).
    pub(super) fn filters(&self) -> Result<Vec<Filter>, Rejection> {
        const NOT_FILTERS: &[&str] = &[
            "limit",
            "marker",
            "offset",
            "sort",
            "sort_key",
            "sort_dir",
            "with_count",
            "all_tenants",
            "project_id",
            "usage",
        ];
        let mut filters = Vec::new();
        for (k, v) in self.req.query_pairs() {
            if NOT_FILTERS.contains(&k.as_ref()) {
                continue;
            }
            if filters.len() == MAX_FILTERS {
                return Err(bad_request(format!(
                    "Invalid input received: at most {MAX_FILTERS} filters (volume-sim's limit)."
                )));
            }
            filters.push(Filter::new(k.into_owned(), v.into_owned()));
        }
        Ok(filters)
    }

    /// A timestamp, or `null`.
    pub(super) fn time(t: Option<SystemTime>) -> Value {
        t.map_or(Value::Null, |t| Value::String(iso(t)))
    }
}

/// What a list is: its collection key (`volumes`), the path of its next
/// link (`volumes/detail`), the kind its marker names (`Volume`), and the
/// keys it sorts by (any other is refused, however many items there are).
#[derive(Debug, Clone, Copy)]
pub(super) struct Listing<'a> {
    pub(super) collection: &'a str,
    pub(super) link_path: &'a str,
    pub(super) kind: &'a str,
    pub(super) sort_keys: &'a [&'a str],
}

/// One filter term of a listing's query, read once per request.
#[derive(Debug)]
pub(super) struct Filter {
    /// The query key (`name`, `status`, `metadata`...).
    pub(super) key: String,
    /// Its value as sent.
    pub(super) want: String,
    /// A `metadata` filter's entries; `None` when it does not parse (it
    /// then matches nothing).
    metadata: Option<Vec<(String, String)>>,
}

impl Filter {
    fn new(key: String, want: String) -> Self {
        // Parsed once; the request's size bounds it, and matching stops at
        // the first entry a resource lacks.
        let metadata = if key == "metadata" {
            parse_metadata_filter(&want)
        } else {
            None
        };
        Self {
            key,
            want,
            metadata,
        }
    }

    /// Whether this `metadata` filter is met by `labels`.
    pub(super) fn metadata_matches(&self, labels: &Labels) -> bool {
        self.metadata
            .as_ref()
            .is_some_and(|m| m.iter().all(|(k, v)| labels.get(k).is_some_and(|l| l == v)))
    }
}

/// A value to sort by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum SortKey {
    /// Numbers and times.
    Num(u128),
    /// Words.
    Text(String),
}

impl SortKey {
    pub(super) fn time(t: Option<SystemTime>) -> Self {
        Self::Num(
            t.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos()),
        )
    }
}

/// Cinder's booleans (`parameter_types.boolean`): JSON booleans and the
/// words `true/false, 1/0, yes/no, on/off, y/n, t/f`.
pub(super) fn parse_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" | "y" | "t" => Some(true),
            "false" | "0" | "no" | "off" | "n" | "f" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// An optional string field of at most 255 characters (`null` is absent),
/// white space stripped.
pub(super) fn opt_string(m: &Map<String, Value>, key: &str) -> Result<Option<String>, Rejection> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= 255 => Ok(Some(s.trim().to_owned())),
        Some(v @ Value::String(_)) => Err(error::invalid_field(key, v, "is too long")),
        Some(v) => Err(error::invalid_field(
            key,
            v,
            "is not of type 'string', 'null'",
        )),
    }
}

/// `metadata`: an object of strings with Cinder's key rule; `null` is absent.
pub(super) fn metadata(m: &Map<String, Value>, key: &str) -> Result<Option<Labels>, Rejection> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => labels_of(o).map(Some),
        Some(v) => Err(error::invalid_field(key, v, "is not of type 'object'")),
    }
}

/// A metadata object as labels: keys `^[a-zA-Z0-9-_:. /]{1,255}$`, values
/// strings of at most 255 characters.
pub(super) fn labels_of(o: &Map<String, Value>) -> Result<Labels, Rejection> {
    let mut labels = Labels::new();
    for (k, v) in o {
        let key_ok = !k.is_empty()
            && k.chars().count() <= 255
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_:. /".contains(c));
        if !key_ok {
            return Err(bad_request(format!(
                "Invalid input for field/attribute metadata. Value: {k}. '{k}' does not match any of the regexes: '^[a-zA-Z0-9-_:. /]{{1,255}}$'"
            )));
        }
        match v {
            Value::String(s) if s.chars().count() <= 255 => {
                labels.insert(k.clone(), s.clone());
            }
            other => {
                return Err(error::invalid_field(
                    &format!("metadata/{k}"),
                    other,
                    "is not of type 'string' or is longer than 255 characters",
                ))
            }
        }
    }
    Ok(labels)
}

/// Labels as a JSON object.
pub(super) fn labels_json(labels: &Labels) -> Value {
    Value::Object(
        labels
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// Refuses keys of `m` outside `allowed`, as jsonschema's
/// `additionalProperties: false` does.
pub(super) fn only(m: &Map<String, Value>, allowed: &[&str]) -> Result<(), Rejection> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(bad_request(format!(
            "Additional properties are not allowed ('{k}' was unexpected)"
        ))),
        None => Ok(()),
    }
}

/// A metadata filter's entries (`{"k": "v"}` as JSON, or Python's repr
/// that cinderclient sends); `None` when it is not a dict of strings.
fn parse_metadata_filter(filter: &str) -> Option<Vec<(String, String)>> {
    let parsed: Map<String, Value> = serde_json::from_str(filter)
        .ok()
        .or_else(|| serde_json::from_str(&filter.replace('\'', "\"")).ok())?;
    parsed
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(v) => Some((k, v)),
            _ => None,
        })
        .collect()
}

/// An empty `202 Accepted`.
pub(super) fn accepted() -> FakeResponse {
    FakeResponse::empty(202)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_take_cinders_words() {
        for t in ["true", "1", "yes", "ON", "y", "t"] {
            assert_eq!(parse_bool(&Value::from(t)), Some(true), "{t}");
        }
        for f in ["false", "0", "no", "off", "N", "f"] {
            assert_eq!(parse_bool(&Value::from(f)), Some(false), "{f}");
        }
        assert_eq!(parse_bool(&Value::from("maybe")), None);
        assert_eq!(parse_bool(&json!(1)), None);
        assert_eq!(parse_bool(&json!(true)), Some(true));
    }

    #[test]
    fn metadata_keys_follow_the_schema() {
        let ok = json!({"a-b_c:d. /e": "v"});
        assert!(labels_of(ok.as_object().unwrap()).is_ok());
        for bad in [
            json!({"": "v"}),
            json!({"a*": "v"}),
            json!({"k": 1}),
            json!({"k": "x".repeat(256)}),
        ] {
            assert!(labels_of(bad.as_object().unwrap()).is_err(), "{bad}");
        }
    }

    #[test]
    fn metadata_filters_read_json_and_python_dicts() {
        let mut labels = Labels::new();
        labels.insert("k".into(), "v".into());
        let matches = |f: &str| Filter::new("metadata".into(), f.into()).metadata_matches(&labels);
        assert!(matches(r#"{"k": "v"}"#));
        assert!(matches("{'k': 'v'}"));
        assert!(!matches("{'k': 'w'}"));
        assert!(!matches("{'k': 1}"));
        assert!(!matches("not a dict"));
    }

    #[test]
    fn only_refuses_unknown_keys() {
        let m = json!({"a": 1, "b": 2});
        assert!(only(m.as_object().unwrap(), &["a", "b"]).is_ok());
        let r = only(m.as_object().unwrap(), &["a"]).unwrap_err();
        assert_eq!(r.status, 400);
        assert!(r.message.contains("'b' was unexpected"));
    }
}
