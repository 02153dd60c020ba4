"""The Kubernetes manifests are valid for a pinned Kubernetes version, run the worker
safely (non-root, read-only root, probes, limits), and agree with each other and with the
topic contract: partitions = KEDA's max replicas = TRADEWATCH_PARTITIONS."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from streams.intake import intake_group

from .deploy_files import (
    ALL_TOPICS,
    APP_ID,
    CHANGELOG_TOPIC,
    COMPACTED_TOPICS,
    INPUT_TOPICS,
    K8S_DIR,
    LEADER_TOPIC,
    OUTPUT_TOPICS,
    PROMETHEUS_K8S_CONFIG,
    REKEYED_TOPIC,
    load_yaml,
    load_yaml_documents,
)

KUBERNETES_VERSION = "1.31.0"
CRD_KINDS = {("keda.sh/v1alpha1", "ScaledObject"), ("keda.sh/v1alpha1", "TriggerAuthentication"),
             ("kafka.strimzi.io/v1beta2", "KafkaTopic"), ("kafka.strimzi.io/v1beta2", "KafkaUser")}
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def kustomization() -> dict[str, Any]:
    return load_yaml(K8S_DIR / "kustomization.yaml")


def manifests() -> list[dict[str, Any]]:
    """The resources kustomization.yaml lists, as the files define them."""
    documents: list[dict[str, Any]] = []
    for resource in kustomization()["resources"]:
        documents += load_yaml_documents((K8S_DIR / resource).read_text(encoding="utf-8"))
    return documents


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for doc in manifests() if doc["kind"] == kind]


def the(kind: str) -> dict[str, Any]:
    (resource,) = of_kind(kind)
    return resource


def config() -> dict[str, str]:
    return the("ConfigMap")["data"]


def partitions() -> int:
    return int(config()["TRADEWATCH_PARTITIONS"])


def worker_container() -> dict[str, Any]:
    (container,) = the("Deployment")["spec"]["template"]["spec"]["containers"]
    return container


def resource_id(doc: dict[str, Any]) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


# --- schema validation --------------------------------------------------------------------

def test_kustomization_lists_every_manifest_file() -> None:
    listed = set(kustomization()["resources"])
    on_disk = {path.name for path in K8S_DIR.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk


@pytest.mark.parametrize(
    "doc", [doc for doc in manifests() if (doc["apiVersion"], doc["kind"]) not in CRD_KINDS], ids=resource_id
)
def test_core_resources_match_the_kubernetes_schema(doc: dict[str, Any]) -> None:
    """Strict: unknown fields (typos such as `readinesProbe`) are errors too."""
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        pytest.fail(f"{resource_id(doc)}: {error.message} at {'.'.join(map(str, error.path))}")


def test_only_known_custom_resources_are_used() -> None:
    custom = {(doc["apiVersion"], doc["kind"]) for doc in manifests()
              if not doc["apiVersion"].startswith(("v1", "apps/", "policy/", "networking.k8s.io/"))}
    assert custom <= CRD_KINDS


@pytest.mark.parametrize("doc", manifests(), ids=resource_id)
def test_every_resource_is_named_and_namespaced(doc: dict[str, Any]) -> None:
    assert DNS_SUBDOMAIN.match(doc["metadata"]["name"]), doc["metadata"]["name"]
    if doc["kind"] != "Namespace":
        assert doc["metadata"].get("namespace"), f"{resource_id(doc)} has no namespace"


def test_kustomize_renders_the_manifests() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    rendered = subprocess.run(
        [kubectl, "kustomize", str(K8S_DIR)], capture_output=True, text=True, timeout=60, check=False
    )
    assert rendered.returncode == 0, rendered.stderr
    documents = load_yaml_documents(rendered.stdout)
    assert sorted(map(resource_id, documents)) == sorted(map(resource_id, manifests()))
    (deployment,) = [doc for doc in documents if doc["kind"] == "Deployment"]
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert not image.endswith(":latest") and ":" in image, image


# --- the worker runs safely ----------------------------------------------------------------

def test_worker_runs_as_non_root_with_a_read_only_root_filesystem() -> None:
    pod = the("Deployment")["spec"]["template"]["spec"]
    container = worker_container()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert pod.get("automountServiceAccountToken") is False


def test_writable_paths_are_empty_dirs() -> None:
    """With a read-only root, the state dir and /tmp must be volumes or the worker fails."""
    pod = the("Deployment")["spec"]["template"]["spec"]
    empty_dirs = {volume["name"] for volume in pod["volumes"] if "emptyDir" in volume}
    mounted = {mount["mountPath"]: mount["name"] for mount in worker_container()["volumeMounts"]}
    for path in (config()["TRADEWATCH_DATA_DIR"], "/tmp"):
        assert mounted.get(path) in empty_dirs, f"{path} is not an emptyDir mount"


def test_worker_is_configured_from_the_config_map() -> None:
    sources = [source["configMapRef"]["name"] for source in worker_container()["envFrom"]]
    assert sources == [the("ConfigMap")["metadata"]["name"]]
    assert config()["TRADEWATCH_APP_ID"] == APP_ID
    host, _, port = config()["TRADEWATCH_METRICS_ADDR"].rpartition(":")
    assert host == "0.0.0.0", "the kubelet and Prometheus reach the pod IP, not loopback"
    assert {p["containerPort"] for p in worker_container()["ports"] if p["name"] == "metrics"} == {int(port)}


def test_probes_use_health_for_liveness_and_ready_for_readiness() -> None:
    container = worker_container()
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}


def test_worker_has_resource_requests_and_a_memory_limit() -> None:
    resources = worker_container()["resources"]
    assert {"cpu", "memory", "ephemeral-storage"} <= resources["requests"].keys()
    assert {"memory", "ephemeral-storage"} <= resources["limits"].keys()


def quantity_bytes(value: str) -> int:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    return int(value[:-2]) * units[value[-2:]] if value[-2:] in units else int(value)


def test_the_ephemeral_storage_limit_holds_every_empty_dir() -> None:
    volumes = the("Deployment")["spec"]["template"]["spec"]["volumes"]
    empty_dirs = sum(quantity_bytes(v["emptyDir"]["sizeLimit"]) for v in volumes if "emptyDir" in v)
    assert quantity_bytes(worker_container()["resources"]["limits"]["ephemeral-storage"]) > empty_dirs


def test_the_metrics_port_admits_prometheus_only_and_egress_is_kafka_and_dns() -> None:
    policy = the("NetworkPolicy")["spec"]
    worker_labels = the("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= worker_labels.items()
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    [rule] = policy["ingress"]
    assert [port["port"] for port in rule["ports"]] == ["metrics"]
    assert all("prometheus" in str(peer["podSelector"]) for peer in rule["from"])
    egress_ports = {port["port"] for rule in policy["egress"] for port in rule["ports"]}
    assert egress_ports == {int(config()["TRADEWATCH_BROKER"].rpartition(":")[2]), 53}


def test_keys_and_the_admin_token_come_from_mounted_secrets() -> None:
    spec = the("Deployment")["spec"]["template"]["spec"]
    secrets = {v["name"]: v["secret"]["secretName"] for v in spec["volumes"] if "secret" in v}
    mounts = {m["name"]: m for m in worker_container()["volumeMounts"]}
    assert set(secrets) == {"signing-keys", "reviewer-keys", "admin-token", "kafka-user"}
    for name in secrets:
        assert mounts[name]["readOnly"] is True
    settings = config()
    assert settings["TRADEWATCH_SIGNING_KEYS_DIR"] == mounts["signing-keys"]["mountPath"]
    assert settings["TRADEWATCH_REVIEWER_KEYS_DIR"] == mounts["reviewer-keys"]["mountPath"]
    assert settings["TRADEWATCH_ADMIN_TOKEN_FILE"].startswith(mounts["admin-token"]["mountPath"] + "/")
    assert settings["TRADEWATCH_SASL_PASSWORD_FILE"].startswith(mounts["kafka-user"]["mountPath"] + "/")
    assert settings["TRADEWATCH_SSL_CAFILE"].startswith(mounts["kafka-user"]["mountPath"] + "/")
    for name in ("TRADEWATCH_SIGNING_KEYS", "TRADEWATCH_ADMIN_TOKEN", "TRADEWATCH_SASL_PASSWORD"):
        assert name not in settings  # never a secret in the ConfigMap


def test_workers_log_in_to_kafka_over_tls_as_the_kafka_user_the_acls_are_for() -> None:
    settings = config()
    assert settings["TRADEWATCH_SECURITY_PROTOCOL"] == "SASL_SSL"
    users = {doc["metadata"]["name"]: doc for doc in of_kind("KafkaUser")}
    worker = users[settings["TRADEWATCH_SASL_USERNAME"]]
    assert worker["spec"]["authentication"]["type"] == settings["TRADEWATCH_SASL_MECHANISM"].lower()
    scaled = the("ScaledObject")
    assert {t["authenticationRef"]["name"] for t in scaled["spec"]["triggers"]} == {the("TriggerAuthentication")["metadata"]["name"]}
    assert {t["metadata"]["bootstrapServers"] for t in scaled["spec"]["triggers"]} == {settings["TRADEWATCH_BROKER"].removeprefix("kafka://")}


def test_the_kafka_users_grant_exactly_what_tradewatch_acls_prints() -> None:
    """deploy/k8s/kafka-users.yaml and `tradewatch acls` are the same trust model."""
    from streams.acls import ACTION_READER, WORKER, WRITERS, grants, strimzi_acls

    plan = grants(config()["TRADEWATCH_APP_ID"], WORKER, WRITERS, ACTION_READER)
    users = {doc["metadata"]["name"]: doc for doc in of_kind("KafkaUser")}
    assert set(users) == {grant.principal for grant in plan}
    for name, user in users.items():
        assert user["spec"]["authorization"]["type"] == "simple"
        assert user["spec"]["authorization"]["acls"] == strimzi_acls(plan, name), name


@pytest.mark.parametrize("doc", manifests(), ids=resource_id)
def test_no_image_is_untagged_or_latest(doc: dict[str, Any]) -> None:
    pod = doc.get("spec", {}).get("template", {}).get("spec", {})
    for container in pod.get("containers", []) + pod.get("initContainers", []):
        name, _, tag = container["image"].rpartition(":")
        assert name and tag and tag != "latest", container["image"]
    for image in kustomization().get("images", []):
        assert image.get("newTag") not in (None, "", "latest")


def test_service_and_disruption_budget_select_the_worker_pods() -> None:
    pod_labels = the("Deployment")["spec"]["template"]["metadata"]["labels"]
    service = the("Service")
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert the("PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert [port["name"] for port in service["spec"]["ports"]] == ["metrics"]


def test_prometheus_kubernetes_discovery_keeps_this_service_and_port() -> None:
    relabel = load_yaml(PROMETHEUS_K8S_CONFIG)["scrape_configs"][0]["relabel_configs"]
    keep = {tuple(rule["source_labels"]): rule["regex"] for rule in relabel if rule.get("action") == "keep"}
    service = the("Service")
    assert re.fullmatch(keep[("__meta_kubernetes_service_name",)], service["metadata"]["name"])
    assert re.fullmatch(keep[("__meta_kubernetes_endpoint_port_name",)], service["spec"]["ports"][0]["name"])
    namespaces = load_yaml(PROMETHEUS_K8S_CONFIG)["scrape_configs"][0]["kubernetes_sd_configs"][0]["namespaces"]
    assert service["metadata"]["namespace"] in namespaces["names"]


# --- KEDA -----------------------------------------------------------------------------------

def test_keda_scales_the_worker_deployment_up_to_the_partition_count() -> None:
    scaled = the("ScaledObject")
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    spec = scaled["spec"]
    assert spec["scaleTargetRef"]["name"] == the("Deployment")["metadata"]["name"]
    assert spec["maxReplicaCount"] == partitions(), "workers beyond the partition count sit idle"
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
    assert the("Deployment")["spec"]["replicas"] <= spec["maxReplicaCount"]


def test_keda_watches_the_lag_of_the_groups_that_commit_each_topic() -> None:
    triggers = the("ScaledObject")["spec"]["triggers"]
    assert triggers and all(trigger["type"] == "kafka" for trigger in triggers)
    for trigger in triggers:
        metadata = trigger["metadata"]
        # intake commits the input topics in its own group; the deciding agent the internal one
        app_id = config()["TRADEWATCH_APP_ID"]
        group = app_id if metadata["topic"] == REKEYED_TOPIC else intake_group(app_id)
        assert metadata["consumerGroup"] == group, metadata["topic"]
        assert metadata["bootstrapServers"] in config()["TRADEWATCH_BROKER"]
        assert int(metadata["lagThreshold"]) > 0
        assert metadata["topic"] in ALL_TOPICS
    watched = {trigger["metadata"]["topic"] for trigger in triggers}
    assert {"posts.v1", "miniprogram.events.v1", REKEYED_TOPIC} <= watched


# --- Strimzi topics -------------------------------------------------------------------------

def kafka_topics() -> dict[str, dict[str, Any]]:
    return {doc["spec"]["topicName"]: doc for doc in of_kind("KafkaTopic")}


def test_every_topic_has_a_kafka_topic_resource() -> None:
    assert sorted(kafka_topics()) == sorted(ALL_TOPICS)


@pytest.mark.parametrize("topic", ALL_TOPICS)
def test_kafka_topic_is_well_formed(topic: str) -> None:
    resource = kafka_topics()[topic]
    assert resource["apiVersion"] == "kafka.strimzi.io/v1beta2"
    assert resource["metadata"]["labels"]["strimzi.io/cluster"]
    spec = resource["spec"]
    assert spec["replicas"] == 3
    assert int(spec["config"]["min.insync.replicas"]) < spec["replicas"], "one broker may be down"
    if topic == LEADER_TOPIC:
        assert spec["partitions"] == 1, "Faust declares its leader topic with one partition"
    else:
        assert spec["partitions"] == partitions()


@pytest.mark.parametrize("topic", ALL_TOPICS)
def test_compaction_and_retention(topic: str) -> None:
    topic_config = kafka_topics()[topic]["spec"]["config"]
    if topic in COMPACTED_TOPICS:
        assert topic_config["cleanup.policy"] == "compact"
        assert "retention.ms" not in topic_config
    else:
        assert topic_config["cleanup.policy"] == "delete"
        if topic != LEADER_TOPIC:
            assert int(topic_config["retention.ms"]) > 0


def test_input_topics_and_changelog_share_the_partition_count() -> None:
    """A table's changelog needs its source topic's partition count (docs/design.md, Faust pitfalls)."""
    counts = {kafka_topics()[topic]["spec"]["partitions"] for topic in (*INPUT_TOPICS, REKEYED_TOPIC, CHANGELOG_TOPIC)}
    assert counts == {partitions()}


def test_kube_score_finds_nothing_critical() -> None:
    """kube-score (built by scripts/bootstrap --test with go install) over every manifest."""
    root = Path(__file__).resolve().parents[2]
    binary = root / ".cache" / "go-bin" / "kube-score"
    if not binary.exists():
        if shutil.which("go"):
            pytest.fail("kube-score is missing although Go is installed: run scripts/bootstrap --test")
        pytest.skip("no Go toolchain to build kube-score; the structural tests above check the manifests")
    files = sorted(str(path) for path in (root / "deploy" / "k8s").glob("*.yaml") if path.name != "kustomization.yaml")
    done = subprocess.run([str(binary), "score", "--output-format", "ci", *files], capture_output=True, text=True,
                          timeout=120)
    critical = [line for line in done.stdout.splitlines() if line.startswith("[CRITICAL]")]
    assert not critical, "\n".join(critical)
    assert "[OK]" in done.stdout  # it did score the workers


def _standalone_schemas(directory: Path) -> Path:
    """The Kubernetes JSON schemas kubernetes-validate ships, made standalone for kubeconform:
    theirs refer to one shared definitions file by an absolute path only kubernetes-validate
    resolves, so each kind's schema gets the definitions inlined (no download)."""
    source = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{KUBERNETES_VERSION}-local-strict"
    shared = '"/api/_definitions.json#/$defs/'
    definitions = json.loads((source / "_definitions.json").read_text(encoding="utf-8").replace(shared, '"#/$defs/'))
    for doc in manifests():
        if (doc["apiVersion"], doc["kind"]) in CRD_KINDS:
            continue
        group, _, version = doc["apiVersion"].rpartition("/")
        name = f"{doc['kind'].lower()}{'-' + group.split('.')[0] if group else ''}-{version}.json"
        schema = json.loads((source / name).read_text(encoding="utf-8").replace(shared, '"#/$defs/'))
        schema["$defs"] = definitions["$defs"]
        (directory / name).write_text(json.dumps(schema), encoding="utf-8")
    return directory


def test_kubeconform_strict_accepts_every_manifest(tmp_path: Path) -> None:
    """kubeconform (built by scripts/bootstrap --test with go install), strict: unknown fields
    and duplicate keys are errors. Custom resources (KEDA, Strimzi) have no schema here and
    are skipped by kind; test_only_known_custom_resources_are_used keeps that list short."""
    binary = Path(__file__).resolve().parents[2] / ".cache" / "go-bin" / "kubeconform"
    if not binary.exists():
        if shutil.which("go"):
            pytest.fail("kubeconform is missing although Go is installed: run scripts/bootstrap --test")
        pytest.skip("no Go toolchain to build kubeconform; test_core_resources_match_the_kubernetes_schema checks them")
    schemas = _standalone_schemas(tmp_path)
    files = [str(K8S_DIR / resource) for resource in kustomization()["resources"]]
    done = subprocess.run(
        [str(binary), "-strict", "-summary", "-output", "text", "-kubernetes-version", KUBERNETES_VERSION,
         "-skip", ",".join(kind for _, kind in sorted(CRD_KINDS)),
         "-schema-location", f"{schemas}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json", *files],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    core = [doc for doc in manifests() if (doc["apiVersion"], doc["kind"]) not in CRD_KINDS]
    assert f"Valid: {len(core)}, Invalid: 0, Errors: 0" in done.stdout, done.stdout


def test_the_deployed_topic_list_is_the_topic_registry() -> None:
    """A topic added to streams/topics.py must be added to the deployment's list too, and so
    get its KafkaTopic (the test above) and its grants (kafka-users.yaml)."""
    from streams.topics import TOPIC_SPECS

    assert sorted(INPUT_TOPICS + OUTPUT_TOPICS) == sorted(spec.name for spec in TOPIC_SPECS)
