//! Reads `k8s/base/*.yaml` the way the kubelet would assemble a container: the environment
//! from the ConfigMaps its `envFrom` names and its own `env`, the files its Secret volumes
//! mount, and its gRPC probes.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use serde::Deserialize;
use serde_norway::Value;

/// One mounted Secret volume: where it is mounted and the file names it holds.
#[derive(Debug, Clone)]
pub(crate) struct SecretMount {
    /// The mount path, e.g. `/app/secrets`.
    pub(crate) path: PathBuf,
    /// The file names inside it (each Secret item's `path`).
    pub(crate) files: BTreeSet<String>,
}

/// What a Deployment's container of the same name gets.
#[derive(Debug, Clone)]
pub(crate) struct Container {
    /// Its environment, in the order the kubelet applies it (`envFrom`, then `env`).
    pub(crate) env: BTreeMap<String, String>,
    /// Its Secret volumes.
    pub(crate) secrets: Vec<SecretMount>,
    /// Its named container ports.
    pub(crate) ports: BTreeMap<String, u16>,
    /// `(port, service)` of the startup gRPC probe.
    pub(crate) startup: (u16, String),
    /// `(port, service)` of the liveness gRPC probe.
    pub(crate) liveness: (u16, String),
    /// `(port, service)` of the readiness gRPC probe.
    pub(crate) readiness: (u16, String),
    /// `terminationGracePeriodSeconds`.
    pub(crate) termination_grace_seconds: u64,
}

/// Every object of `k8s/base`, by kind and name.
pub(crate) struct Base {
    objects: Vec<Value>,
}

/// The repository's root.
pub(crate) fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the repository")
        .to_path_buf()
}

impl Base {
    /// Parses every YAML document of every `k8s/base/*.yaml` but the kustomization.
    pub(crate) fn load() -> Self {
        let dir = repository_root().join("k8s/base");
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
            .filter(|path| !path.ends_with("kustomization.yaml"))
            .collect();
        paths.sort();
        let mut objects = Vec::new();
        for path in paths {
            let text = std::fs::read_to_string(&path).expect("a readable manifest");
            for document in serde_norway::Deserializer::from_str(&text) {
                let value = Value::deserialize(document)
                    .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
                if !value.is_null() {
                    objects.push(value);
                }
            }
        }
        Self { objects }
    }

    /// The object of `kind` called `name`.
    pub(crate) fn object(&self, kind: &str, name: &str) -> &Value {
        self.objects
            .iter()
            .find(|object| object["kind"] == kind && object["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("k8s/base has no {kind} {name}"))
    }

    /// The container called `name` of the Deployment called `name`, as the kubelet builds it.
    pub(crate) fn container(&self, name: &str) -> Container {
        let pod = &self.object("Deployment", name)["spec"]["template"]["spec"];
        let container = sequence(&pod["containers"])
            .iter()
            .find(|container| container["name"] == name)
            .unwrap_or_else(|| panic!("the {name} Deployment has no container {name}"));

        let mut env = BTreeMap::new();
        for source in sequence(&container["envFrom"]) {
            let map = text(&source["configMapRef"]["name"]);
            let data = &self.object("ConfigMap", map)["data"];
            for (key, value) in mapping(data) {
                env.insert(text(key).to_owned(), text(value).to_owned());
            }
        }
        for entry in sequence(&container["env"]) {
            // A value from elsewhere (valueFrom) could not be reproduced here.
            env.insert(
                text(&entry["name"]).to_owned(),
                text(&entry["value"]).to_owned(),
            );
        }

        let volumes = sequence(&pod["volumes"]);
        let secrets = sequence(&container["volumeMounts"])
            .iter()
            .map(|mount| {
                let volume_name = &mount["name"];
                let volume = volumes
                    .iter()
                    .find(|volume| &volume["name"] == volume_name)
                    .unwrap_or_else(|| panic!("no volume {volume_name:?}"));
                assert!(
                    mount.get("subPath").is_none(),
                    "a subPath mount never sees a Secret's rotation"
                );
                SecretMount {
                    path: PathBuf::from(text(&mount["mountPath"])),
                    files: secret_files(volume),
                }
            })
            .collect();

        let ports = sequence(&container["ports"])
            .iter()
            .map(|port| {
                (
                    text(&port["name"]).to_owned(),
                    number(&port["containerPort"]),
                )
            })
            .collect();
        Container {
            env,
            secrets,
            ports,
            startup: grpc_probe(&container["startupProbe"]),
            liveness: grpc_probe(&container["livenessProbe"]),
            readiness: grpc_probe(&container["readinessProbe"]),
            termination_grace_seconds: number(&pod["terminationGracePeriodSeconds"]),
        }
    }
}

/// The file names a Secret or projected volume puts in its mount: each item's `path`. Every
/// Secret lists its items, so the file names are the manifest's, not the Secret's keys.
fn secret_files(volume: &Value) -> BTreeSet<String> {
    let secrets: Vec<&Value> = if let Some(projected) = volume.get("projected") {
        sequence(&projected["sources"])
            .iter()
            .map(|source| {
                source
                    .get("secret")
                    .expect("only Secrets are projected into the volume")
            })
            .collect()
    } else {
        vec![
            volume
                .get("secret")
                .expect("only Secret volumes are mounted"),
        ]
    };
    secrets
        .into_iter()
        .flat_map(|secret| sequence(&secret["items"]))
        .map(|item| text(&item["path"]).to_owned())
        .collect()
}

fn grpc_probe(probe: &Value) -> (u16, String) {
    let grpc = probe
        .get("grpc")
        .unwrap_or_else(|| panic!("not a native gRPC probe: {probe:?}"));
    let service = grpc
        .get("service")
        .map(|service| text(service).to_owned())
        .unwrap_or_default();
    (number(&grpc["port"]), service)
}

fn sequence(value: &Value) -> &[Value] {
    match value {
        Value::Sequence(items) => items,
        Value::Null => &[],
        other => panic!("a list was expected, not {other:?}"),
    }
}

fn mapping(value: &Value) -> Vec<(&Value, &Value)> {
    value
        .as_mapping()
        .unwrap_or_else(|| panic!("a mapping was expected, not {value:?}"))
        .iter()
        .collect()
}

fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("a string was expected, not {value:?}"))
}

fn number<T: TryFrom<u64>>(value: &Value) -> T {
    value
        .as_u64()
        .and_then(|n| T::try_from(n).ok())
        .unwrap_or_else(|| panic!("a number was expected, not {value:?}"))
}
