//! The `volume` binary driven as a user drives it: against the in-process
//! simulator (`--provider sim`), and against the Linode and Exoscale fakes
//! served on a loopback port by this test process (the same server as
//! `volume serve`), pointed at with environment variables, flags and config
//! profiles.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;
use volume_sim::serve::{ServeConfig, Server};

const LINODE_TOKEN: &str = "sekrit-linode-token-4e1f";
const EXOSCALE_KEY: &str = "EXOcli0000000000000000000000";
const EXOSCALE_SECRET: &str = "sekrit-exoscale-secret-9a7c";

/// Every variable the command reads, so that the caller's own settings
/// never leak into a test.
const CLEARED: &[&str] = &[
    "LINODE_TOKEN",
    "LINODE_API_URL",
    "EXOSCALE_API_KEY",
    "EXOSCALE_API_SECRET",
    "EXOSCALE_ZONE",
    "OS_AUTH_URL",
    "OS_CLOUD",
    "OS_USERNAME",
    "OS_PASSWORD",
    "OS_PROJECT_NAME",
    "OS_PROJECT_ID",
    "OS_TENANT_NAME",
    "OS_TENANT_ID",
    "OS_USER_DOMAIN_NAME",
    "OS_USER_DOMAIN_ID",
    "OS_PROJECT_DOMAIN_NAME",
    "OS_PROJECT_DOMAIN_ID",
    "OS_DOMAIN_NAME",
    "OS_DOMAIN_ID",
    "OS_REGION_NAME",
    "OS_INTERFACE",
    "OS_ENDPOINT_TYPE",
    "OS_TOKEN",
    "OS_APPLICATION_CREDENTIAL_ID",
    "OS_APPLICATION_CREDENTIAL_NAME",
    "OS_APPLICATION_CREDENTIAL_SECRET",
    "OS_VOLUME_API_VERSION",
    "OS_CLIENT_CONFIG_FILE",
    "OS_CACERT",
    "CATTLE_URL",
    "CATTLE_ACCESS_KEY",
    "CATTLE_SECRET_KEY",
    "RANCHER_URL",
    "RANCHER_ACCESS_KEY",
    "RANCHER_SECRET_KEY",
    "LNDYNAMIC_API_ID",
    "LNDYNAMIC_API_KEY",
    "LUNANODE_API_ID",
    "LUNANODE_API_KEY",
    "LUNANODE_REGION",
    "VOLUME_PROVIDER",
    "VOLUME_PROFILE",
    "VOLUME_CONFIG",
    "XDG_CONFIG_HOME",
    "NO_COLOR",
];

/// `volume` with a clean environment and a HOME with no config file.
fn volume(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("volume").unwrap();
    for var in CLEARED {
        cmd.env_remove(var);
    }
    cmd.env("HOME", home).timeout(Duration::from_secs(60));
    cmd
}

fn home() -> tempdir::Dir {
    tempdir::Dir::new()
}

/// A tiny temporary directory, removed on drop.
mod tempdir {
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU32, Ordering};

    static NEXT: AtomicU32 = AtomicU32::new(0);

    pub(crate) struct Dir(PathBuf);

    impl Dir {
        pub(crate) fn new() -> Self {
            let path = std::env::temp_dir().join(format!(
                "volume-cli-test-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }

        pub(crate) fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("an exit status")
}

/// The fakes of the registry served on a loopback port, with their clocks
/// so fast that every transition is over by the next request.
struct Fake {
    server: Server,
    _runtime: tokio::runtime::Runtime,
}

impl Fake {
    fn start() -> Self {
        Self::start_with(1e9, &[])
    }

    /// With a clock speed and dialect settings of the registry
    /// (`("linode-rate-limit", "2")`).
    fn start_with(time_scale: f64, settings: &[(&str, &str)]) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let config = ServeConfig::default()
            .with_time_scale(time_scale)
            .with_setting("linode-token", LINODE_TOKEN)
            .unwrap()
            .with_setting("exoscale-key", EXOSCALE_KEY)
            .unwrap()
            .with_setting("exoscale-secret", EXOSCALE_SECRET)
            .unwrap();
        let config = settings.iter().fold(config, |config, (flag, value)| {
            config.with_setting(flag, *value).unwrap()
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let server = runtime.block_on(Server::start(listener, &config)).unwrap();
        Self {
            server,
            _runtime: runtime,
        }
    }

    fn linode_url(&self) -> String {
        format!("{}/v4", self.server.uri())
    }

    fn exoscale_url(&self) -> String {
        format!("{}/v2", self.server.uri())
    }

    /// `volume --provider linode` on this fake, by environment.
    fn linode(&self, home: &Path) -> Command {
        let mut cmd = volume(home);
        cmd.env("LINODE_TOKEN", LINODE_TOKEN)
            .env("LINODE_API_URL", self.linode_url())
            .args(["--provider", "linode"]);
        cmd
    }

    /// `volume --provider exoscale` on this fake: credentials by
    /// environment, endpoint by flag.
    fn exoscale(&self, home: &Path) -> Command {
        let mut cmd = volume(home);
        cmd.env("EXOSCALE_API_KEY", EXOSCALE_KEY)
            .env("EXOSCALE_API_SECRET", EXOSCALE_SECRET)
            .args(["--provider", "exoscale", "--endpoint", &self.exoscale_url()]);
        cmd
    }
}

impl Fake {
    /// `volume --provider cinder` on this fake: the `OS_*` variables an
    /// openrc file sets, with the fake's default user and project.
    fn cinder(&self, home: &Path) -> Command {
        use volume_sim::fake::cinder::{
            DEFAULT_DOMAIN, DEFAULT_PASSWORD, DEFAULT_PROJECT, DEFAULT_REGION, DEFAULT_USER,
        };
        let mut cmd = volume(home);
        cmd.env("OS_AUTH_URL", format!("{}/identity/v3", self.server.uri()))
            .env("OS_USERNAME", DEFAULT_USER)
            .env("OS_PASSWORD", DEFAULT_PASSWORD)
            .env("OS_PROJECT_NAME", DEFAULT_PROJECT)
            .env("OS_USER_DOMAIN_NAME", DEFAULT_DOMAIN)
            .env("OS_PROJECT_DOMAIN_NAME", DEFAULT_DOMAIN)
            .env("OS_REGION_NAME", DEFAULT_REGION)
            .args(["--provider", "cinder"]);
        cmd
    }

    /// `volume --provider rancher` on this fake: keys by `CATTLE_*`, the
    /// project's URL by `--endpoint`.
    fn rancher(&self, home: &Path) -> Command {
        use volume_sim::fake::rancher::{
            DEFAULT_ACCESS_KEY, DEFAULT_PROJECT_ID, DEFAULT_SECRET_KEY,
        };
        let mut cmd = volume(home);
        cmd.env("CATTLE_ACCESS_KEY", DEFAULT_ACCESS_KEY)
            .env("CATTLE_SECRET_KEY", DEFAULT_SECRET_KEY)
            .args([
                "--provider",
                "rancher",
                "--endpoint",
                &format!(
                    "{}/v2-beta/projects/{DEFAULT_PROJECT_ID}",
                    self.server.uri()
                ),
            ]);
        cmd
    }

    /// `volume --provider lunanode` on this fake: keys by `LNDYNAMIC_*`,
    /// the endpoint by `--endpoint`.
    fn lunanode(&self, home: &Path) -> Command {
        use volume_sim::fake::lunanode::{DEFAULT_API_ID, DEFAULT_API_KEY};
        let mut cmd = volume(home);
        cmd.env("LNDYNAMIC_API_ID", DEFAULT_API_ID)
            .env("LNDYNAMIC_API_KEY", DEFAULT_API_KEY)
            .args([
                "--provider",
                "lunanode",
                "--endpoint",
                &format!("{}/api/", self.server.uri()),
            ]);
        cmd
    }
}

/// `create` (with `extra` arguments), `ls` (JSON), `show`, `rm` and a
/// not-found exit code, on one provider's fake.
fn create_ls_show_rm(provider: &mut dyn FnMut() -> Command, extra: &[&str]) {
    let mut args = vec!["create", "cli-data", "--size", "10", "--wait", "-o", "json"];
    args.extend_from_slice(extra);
    let made = json(&run(&mut provider(), &args));
    assert_eq!(made["state"], "available", "{made}");
    assert_eq!(made["size_gib"], 10, "{made}");
    let id = made["id"].as_str().unwrap().to_owned();

    let listed = json(&run(&mut provider(), &["ls", "-o", "json"]));
    let listed = listed.as_array().unwrap();
    let ours: Vec<&Value> = listed.iter().filter(|v| v["id"] == *id).collect();
    assert_eq!(ours.len(), 1, "{listed:?}");
    assert_eq!(ours[0]["name"], "cli-data");

    let shown = json(&run(&mut provider(), &["show", &id, "-o", "json"]));
    assert_eq!(shown["id"], *id);
    assert_eq!(shown["name"], "cli-data");

    let out = run(&mut provider(), &["rm", &id, "--wait"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&mut provider(), &["show", &id]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let out = run(&mut provider(), &["show", "no-such-volume-4711"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
}

#[test]
fn create_ls_show_rm_on_the_cinder_fake() {
    // Keystone's tokens live an hour on the fake's clock: at the usual
    // 1e9 simulated seconds a second they would expire at once.
    let fake = Fake::start_with(100.0, &[]);
    let home = home();
    create_ls_show_rm(&mut || fake.cinder(home.path()), &[]);
    // A wrong password is an authentication failure.
    let out = run(
        fake.cinder(home.path())
            .env("OS_PASSWORD", "sekrit-wrong-password"),
        &["ls"],
    );
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert!(!stderr(&out).contains("sekrit"), "{}", stderr(&out));
}

#[test]
fn cinder_retype() {
    let fake = Fake::start_with(100.0, &[]);
    let home = home();
    let cinder = || fake.cinder(home.path());
    let id = stdout(&run(
        &mut cinder(),
        &["create", "typed", "--size", "1", "--wait", "-q"],
    ));
    let id = id.trim();
    // `volume cinder ...` names its provider: no --provider needed.
    let mut cmd = cinder();
    let out = run(
        &mut cmd,
        &["cinder", "retype", id, "ssd", "--wait", "-o", "json"],
    );
    let v = json(&out);
    assert_eq!(v["id"], id);
    assert_eq!(v["volume_type"], "ssd", "{v}");
    let out = run(
        &mut cinder(),
        &["cinder", "retype", "no-such-volume", "ssd"],
    );
    assert_eq!(code(&out), 3, "{}", stderr(&out));
}

#[test]
fn rancher_revert_with_a_profile() {
    use volume_sim::fake::rancher::{DEFAULT_ACCESS_KEY, DEFAULT_PROJECT_ID, DEFAULT_SECRET_KEY};
    let fake = Fake::start();
    let home = home();
    let h = home.path();
    let dir = h.join(".config/volume");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        format!(
            r#"
[profiles.r]
provider = "rancher"
url = "{uri}/v2-beta/projects/{DEFAULT_PROJECT_ID}"
access_key = "{DEFAULT_ACCESS_KEY}"
secret_key = "{DEFAULT_SECRET_KEY}"
driver = "rancher-longhorn"
"#,
            uri = fake.server.uri(),
        ),
    )
    .unwrap();
    let r = || {
        let mut cmd = volume(h);
        cmd.args(["--profile", "r"]);
        cmd
    };
    let vol = stdout(&run(
        &mut r(),
        &["create", "data", "--size", "2", "--wait", "-q"],
    ));
    let vol = vol.trim();
    let snap = stdout(&run(
        &mut r(),
        &["snapshot", "create", vol, "s1", "--wait", "-q"],
    ));
    let snap = snap.trim();
    assert!(!snap.is_empty());
    let v = json(&run(
        &mut r(),
        &["rancher", "revert", vol, snap, "--wait", "-o", "json"],
    ));
    assert_eq!(v["id"], vol);
    assert_eq!(v["state"], "available", "{v}");
    // A snapshot that is not the volume's: Cattle's InvalidReference.
    let out = run(&mut r(), &["rancher", "revert", vol, "1vs999999"]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("InvalidReference"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn create_ls_show_rm_on_the_rancher_fake() {
    let fake = Fake::start();
    let home = home();
    // The default driver, `local`, takes no size.
    create_ls_show_rm(
        &mut || fake.rancher(home.path()),
        &["--type", "rancher-longhorn"],
    );
    let out = run(
        fake.rancher(home.path())
            .env("CATTLE_SECRET_KEY", "sekrit-wrong-key"),
        &["ls"],
    );
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert!(!stderr(&out).contains("sekrit"), "{}", stderr(&out));
}

#[test]
fn lunanode_replicate_of_a_missing_snapshot_is_not_found() {
    // One process on a fresh fake (see the nonce note below): the
    // success path needs a snapshot made by an earlier process, which
    // collides with this one's nonces within a second or two.
    let fake = Fake::start();
    let home = home();
    let out = run(
        &mut fake.lunanode(home.path()),
        &[
            "lunanode",
            "replicate",
            "no-such-snapshot",
            "--region",
            "montreal",
        ],
    );
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no-such-snapshot"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn create_ls_show_rm_on_the_lunanode_fake() {
    let fake = Fake::start();
    let home = home();
    // Only requests no earlier process made: each process starts its
    // nonces at the current second and runs ahead of it, so a second
    // `volume` in the same second repeating a request of the first (an
    // `ls` after a `create`, which lists) is refused as a replay. `ls` and
    // `show` of a volume are therefore left to a single process each.
    let lunanode = || fake.lunanode(home.path());
    let made = json(&run(
        &mut lunanode(),
        &["create", "cli-data", "--size", "10", "-o", "json"],
    ));
    assert_eq!(made["name"], "cli-data", "{made}");
    assert_eq!(made["size_gib"], 10, "{made}");
    assert_eq!(made["region"], "toronto", "{made}");
    let id = made["id"].as_str().unwrap();
    let out = run(&mut lunanode(), &["show", "no-such-volume-4711"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let out = run(&mut lunanode(), &["rm", id]);
    assert!(out.status.success(), "{}", stderr(&out));
    // No key at all is a configuration error, found before any request.
    let out = run(
        fake.lunanode(home.path()).env_remove("LNDYNAMIC_API_KEY"),
        &["ls"],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}

fn run(cmd: &mut Command, args: &[&str]) -> Output {
    cmd.args(args).output().unwrap()
}

#[test]
fn sim_create_prints_a_table_json_or_the_id() {
    let home = home();
    let h = home.path();
    let out = run(
        &mut volume(h),
        &[
            "--provider",
            "sim",
            "create",
            "data",
            "--size",
            "10",
            "--label",
            "env=prod",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    insta::assert_snapshot!("sim_create_table", stdout(&out));

    // Global flags after the verb, JSON parsed field by field.
    let v = json(&run(
        &mut volume(h),
        &[
            "create",
            "data",
            "--size",
            "10",
            "--label",
            "env=prod",
            "--provider",
            "sim",
            "-o",
            "json",
        ],
    ));
    assert_eq!(v["name"], "data");
    assert_eq!(v["size_gib"], 10);
    assert_eq!(v["state"], "available");
    assert_eq!(v["region"], "sim-1");
    assert_eq!(v["labels"]["env"], "prod");
    assert_eq!(v["attached_to"], Value::Null);
    assert!(v["id"].as_str().is_some_and(|id| !id.is_empty()));

    let out = run(
        &mut volume(h),
        &["-q", "--provider", "sim", "create", "data", "--size", "1"],
    );
    assert_eq!(stdout(&out).trim(), v["id"].as_str().unwrap());

    // Capabilities and instances: one table each, the same facts in JSON.
    let out = run(&mut volume(h), &["--provider", "sim", "capabilities"]);
    insta::assert_snapshot!("sim_capabilities", stdout(&out));
    let caps = json(&run(
        &mut volume(h),
        &["capabilities", "--provider", "sim", "--output", "json"],
    ));
    assert_eq!(caps["provider"], "sim");
    assert_eq!(caps["backups"], true);
    let out = run(&mut volume(h), &["--provider", "sim", "instances"]);
    insta::assert_snapshot!("sim_instances", stdout(&out));
    let ids = stdout(&run(
        &mut volume(h),
        &["--provider", "sim", "instances", "--all", "-q"],
    ));
    assert_eq!(ids.lines().count(), 6, "{ids}");
}

#[test]
fn sim_wait_runs_on_the_virtual_clock() {
    let home = home();
    let h = home.path();
    let started = Instant::now();
    // Without --wait: as accepted.
    let v = json(&run(
        &mut volume(h),
        &[
            "--provider",
            "sim",
            "--sim-delay",
            "120",
            "create",
            "d",
            "--size",
            "1",
            "-o",
            "json",
        ],
    ));
    assert_eq!(v["state"], "creating");
    // With it: two simulated minutes, waited for on the virtual clock.
    let v = json(&run(
        &mut volume(h),
        &[
            "--provider",
            "sim",
            "--sim-delay",
            "120",
            "create",
            "d",
            "--size",
            "1",
            "-o",
            "json",
            "--wait",
        ],
    ));
    assert_eq!(v["state"], "available");
    // Past --timeout: exit code 8, the last state seen on stderr.
    let out = run(
        &mut volume(h),
        &[
            "--provider",
            "sim",
            "--sim-delay",
            "120",
            "create",
            "d",
            "--size",
            "1",
            "--wait",
            "--timeout",
            "30",
        ],
    );
    assert_eq!(code(&out), 8, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("volume \"vol-7\" to settle; last seen \"creating\""),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty());
    // Nothing slept for real: three runs, five simulated minutes.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn exit_codes_by_kind_and_usage() {
    let home = home();
    let h = home.path();
    // No provider anywhere: configuration error.
    let out = run(&mut volume(h), &["ls"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("no provider"), "{}", stderr(&out));
    // A bad command line.
    assert_eq!(
        code(&run(&mut volume(h), &["--provider", "sim", "frobnicate"])),
        2
    );
    assert_eq!(
        code(&run(&mut volume(h), &["--provider", "nowhere", "ls"])),
        2
    );
    // Not found.
    let out = run(&mut volume(h), &["--provider", "sim", "show", "vol-404"]);
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains("vol-404"), "{}", stderr(&out));
    assert_eq!(
        code(&run(
            &mut volume(h),
            &["--provider", "sim", "snapshot", "show", "s-1"]
        )),
        3
    );
    assert_eq!(
        code(&run(
            &mut volume(h),
            &["--provider", "sim", "backup", "show", "b-1"]
        )),
        3
    );
    assert_eq!(
        code(&run(
            &mut volume(h),
            &["--provider", "sim", "backup", "create", "vol-404", "b"]
        )),
        3
    );
    assert_eq!(
        code(&run(
            &mut volume(h),
            &[
                "--provider",
                "sim",
                "backup",
                "restore",
                "b-1",
                "--name",
                "r"
            ]
        )),
        3
    );
    // Invalid input: before anything is sent.
    let out = run(&mut volume(h), &["--provider", "sim", "create", "data"]);
    assert_eq!(code(&out), 4);
    assert!(stderr(&out).contains("--size"), "{}", stderr(&out));
    assert_eq!(
        code(&run(
            &mut volume(h),
            &["--provider", "sim", "create", "big", "--size", "99999999"]
        )),
        4
    );
    // Empty lists are empty JSON arrays.
    let v = json(&run(
        &mut volume(h),
        &["--provider", "sim", "backup", "ls", "-o", "json"],
    ));
    assert_eq!(v, Value::Array(vec![]));
    let v = json(&run(
        &mut volume(h),
        &["--provider", "sim", "snapshot", "ls", "--all", "-o", "json"],
    ));
    assert_eq!(v, Value::Array(vec![]));
    // A provider-only verb on another provider.
    assert_eq!(
        code(&run(
            &mut volume(h),
            &["--provider", "sim", "linode", "regions"]
        )),
        2
    );
}

#[test]
fn every_verb_on_the_linode_fake() {
    let fake = Fake::start();
    let home = home();
    let h = home.path();
    let linode = || fake.linode(h);

    let data = json(&run(
        &mut linode(),
        &[
            "create", "data", "--size", "10", "--region", "us-east", "--label", "env=prod",
            "--wait", "-o", "json",
        ],
    ));
    assert_eq!(data["state"], "available");
    assert_eq!(data["raw_state"], "active");
    let data_id = data["id"].as_str().unwrap().to_owned();
    let logs = stdout(&run(
        &mut linode(),
        &[
            "create", "logs", "--size", "20", "--region", "us-east", "-q",
        ],
    ));
    let logs_id = logs.trim().to_owned();

    // The table, aligned (ids come from a fresh fake: deterministic).
    let out = run(&mut linode(), &["ls"]);
    insta::assert_snapshot!("linode_ls", stdout(&out));

    // Filters.
    let ids = |args: &[&str]| {
        stdout(&run(&mut linode(), args))
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&["ls", "-q", "--name", "data"]),
        std::slice::from_ref(&data_id)
    );
    assert_eq!(
        ids(&["ls", "-q", "--label", "env=prod"]),
        std::slice::from_ref(&data_id)
    );
    assert_eq!(ids(&["ls", "-q", "--all", "--page-size", "25"]).len(), 2);
    assert!(ids(&["ls", "-q", "--state", "in-use"]).is_empty());

    // Attach, then filter by instance.
    let v = json(&run(
        &mut linode(),
        &["attach", &data_id, "1001", "--wait", "-o", "json"],
    ));
    assert_eq!(v["state"], "in-use");
    assert_eq!(v["attachments"][0]["instance"], "1001");
    assert!(v["attachments"][0]["device"]
        .as_str()
        .unwrap()
        .contains("data"));
    assert_eq!(
        ids(&["ls", "-q", "--attached-to", "1001"]),
        std::slice::from_ref(&data_id)
    );
    assert_eq!(
        ids(&["ls", "-q", "--state", "in-use"]),
        std::slice::from_ref(&data_id)
    );

    // Refusals, each with its exit code and the provider's words.
    let out = run(&mut linode(), &["resize", &data_id, "--size", "5"]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let out = run(&mut linode(), &["rm", &data_id]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(stderr(&out).contains("in-use"), "{}", stderr(&out));
    let out = run(&mut linode(), &["snapshot", "ls"]);
    assert_eq!(code(&out), 7, "{}", stderr(&out));
    assert_eq!(
        code(&run(&mut linode(), &["backup", "create", &data_id, "b"])),
        7
    );
    assert_eq!(code(&run(&mut linode(), &["show", "424242"])), 3);

    // Resize, rename, label, detach, clone.
    let v = json(&run(
        &mut linode(),
        &["resize", &data_id, "--size", "30", "--wait", "-o", "json"],
    ));
    assert_eq!(v["size_gib"], 30);
    let v = json(&run(
        &mut linode(),
        &["rename", &logs_id, "logs2", "-o", "json"],
    ));
    assert_eq!(v["name"], "logs2");
    let v = json(&run(
        &mut linode(),
        &["label", &logs_id, "team=db", "tier=2", "-o", "json"],
    ));
    assert_eq!(v["labels"]["team"], "db");
    let v = json(&run(
        &mut linode(),
        &["label", &logs_id, "team-", "-o", "json"],
    ));
    assert_eq!(v["labels"].as_object().unwrap().len(), 1, "{v}");
    let v = json(&run(
        &mut linode(),
        &["detach", &data_id, "--wait", "-o", "json"],
    ));
    assert_eq!(v["state"], "available");
    let v = json(&run(
        &mut linode(),
        &["clone", &logs_id, "copy", "--wait", "-o", "json"],
    ));
    assert_eq!(v["name"], "copy");
    assert_eq!(v["size_gib"], 20);
    let v = json(&run(
        &mut linode(),
        &[
            "create",
            "copy2",
            "--clone-of",
            &logs_id,
            "--wait",
            "-o",
            "json",
        ],
    ));
    assert_eq!(v["size_gib"], 20);

    // Delete and wait until gone.
    let out = run(&mut linode(), &["rm", &data_id, "--wait"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), format!("deleted volume {data_id}"));
    assert_eq!(code(&run(&mut linode(), &["show", &data_id])), 3);
    let v = json(&run(&mut linode(), &["rm", &logs_id, "-o", "json"]));
    assert_eq!(v["id"], logs_id.as_str());

    // Instances, and Linode's own operations.
    assert_eq!(ids(&["instances", "--all", "-q"]).len(), 12);
    let regions = json(&run(&mut linode(), &["linode", "regions", "-o", "json"]));
    assert!(regions
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["id"] == "us-east"));
    let types = json(&run(&mut linode(), &["linode", "types", "-o", "json"]));
    // The provider-only verb names its provider: no --provider needed.
    let out = run(
        volume(h)
            .env("LINODE_TOKEN", LINODE_TOKEN)
            .env("LINODE_API_URL", fake.linode_url())
            .env("VOLUME_PROVIDER", "sim"),
        &["linode", "regions", "-q"],
    );
    assert!(
        stdout(&out).lines().any(|l| l == "us-east"),
        "{}",
        stderr(&out)
    );
    assert!(!types.as_array().unwrap().is_empty());
}

#[test]
fn snapshots_on_the_exoscale_fake() {
    let fake = Fake::start();
    let home = home();
    let h = home.path();
    let exo = || fake.exoscale(h);
    let vol = stdout(&run(
        &mut exo(),
        &["create", "data", "--size", "10", "--wait", "-q"],
    ));
    let vol = vol.trim();
    let snap = json(&run(
        &mut exo(),
        &["snapshot", "create", vol, "snap1", "--wait", "-o", "json"],
    ));
    assert_eq!(snap["state"], "available");
    assert_eq!(snap["volume_id"], vol);
    let snap_id = snap["id"].as_str().unwrap();
    let list = json(&run(
        &mut exo(),
        &["snapshot", "ls", "--volume", vol, "-o", "json"],
    ));
    assert_eq!(list.as_array().unwrap().len(), 1);
    let shown = json(&run(
        &mut exo(),
        &["snapshot", "show", snap_id, "-o", "json"],
    ));
    assert_eq!(shown["name"], "snap1");
    let from = json(&run(
        &mut exo(),
        &[
            "create",
            "restored",
            "--from-snapshot",
            snap_id,
            "--wait",
            "-o",
            "json",
        ],
    ));
    // Exoscale does not say what a volume was made from: no source shown.
    assert_eq!(from["state"], "available");
    assert_eq!(from["size_gib"], 10);
    let out = run(&mut exo(), &["snapshot", "rm", snap_id, "--wait"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(code(&run(&mut exo(), &["backup", "ls"])), 7);
    let zones = json(&run(&mut exo(), &["exoscale", "zones", "-o", "json"]));
    assert!(zones
        .as_array()
        .unwrap()
        .iter()
        .any(|z| z["name"] == "ch-gva-2"));
}

#[test]
fn flags_then_environment_then_profile() {
    let fake = Fake::start();
    let home = home();
    let h = home.path();
    let dir = h.join(".config/volume");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("config.toml");
    std::fs::write(
        &file,
        format!(
            r#"
default_profile = "fake"

[profiles.fake]
provider = "linode"
api_url = "{linode}"
token_env = "MY_LINODE_TOKEN"

[profiles.by-command]
provider = "linode"
api_url = "{linode}"
token_command = "printf '%s\n' {LINODE_TOKEN}"

[profiles.exo]
provider = "exoscale"
endpoint = "{exo}"
api_key = "{EXOSCALE_KEY}"
api_secret = "{EXOSCALE_SECRET}"
"#,
            linode = fake.linode_url(),
            exo = fake.exoscale_url(),
        ),
    )
    .unwrap();

    // The default profile from ~/.config/volume/config.toml.
    let out = run(
        volume(h).env("MY_LINODE_TOKEN", LINODE_TOKEN),
        &["ls", "-o", "json"],
    );
    assert_eq!(json(&out), Value::Array(vec![]));
    // Its token_env unset: a configuration error naming the variable.
    let out = run(&mut volume(h), &["ls"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("MY_LINODE_TOKEN"), "{}", stderr(&out));
    // The environment's token over the profile's.
    let out = run(
        volume(h)
            .env("MY_LINODE_TOKEN", LINODE_TOKEN)
            .env("LINODE_TOKEN", "wrong-token"),
        &["ls"],
    );
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    // The flag's endpoint over the environment's over the profile's.
    let mut cmd = volume(h);
    cmd.env("MY_LINODE_TOKEN", LINODE_TOKEN)
        .env("LINODE_API_URL", "http://127.0.0.1:9/v4");
    // Nothing listens there: a transport error, exit code 1.
    let out = run(&mut cmd, &["ls"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let mut cmd = volume(h);
    cmd.env("MY_LINODE_TOKEN", LINODE_TOKEN)
        .env("LINODE_API_URL", "http://127.0.0.1:9/v4");
    let out = run(&mut cmd, &["ls", "--endpoint", &fake.linode_url()]);
    assert!(out.status.success(), "{}", stderr(&out));
    // A token from a command; a profile by flag and by environment.
    let out = run(
        &mut volume(h),
        &["--profile", "by-command", "instances", "-q"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(
        volume(h).env("VOLUME_PROFILE", "exo"),
        &["capabilities", "-q"],
    );
    assert_eq!(stdout(&out).trim(), "exoscale", "{}", stderr(&out));
    // The flag's provider over the profile's.
    let out = run(&mut volume(h), &["--provider", "sim", "capabilities", "-q"]);
    assert_eq!(stdout(&out).trim(), "sim");
    // --config elsewhere; a profile that is not there.
    let out = run(
        &mut volume(h),
        &[
            "--config",
            file.to_str().unwrap(),
            "--profile",
            "nope",
            "ls",
        ],
    );
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("nope"), "{}", stderr(&out));
    let out = run(
        &mut volume(h),
        &[
            "--config",
            "/nonexistent/volume.toml",
            "--provider",
            "sim",
            "ls",
        ],
    );
    assert_eq!(code(&out), 2);
    // $VOLUME_PROVIDER with no profile at all.
    let empty = tempdir::Dir::new();
    let out = run(
        volume(empty.path()).env("VOLUME_PROVIDER", "sim"),
        &["capabilities", "-q"],
    );
    assert_eq!(stdout(&out).trim(), "sim");
}

#[test]
fn no_secret_in_any_output() {
    let fake = Fake::start();
    let home = home();
    let h = home.path();
    let mut all = String::new();
    let mut keep = |out: Output| {
        all.push_str(&stdout(&out));
        all.push_str(&stderr(&out));
    };
    keep(run(
        &mut fake.linode(h),
        &[
            "-v", "create", "d1", "--size", "10", "--region", "us-east", "--wait",
        ],
    ));
    keep(run(&mut fake.linode(h), &["-v", "ls", "--all"]));
    keep(run(&mut fake.linode(h), &["--help"]));
    keep(run(&mut fake.exoscale(h), &["-v", "ls", "-o", "json"]));
    keep(run(
        &mut fake.exoscale(h),
        &["-v", "create", "d2", "--size", "10", "--wait"],
    ));
    // Refused credentials: the error, verbose.
    keep(run(
        fake.exoscale(h)
            .env("EXOSCALE_API_SECRET", "sekrit-wrong-secret"),
        &["-v", "ls"],
    ));
    keep(run(
        fake.linode(h).env("LINODE_TOKEN", "sekrit-wrong-token"),
        &["-v", "ls"],
    ));
    keep(run(&mut volume(h), &["serve", "--help"]));
    assert!(
        all.contains("http_request"),
        "verbose shows requests: {all}"
    );
    assert!(all.contains("Invalid Token"), "{all}");
    assert!(!all.contains("sekrit"), "{all}");
    assert!(!all.to_lowercase().contains("authorization"), "{all}");
}

#[test]
fn completions_and_help() {
    let home = home();
    let h = home.path();
    for shell in ["bash", "zsh", "fish"] {
        let out = run(&mut volume(h), &["completions", shell]);
        assert!(out.status.success());
        let text = stdout(&out);
        assert!(
            text.contains("volume") && text.contains("snapshot"),
            "{shell}"
        );
    }
    let help = stdout(&run(&mut volume(h), &["--help"]));
    assert!(help.contains("Exit codes:"), "{help}");
    assert!(help.contains("8  timed out"), "{help}");
}

#[test]
fn serve_prints_each_dialect_and_stops_on_ctrl_c() {
    let home = home();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_volume"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--linode-token",
            "sekrit-serve-token",
        ])
        .env("HOME", home.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    for _ in 0..2 {
        out.read_line(&mut banner).unwrap();
    }
    assert!(banner.starts_with("linode "), "{banner}");
    assert!(banner.contains("\nexoscale "), "{banner}");
    assert!(!banner.contains("sekrit"), "{banner}");
    let linode_url = banner.split_whitespace().nth(1).unwrap().to_owned();
    assert!(linode_url.starts_with("http://127.0.0.1:"), "{linode_url}");

    // The served fake answers the command with the token given to it.
    let out = run(
        volume(home.path()).env("LINODE_TOKEN", "sekrit-serve-token"),
        &[
            "--provider",
            "linode",
            "--endpoint",
            &linode_url,
            "instances",
            "-q",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 12);

    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "volume serve did not stop");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn sim_state_keeps_the_simulator_between_runs() {
    let home = home();
    let h = home.path();
    let state = h.join("sim.json");
    let state = state.to_str().unwrap();
    let sim = |args: &[&str]| {
        let mut cmd = volume(h);
        cmd.args(["--provider", "sim", "--sim-state", state]);
        run(&mut cmd, args)
    };
    let id = |args: &[&str]| {
        let out = sim(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out).trim().to_owned()
    };
    let vol = id(&["create", "data", "--size", "10", "-q"]);
    let other = id(&["create", "logs", "--size", "5", "--label", "a=b", "-q"]);
    assert_ne!(vol, other);
    assert_eq!(id(&["attach", &vol, "inst-1", "-q"]), vol);
    let snap = id(&["snapshot", "create", &vol, "snap1", "-q"]);
    let full = id(&["backup", "create", &vol, "b1", "-q"]);
    let incr = id(&["backup", "create", &vol, "b2", "--incremental", "-q"]);

    // Between runs, transitions finish; everything made is still there.
    let v = json(&sim(&["show", &vol, "-o", "json"]));
    assert_eq!(v["state"], "in-use");
    assert_eq!(v["attached_to"], "inst-1");
    let b = json(&sim(&["backup", "show", &incr, "-o", "json"]));
    assert_eq!(b["incremental"], true);
    assert_eq!(b["volume_id"], vol.as_str());
    let backups = json(&sim(&["backup", "ls", "--volume", &vol, "-o", "json"]));
    assert_eq!(backups.as_array().unwrap().len(), 2);
    let s = json(&sim(&["snapshot", "show", &snap, "-o", "json"]));
    assert_eq!(s["name"], "snap1");
    assert_eq!(
        sim(&["snapshot", "ls", "-q"]).stdout,
        format!("{snap}\n").as_bytes()
    );

    // Volumes from each source.
    let from_snap = json(&sim(&[
        "create",
        "a",
        "--from-snapshot",
        &snap,
        "-o",
        "json",
    ]));
    assert_eq!(from_snap["source"]["kind"], "snapshot");
    assert_eq!(from_snap["size_gib"], 10);
    let from_backup = json(&sim(&["create", "b", "--from-backup", &full, "-o", "json"]));
    assert_eq!(from_backup["source"]["kind"], "backup");
    let restored = json(&sim(&[
        "backup", "restore", &full, "--name", "c", "-o", "json",
    ]));
    assert_eq!(restored["name"], "c");
    let clone = json(&sim(&["create", "d", "--clone-of", &other, "-o", "json"]));
    assert_eq!(clone["source"]["kind"], "volume");
    let clone2 = json(&sim(&[
        "clone", &other, "e", "--label", "k=v", "-o", "json",
    ]));
    assert_eq!(clone2["labels"]["k"], "v");
    let out = sim(&["ls"]);
    insta::assert_snapshot!("sim_state_ls", stdout(&out));

    // Refusals keep nothing; deletions stay deleted.
    assert_eq!(code(&sim(&["rm", &vol])), 4);
    assert_eq!(code(&sim(&["resize", &vol, "--size", "1"])), 4);
    let detached = json(&sim(&["detach", &vol, "--wait", "-o", "json"]));
    assert_eq!(detached["state"], "available");
    let resized = json(&sim(&["resize", &vol, "--size", "30", "-o", "json"]));
    assert_eq!(resized["size_gib"], 30);
    assert_eq!(id(&["rename", &other, "logs2", "-q"]), other);
    let labelled = json(&sim(&["label", &other, "a-", "x=y", "-o", "json"]));
    assert_eq!(labelled["labels"], serde_json::json!({"x": "y"}));
    assert!(sim(&["backup", "rm", &incr, "--wait"]).status.success());
    assert_eq!(code(&sim(&["backup", "show", &incr])), 3);
    assert!(sim(&["snapshot", "rm", &snap, "--wait"]).status.success());
    assert_eq!(code(&sim(&["snapshot", "show", &snap])), 3);
    assert!(sim(&["rm", &other, "--wait"]).status.success());
    assert_eq!(code(&sim(&["show", &other])), 3);
    let names: Vec<String> = json(&sim(&["ls", "--all", "-o", "json"]))
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["data", "a", "b", "c", "d", "e"]);

    // --sim-state is the simulator's; a journal that is not one is refused.
    let out = run(
        volume(h).env("LINODE_TOKEN", "t"),
        &["--provider", "linode", "--sim-state", state, "ls"],
    );
    assert_eq!(code(&out), 2);
    std::fs::write(h.join("bad.json"), "{").unwrap();
    let bad = h.join("bad.json");
    let out = run(
        &mut volume(h),
        &[
            "--provider",
            "sim",
            "--sim-state",
            bad.to_str().unwrap(),
            "ls",
        ],
    );
    assert_eq!(code(&out), 2);
}

/// Runs `volume` on a pseudo-terminal (util-linux `script`), stdout and
/// stderr both on it.
fn on_a_terminal(home: &Path, args: &str, no_color: bool) -> String {
    let mut cmd = std::process::Command::new("script");
    cmd.args([
        "-qec",
        &format!("'{}' {args}", env!("CARGO_BIN_EXE_volume")),
        "/dev/null",
    ])
    .env("HOME", home)
    .stdin(Stdio::null());
    for var in CLEARED {
        cmd.env_remove(var);
    }
    if no_color {
        cmd.env("NO_COLOR", "1");
    }
    let out = cmd.output().expect("util-linux script runs");
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn colour_and_spinner_only_on_a_terminal() {
    let home = home();
    let h = home.path();
    let shown = on_a_terminal(h, "--provider sim instances", false);
    assert!(shown.contains("\x1b[32mrunning\x1b[0m"), "{shown:?}");
    let shown = on_a_terminal(h, "--provider sim instances", true);
    assert!(!shown.contains('\x1b'), "{shown:?}");
    assert!(shown.contains("running"), "{shown:?}");

    // The spinner: the states seen, on the terminal only.
    let shown = on_a_terminal(
        h,
        "--provider sim --sim-delay 30 create d --size 1 --wait",
        true,
    );
    assert!(shown.contains("creating → available"), "{shown:?}");
    let out = run(
        &mut volume(h),
        &[
            "--provider",
            "sim",
            "--sim-delay",
            "30",
            "create",
            "d",
            "--size",
            "1",
            "--wait",
        ],
    );
    assert!(out.status.success());
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    assert!(!stdout(&out).contains('\x1b'));
}

#[test]
fn rate_limited_is_exit_code_6() {
    // The limit's window is a minute of the fake's clock: on the wall clock
    // here, so the third request of the test falls in the first window.
    let fake = Fake::start_with(1.0, &[("linode-rate-limit", "2")]);
    let home = home();
    let h = home.path();
    for _ in 0..2 {
        let out = run(&mut fake.linode(h), &["ls", "-q"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = run(&mut fake.linode(h), &["--retries", "0", "ls"]);
    assert_eq!(code(&out), 6, "{}", stderr(&out));
    assert!(stderr(&out).contains("rate limited"), "{}", stderr(&out));
}
