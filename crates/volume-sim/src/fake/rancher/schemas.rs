//! The schema collection clients bootstrap from (`GET /v2-beta/schemas`,
//! named by every answer's `X-API-Schemas`): the volume, snapshot, backup,
//! backupTarget, storageDriver, host and project schemas, their action
//! inputs, and the framework's own (`schema`, `error`, `apiVersion`),
//! written from the captured `schemas.json` of a Rancher 1.6 server (field
//! names, types, create/update flags, options, actions and filters), with
//! links in the request's own base.

use serde_json::{json, Map, Value};

use super::envelope::{Base, Kind};
use super::filters::Class;

/// One field of a schema.
struct Field {
    name: &'static str,
    ty: &'static str,
    /// `c` create, `u` update, `n` nullable, `r` required.
    flags: &'static str,
    options: &'static [&'static str],
    default: Option<Value>,
}

const fn f(name: &'static str, ty: &'static str, flags: &'static str) -> Field {
    Field {
        name,
        ty,
        flags,
        options: &[],
        default: None,
    }
}

const fn e(name: &'static str, options: &'static [&'static str]) -> Field {
    Field {
        name,
        ty: "enum",
        flags: "",
        options,
        default: None,
    }
}

fn field_json(field: &Field) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), Value::from(field.ty));
    m.insert("create".into(), Value::Bool(field.flags.contains('c')));
    m.insert("update".into(), Value::Bool(field.flags.contains('u')));
    if field.flags.contains('n') {
        m.insert("nullable".into(), Value::Bool(true));
    }
    if field.flags.contains('r') {
        m.insert("required".into(), Value::Bool(true));
    }
    if !field.options.is_empty() {
        m.insert("options".into(), json!(field.options));
    }
    if let Some(d) = &field.default {
        m.insert("default".into(), d.clone());
    }
    Value::Object(m)
}

/// The transitioning trio every stateful resource has.
fn transitioning() -> [Field; 3] {
    [
        e("transitioning", &["yes", "no", "error"]),
        f("transitioningMessage", "string", "n"),
        f("transitioningProgress", "int", "n"),
    ]
}

/// The fields every resource has (`id` is an int in the schema; the wire
/// value is the formatted string id).
fn common() -> Vec<Field> {
    vec![
        f("accountId", "reference[account]", "n"),
        f("created", "date", "n"),
        f("description", "string", "cun"),
        f("id", "int", "n"),
        f("kind", "string", "n"),
        f("name", "string", "cun"),
        f("removed", "date", "n"),
        f("uuid", "string", "n"),
    ]
}

const VOLUME_STATES: &[&str] = &[
    "activating",
    "active",
    "creating",
    "deactivating",
    "detached",
    "inactive",
    "purged",
    "purging",
    "registering",
    "removed",
    "removing",
    "requested",
    "restoring",
    "restoring-active",
    "restoring-inactive",
    "reverting-active",
    "reverting-inactive",
    "updating-active",
    "updating-inactive",
];
const ARTIFACT_STATES: &[&str] = &["created", "creating", "removed", "removing", "requested"];

/// The volume collection's filters, with their classes (the captured
/// schema's `collectionFilters`).
pub(super) const VOLUME_FILTERS: &[(&str, Class)] = &[
    ("accessMode", Class::Text),
    ("accountId", Class::Ref),
    ("allocationState", Class::Text),
    ("attachedState", Class::Text),
    ("created", Class::Ordered),
    ("deploymentUnitId", Class::Ref),
    ("description", Class::Text),
    ("deviceNumber", Class::Ordered),
    ("externalId", Class::Text),
    ("format", Class::Text),
    ("hostId", Class::Ref),
    ("id", Class::Ordered),
    ("imageId", Class::Ref),
    ("instanceId", Class::Ref),
    ("kind", Class::Text),
    ("name", Class::Text),
    ("physicalSizeMb", Class::Ordered),
    ("removeTime", Class::Ordered),
    ("removed", Class::Ordered),
    ("sizeMb", Class::Ordered),
    ("stackId", Class::Ref),
    ("state", Class::Ref),
    ("storageDriverId", Class::Ref),
    ("uri", Class::Text),
    ("uuid", Class::Text),
    ("virtualSizeMb", Class::Ordered),
    ("volumeTemplateId", Class::Ref),
    ("zoneId", Class::Ref),
];

/// The snapshot collection's filters.
pub(super) const SNAPSHOT_FILTERS: &[(&str, Class)] = &[
    ("accountId", Class::Ref),
    ("created", Class::Ordered),
    ("description", Class::Text),
    ("id", Class::Ordered),
    ("kind", Class::Text),
    ("name", Class::Text),
    ("removeTime", Class::Ordered),
    ("removed", Class::Ordered),
    ("state", Class::Ref),
    ("uuid", Class::Text),
    ("volumeId", Class::Ref),
];

/// The backup collection's filters.
pub(super) const BACKUP_FILTERS: &[(&str, Class)] = &[
    ("accountId", Class::Ref),
    ("backupTargetId", Class::Ref),
    ("created", Class::Ordered),
    ("description", Class::Text),
    ("id", Class::Ordered),
    ("kind", Class::Text),
    ("name", Class::Text),
    ("removeTime", Class::Ordered),
    ("removed", Class::Ordered),
    ("snapshotId", Class::Ref),
    ("state", Class::Ref),
    ("uri", Class::Text),
    ("uuid", Class::Text),
    ("volumeId", Class::Ref),
];

/// The storage-driver, backup-target and host collections' filters (the
/// fields the fake shows).
pub(super) const PLAIN_FILTERS: &[(&str, Class)] = &[
    ("accountId", Class::Ref),
    ("created", Class::Ordered),
    ("description", Class::Text),
    ("id", Class::Ordered),
    ("kind", Class::Text),
    ("name", Class::Text),
    ("removeTime", Class::Ordered),
    ("removed", Class::Ordered),
    ("state", Class::Ref),
    ("uuid", Class::Text),
];

/// The filters of `kind`'s collection.
pub(super) fn filters_of(kind: Kind) -> &'static [(&'static str, Class)] {
    match kind {
        Kind::Volume => VOLUME_FILTERS,
        Kind::Snapshot => SNAPSHOT_FILTERS,
        Kind::Backup => BACKUP_FILTERS,
        _ => PLAIN_FILTERS,
    }
}

/// One schema, described.
struct Schema {
    id: &'static str,
    plural: &'static str,
    collection: Option<Kind>,
    collection_methods: &'static [&'static str],
    resource_methods: &'static [&'static str],
    fields: Vec<Field>,
    /// action → (input, output).
    actions: &'static [(&'static str, Option<&'static str>, &'static str)],
    filters: &'static [(&'static str, Class)],
}

fn with_common(extra: Vec<Field>) -> Vec<Field> {
    let mut v = common();
    v.extend(extra);
    v.extend(transitioning());
    v
}

/// A project is an account: it has no `accountId` of its own.
fn without_account(mut fields: Vec<Field>) -> Vec<Field> {
    fields.retain(|f| f.name != "accountId");
    fields
}

fn all() -> Vec<Schema> {
    let input = |id, fields| Schema {
        id,
        plural: "",
        collection: None,
        collection_methods: &[],
        resource_methods: &["GET"],
        fields,
        actions: &[],
        filters: &[],
    };
    let mut volume_fields = with_common(vec![
        f("accessMode", "string", "n"),
        f("externalId", "string", "n"),
        f("hostId", "reference[host]", "cun"),
        f("imageId", "reference[image]", "n"),
        f("instanceId", "reference[instance]", "n"),
        f("sizeMb", "int", "cn"),
        f("stackId", "reference[stack]", "cn"),
        e("state", VOLUME_STATES),
        f("storageDriverId", "reference[storageDriver]", "c"),
        f("uri", "string", "n"),
        f("volumeTemplateId", "reference[volumeTemplate]", "cn"),
        Field {
            default: Some(Value::Bool(false)),
            ..f("isHostPath", "boolean", "")
        },
        f("driver", "string", "c"),
        f("driverOpts", "map[string]", "cun"),
        f("mounts", "array[mountEntry]", ""),
    ]);
    // A volume's name is required and cannot be changed.
    for field in &mut volume_fields {
        if field.name == "name" {
            field.flags = "cnr";
        }
    }
    let artifact = |extra: Vec<Field>| {
        with_common(
            extra
                .into_iter()
                .chain([e("state", ARTIFACT_STATES)])
                .collect(),
        )
    };
    vec![
        Schema {
            id: "volume",
            plural: "volumes",
            collection: Some(Kind::Volume),
            collection_methods: &["GET", "POST"],
            resource_methods: &["GET", "PUT", "DELETE"],
            fields: volume_fields,
            actions: &[
                ("allocate", None, "volume"),
                ("create", None, "volume"),
                ("deallocate", None, "volume"),
                ("purge", None, "volume"),
                ("remove", None, "volume"),
                ("restore", None, "volume"),
                (
                    "restorefrombackup",
                    Some("restoreFromBackupInput"),
                    "volume",
                ),
                ("reverttosnapshot", Some("revertToSnapshotInput"), "volume"),
                ("snapshot", Some("volumeSnapshotInput"), "snapshot"),
                ("update", None, "volume"),
            ],
            filters: VOLUME_FILTERS,
        },
        Schema {
            id: "snapshot",
            plural: "snapshots",
            collection: Some(Kind::Snapshot),
            collection_methods: &["GET"],
            resource_methods: &["GET", "DELETE"],
            fields: artifact(vec![f("volumeId", "reference[volume]", "r")]),
            actions: &[
                ("backup", Some("snapshotBackupInput"), "backup"),
                ("create", None, "snapshot"),
                ("remove", None, "snapshot"),
            ],
            filters: SNAPSHOT_FILTERS,
        },
        Schema {
            id: "backup",
            plural: "backups",
            collection: Some(Kind::Backup),
            collection_methods: &["GET"],
            resource_methods: &["GET", "DELETE"],
            fields: artifact(vec![
                f("backupTargetId", "reference[backupTarget]", "n"),
                f("snapshotId", "reference[snapshot]", "n"),
                f("uri", "string", "n"),
                f("volumeId", "reference[volume]", "n"),
            ]),
            actions: &[("create", None, "backup"), ("remove", None, "backup")],
            filters: BACKUP_FILTERS,
        },
        Schema {
            id: "backupTarget",
            plural: "backupTargets",
            collection: Some(Kind::BackupTarget),
            collection_methods: &["GET"],
            resource_methods: &["GET"],
            fields: {
                let mut fields = with_common(vec![
                    e("state", ARTIFACT_STATES),
                    f("nfsConfig", "nfsConfig", "cn"),
                ]);
                for field in &mut fields {
                    if field.name == "name" {
                        field.flags = "cur";
                    }
                }
                fields
            },
            actions: &[
                ("create", None, "backupTarget"),
                ("remove", None, "backupTarget"),
            ],
            filters: PLAIN_FILTERS,
        },
        Schema {
            id: "storageDriver",
            plural: "storageDrivers",
            collection: Some(Kind::StorageDriver),
            collection_methods: &["GET"],
            resource_methods: &["GET"],
            fields: with_common(vec![
                f("serviceId", "reference[service]", "n"),
                e(
                    "state",
                    &[
                        "activating",
                        "active",
                        "creating",
                        "deactivating",
                        "inactive",
                        "removed",
                        "removing",
                        "requested",
                        "updating",
                    ],
                ),
                Field {
                    default: Some(Value::from("multiHostRW")),
                    ..e(
                        "volumeAccessMode",
                        &["singleHostRW", "singleInstanceRW", "multiHostRW"],
                    )
                },
                f("volumeCapabilities", "array[string]", "n"),
                f("blockDevicePath", "string", "n"),
                e("scope", &["local", "environment", "custom"]),
            ]),
            actions: &[],
            filters: PLAIN_FILTERS,
        },
        Schema {
            id: "host",
            plural: "hosts",
            collection: Some(Kind::Host),
            collection_methods: &["GET"],
            resource_methods: &["GET"],
            fields: with_common(vec![
                f("agentState", "string", "n"),
                e(
                    "state",
                    &[
                        "activating",
                        "active",
                        "deactivating",
                        "error",
                        "erroring",
                        "inactive",
                        "provisioned",
                        "provisioning",
                        "purged",
                        "purging",
                        "registering",
                        "removed",
                        "removing",
                        "requested",
                        "restoring",
                        "updating-active",
                        "updating-inactive",
                    ],
                ),
                f("hostname", "string", "cr"),
                f("agentIpAddress", "string", "n"),
                f("labels", "map[string]", "cun"),
            ]),
            actions: &[],
            filters: PLAIN_FILTERS,
        },
        Schema {
            id: "project",
            plural: "projects",
            collection: None,
            collection_methods: &["GET"],
            resource_methods: &["GET"],
            fields: without_account(with_common(vec![
                e(
                    "state",
                    &[
                        "activating",
                        "active",
                        "deactivating",
                        "inactive",
                        "purged",
                        "purging",
                        "registering",
                        "removed",
                        "removing",
                        "requested",
                        "restoring",
                        "updating-active",
                        "updating-inactive",
                        "upgrading",
                    ],
                ),
                Field {
                    default: Some(Value::from("cattle")),
                    ..f("orchestration", "string", "")
                },
            ])),
            actions: &[],
            filters: PLAIN_FILTERS,
        },
        Schema {
            id: "mountEntry",
            plural: "mountEntries",
            collection: None,
            collection_methods: &[],
            resource_methods: &["GET"],
            fields: vec![
                f("instanceId", "reference[instance]", ""),
                f("instanceName", "string", ""),
                f("path", "string", ""),
                f("volumeId", "reference[volume]", ""),
                f("volumeName", "string", ""),
            ],
            actions: &[],
            filters: &[],
        },
        input("volumeSnapshotInput", vec![f("name", "string", "c")]),
        input(
            "revertToSnapshotInput",
            vec![f("snapshotId", "reference[snapshot]", "cr")],
        ),
        input(
            "restoreFromBackupInput",
            vec![f("backupId", "reference[backup]", "cr")],
        ),
        input(
            "snapshotBackupInput",
            vec![
                f("backupTargetId", "reference[backupTarget]", "cr"),
                f("name", "string", "cn"),
            ],
        ),
        input(
            "error",
            vec![
                f("status", "int", ""),
                f("code", "string", ""),
                f("message", "string", "n"),
                f("detail", "string", "n"),
                f("fieldName", "string", "n"),
            ],
        ),
        input("apiVersion", vec![]),
        Schema {
            id: "schema",
            plural: "schemas",
            collection: None,
            collection_methods: &["GET"],
            resource_methods: &["GET"],
            fields: [
                "collectionActions",
                "collectionFields",
                "collectionFilters",
                "resourceActions",
                "resourceFields",
            ]
            .into_iter()
            .map(|n| f(n, "map[json]", "c"))
            .chain([
                f("collectionMethods", "array[string]", "c"),
                f("includeableLinks", "array[string]", "c"),
                f("pluralName", "string", "c"),
                f("resourceMethods", "array[string]", "c"),
            ])
            .collect(),
            actions: &[],
            filters: &[],
        },
    ]
}

fn schema_json(base: &Base, s: &Schema) -> Value {
    let this = format!("{}/{}", base.schemas(), s.id.to_ascii_lowercase());
    let mut links = Map::new();
    links.insert("self".into(), Value::from(this));
    match s.collection {
        Some(kind) => {
            links.insert("collection".into(), Value::from(base.collection(kind)));
        }
        None if s.id == "schema" => {
            links.insert("collection".into(), Value::from(base.schemas()));
        }
        None if s.id == "project" => {
            links.insert(
                "collection".into(),
                Value::from(format!("{}/projects", base.root())),
            );
        }
        None => {}
    }
    let fields: Map<String, Value> = s
        .fields
        .iter()
        .map(|f| (f.name.to_owned(), field_json(f)))
        .collect();
    let actions: Map<String, Value> = s
        .actions
        .iter()
        .map(|(name, input, output)| {
            (
                (*name).to_owned(),
                json!({"input": input, "output": output}),
            )
        })
        .collect();
    let filters: Map<String, Value> = s
        .filters
        .iter()
        .map(|(name, class)| {
            (
                (*name).to_owned(),
                json!({ "modifiers": class.modifiers() }),
            )
        })
        .collect();
    json!({
        "id": s.id,
        "type": "schema",
        "baseType": "schema",
        "links": links,
        "actions": {},
        "pluralName": s.plural,
        "resourceMethods": s.resource_methods,
        "collectionMethods": s.collection_methods,
        "resourceFields": fields,
        "resourceActions": actions,
        "collectionActions": {},
        "collectionFields": {},
        "collectionFilters": filters,
        "includeableLinks": [],
    })
}

/// Every schema, as the `data` of the schema collection.
pub(super) fn collection(base: &Base) -> Vec<Value> {
    all().iter().map(|s| schema_json(base, s)).collect()
}

/// One schema by id (case-insensitive, as Cattle looks them up).
pub(super) fn one(base: &Base, id: &str) -> Option<Value> {
    all()
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(id) || s.plural.eq_ignore_ascii_case(id))
        .map(|s| schema_json(base, s))
}
