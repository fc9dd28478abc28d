//! `clouds.yaml`, as the OpenStack tools read it.
//!
//! The first `clouds.yaml` (or `clouds.yml`) found is read: the file named
//! by `OS_CLIENT_CONFIG_FILE`, then the current directory,
//! `$XDG_CONFIG_HOME/openstack` (`~/.config/openstack`), and
//! `/etc/openstack`. A `secure.yaml` (or the file named by
//! `OS_CLIENT_SECURE_FILE`) found in the same places is merged over it key
//! by key, so passwords can live apart from the rest. The named cloud's
//! `auth` keys (`auth_url`, `username`, `password`, `project_name`,
//! `user_domain_name`, `application_credential_id`, ...) and its
//! `region_name`, `interface`, `cacert` and `block_storage_endpoint_override`
//! become a [`CloudSettings`].

use std::path::{Path, PathBuf};

use serde_json::Value;
use volume_core::http::Env;
use volume_core::{Error, Result};

/// Every setting a cloud entry (or the `OS_*` environment) can give, as text.
#[derive(Default, Clone)]
pub(crate) struct CloudSettings {
    pub(crate) auth_url: Option<String>,
    pub(crate) username: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) project_name: Option<String>,
    pub(crate) project_id: Option<String>,
    pub(crate) user_domain_name: Option<String>,
    pub(crate) user_domain_id: Option<String>,
    pub(crate) project_domain_name: Option<String>,
    pub(crate) project_domain_id: Option<String>,
    /// `domain_name`/`domain_id`: the domain of both user and project when
    /// they name none of their own.
    pub(crate) domain_name: Option<String>,
    pub(crate) domain_id: Option<String>,
    pub(crate) application_credential_id: Option<String>,
    pub(crate) application_credential_name: Option<String>,
    pub(crate) application_credential_secret: Option<String>,
    pub(crate) token: Option<String>,
    pub(crate) region_name: Option<String>,
    pub(crate) interface: Option<String>,
    pub(crate) cacert: Option<String>,
    pub(crate) endpoint_override: Option<String>,
}

/// The directories searched, in order.
pub(crate) fn search_dirs(env: &Env) -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from(".")];
    if let Some(config) = env.string(&["XDG_CONFIG_HOME"]) {
        dirs.push(Path::new(&config).join("openstack"));
    } else if let Some(home) = env.string(&["HOME"]) {
        dirs.push(Path::new(&home).join(".config").join("openstack"));
    }
    dirs.push(PathBuf::from("/etc/openstack"));
    dirs
}

/// The first of `names` in `dirs` that exists.
fn find(dirs: &[PathBuf], names: &[&str]) -> Option<PathBuf> {
    dirs.iter()
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|path| path.is_file())
}

/// The largest configuration file read, in bytes.
const MAX_FILE: u64 = 1 << 20;

fn read_yaml(path: &Path) -> Result<Value> {
    let cannot = |why: String| {
        Error::invalid_input(
            "clouds.yaml",
            format!("cannot read {}: {why}", path.display()),
        )
    };
    let size = std::fs::metadata(path)
        .map_err(|e| cannot(e.to_string()))?
        .len();
    if size > MAX_FILE {
        return Err(cannot(format!("larger than {MAX_FILE} bytes")));
    }
    let text = std::fs::read_to_string(path).map_err(|e| cannot(e.to_string()))?;
    let yaml: serde_norway::Value =
        serde_norway::from_str(&text).map_err(|e| cannot(format!("not YAML ({e})")))?;
    serde_json::to_value(yaml).map_err(|e| cannot(e.to_string()))
}

/// `over` merged into `base`, objects key by key.
fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (key, value) in over {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, over) => *base = over,
    }
}

/// A scalar as text (YAML reads an unquoted project id of digits as a number).
fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The settings of cloud `name` in `document` (a parsed, merged `clouds.yaml`).
pub(crate) fn settings_of(document: &Value, name: &str, source: &str) -> Result<CloudSettings> {
    let cloud = document
        .get("clouds")
        .and_then(|c| c.get(name))
        .ok_or_else(|| {
            let known: Vec<&str> = document
                .get("clouds")
                .and_then(Value::as_object)
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            Error::invalid_input(
                "cloud",
                format!("no cloud {name:?} in {source} (it has {known:?})"),
            )
        })?;
    let auth = cloud.get("auth").cloned().unwrap_or(Value::Null);
    let a = |key: &str| text(auth.get(key));
    let c = |key: &str| text(cloud.get(key));
    Ok(CloudSettings {
        auth_url: a("auth_url"),
        username: a("username"),
        user_id: a("user_id"),
        password: a("password"),
        project_name: a("project_name").or_else(|| a("tenant_name")),
        project_id: a("project_id").or_else(|| a("tenant_id")),
        user_domain_name: a("user_domain_name"),
        user_domain_id: a("user_domain_id"),
        project_domain_name: a("project_domain_name"),
        project_domain_id: a("project_domain_id"),
        domain_name: a("domain_name"),
        domain_id: a("domain_id"),
        application_credential_id: a("application_credential_id"),
        application_credential_name: a("application_credential_name"),
        application_credential_secret: a("application_credential_secret"),
        token: a("token"),
        region_name: c("region_name"),
        interface: c("interface"),
        cacert: c("cacert"),
        endpoint_override: c("block_storage_endpoint_override")
            .or_else(|| c("volume_endpoint_override")),
    })
}

/// Cloud `name` from the `clouds.yaml` (and `secure.yaml`) found from `env`.
pub(crate) fn load(name: &str, env: &Env) -> Result<CloudSettings> {
    let dirs = search_dirs(env);
    let clouds = env
        .string(&["OS_CLIENT_CONFIG_FILE"])
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .or_else(|| find(&dirs, &["clouds.yaml", "clouds.yml"]))
        .ok_or_else(|| {
            Error::invalid_input(
                "cloud",
                format!(
                    "no clouds.yaml for cloud {name:?} (looked in {})",
                    dirs.iter()
                        .map(|d| d.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
    let mut document = read_yaml(&clouds)?;
    let secure = env
        .string(&["OS_CLIENT_SECURE_FILE"])
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .or_else(|| find(&dirs, &["secure.yaml", "secure.yml"]));
    if let Some(secure) = secure {
        merge(&mut document, read_yaml(&secure)?);
    }
    settings_of(&document, name, &clouds.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clouds_and_secure_merge() {
        let dir = std::env::temp_dir().join(format!("volume-cinder-clouds-{}", std::process::id()));
        let openstack = dir.join(".config").join("openstack");
        std::fs::create_dir_all(&openstack).unwrap();
        std::fs::write(
            openstack.join("clouds.yaml"),
            "clouds:\n  devstack:\n    auth:\n      auth_url: http://127.0.0.1/identity\n      username: demo\n      project_id: 1234\n      user_domain_name: Default\n    region_name: RegionOne\n    interface: internal\n",
        )
        .unwrap();
        std::fs::write(
            openstack.join("secure.yaml"),
            "clouds:\n  devstack:\n    auth:\n      password: s3cret\n",
        )
        .unwrap();
        let home = dir.clone();
        let env = Env::from_fn(move |n| (n == "HOME").then(|| home.clone().into_os_string()));
        let s = load("devstack", &env).unwrap();
        assert_eq!(s.auth_url.as_deref(), Some("http://127.0.0.1/identity"));
        assert_eq!(s.username.as_deref(), Some("demo"));
        assert_eq!(s.password.as_deref(), Some("s3cret"));
        assert_eq!(s.project_id.as_deref(), Some("1234"));
        assert_eq!(s.region_name.as_deref(), Some("RegionOne"));
        assert_eq!(s.interface.as_deref(), Some("internal"));
        let e = load("nope", &env).err().unwrap();
        assert!(e.to_string().contains("devstack"), "{e}");
        std::fs::write(openstack.join("clouds.yaml"), "clouds: [unclosed").unwrap();
        assert!(load("devstack", &env).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
