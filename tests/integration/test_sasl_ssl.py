"""tradewatch's Kafka security settings: checked at start, then used against a real broker
with a SASL_SSL (SCRAM-SHA-512) listener.

The CA and the broker certificate are made here at test time; the SCRAM user is created when
the broker's storage is formatted (``kafka-storage format --add-scram``), because aiokafka's
admin client cannot create SCRAM credentials.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import ipaddress
import ssl
import subprocess
import uuid
from pathlib import Path

import pytest

from streams.localkafka import LocalKafka, ensure_jars, java_executable
from streams.security import KafkaAuthError, KafkaSecurity, KafkaTLSError, SecurityConfigError, start_checked
from streams.signing import SigningKey, SigningKeys, sign, verify_main
from tests.integration.harness import free_port

USER = "tradewatch-worker"
PASSWORD = "correct horse battery staple 42"


# --------------------------------------------------------------------------- settings (no broker)

SASL_SSL_ENV = {"TRADEWATCH_SECURITY_PROTOCOL": "SASL_SSL", "TRADEWATCH_SASL_USERNAME": USER, "TRADEWATCH_SASL_PASSWORD": PASSWORD}


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"TRADEWATCH_SECURITY_PROTOCOL": "TLS"}, "TRADEWATCH_SECURITY_PROTOCOL"),
        ({**SASL_SSL_ENV, "TRADEWATCH_SASL_USERNAME": ""}, "TRADEWATCH_SASL_USERNAME"),
        ({**SASL_SSL_ENV, "TRADEWATCH_SASL_PASSWORD": ""}, "TRADEWATCH_SASL_PASSWORD"),
        ({**SASL_SSL_ENV, "TRADEWATCH_SASL_MECHANISM": "GSSAPI"}, "TRADEWATCH_SASL_MECHANISM"),
        ({**SASL_SSL_ENV, "TRADEWATCH_SASL_PASSWORD_FILE": "/x"}, "TRADEWATCH_SASL_PASSWORD_FILE"),
        ({**SASL_SSL_ENV, "TRADEWATCH_SSL_CAFILE": "/nonexistent/ca.pem"}, "TRADEWATCH_SSL_CAFILE"),
        ({**SASL_SSL_ENV, "TRADEWATCH_SSL_CHECK_HOSTNAME": "maybe"}, "TRADEWATCH_SSL_CHECK_HOSTNAME"),
        ({**SASL_SSL_ENV, "TRADEWATCH_SSL_KEYFILE": __file__}, "TRADEWATCH_SSL_KEYFILE"),
        ({"TRADEWATCH_SASL_USERNAME": USER}, "TRADEWATCH_SASL_USERNAME"),
        ({"TRADEWATCH_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "TRADEWATCH_SASL_USERNAME": USER,
          "TRADEWATCH_SASL_PASSWORD": PASSWORD, "TRADEWATCH_SSL_CAFILE": __file__}, "TRADEWATCH_SSL_CAFILE"),
    ],
    ids=["unknown protocol", "no user", "no password", "unsupported mechanism", "password twice", "missing CA file",
         "bad boolean", "key without cert", "user without SASL", "CA without TLS"],
)
def test_bad_security_settings_name_the_variable(env, variable):
    with pytest.raises(SecurityConfigError) as failure:
        KafkaSecurity.from_env(env)
    assert variable in str(failure.value) and isinstance(failure.value, ValueError)
    assert PASSWORD not in str(failure.value)


def test_a_ca_file_that_is_not_pem_is_rejected_naming_the_variable(tmp_path):
    (tmp_path / "ca.pem").write_text("not a certificate")
    with pytest.raises(SecurityConfigError, match="TRADEWATCH_SSL_CAFILE"):
        KafkaSecurity.from_env({**SASL_SSL_ENV, "TRADEWATCH_SSL_CAFILE": str(tmp_path / "ca.pem")})


def test_password_from_file_and_never_in_repr(tmp_path):
    (tmp_path / "password").write_text(PASSWORD + "\n")
    env = {**SASL_SSL_ENV, "TRADEWATCH_SASL_PASSWORD": "", "TRADEWATCH_SASL_PASSWORD_FILE": str(tmp_path / "password")}
    security = KafkaSecurity.from_env(env)
    assert security.password == PASSWORD and security.sasl_mechanism == "SCRAM-SHA-512"
    assert PASSWORD not in repr(security) and PASSWORD not in str(security) and PASSWORD not in security.describe()
    assert PASSWORD not in repr(security.faust_settings())


def test_client_arguments_for_aiokafka_and_faust():
    import faust

    assert KafkaSecurity.from_env({}).aiokafka_kwargs() == {"security_protocol": "PLAINTEXT"}
    assert KafkaSecurity.from_env({}).faust_settings() == {}

    security = KafkaSecurity.from_env(SASL_SSL_ENV)
    kwargs = security.aiokafka_kwargs()
    assert kwargs["security_protocol"] == "SASL_SSL" and kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == (USER, PASSWORD)
    assert kwargs["ssl_context"].check_hostname and kwargs["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    credentials = security.faust_settings()["broker_credentials"]
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_SSL" and credentials.mechanism.value == "SCRAM-SHA-512"

    plain_sasl = KafkaSecurity.from_env({**SASL_SSL_ENV, "TRADEWATCH_SECURITY_PROTOCOL": "SASL_PLAINTEXT"})
    assert "ssl_context" not in plain_sasl.aiokafka_kwargs()
    assert plain_sasl.faust_settings()["broker_credentials"].protocol.value == "SASL_PLAINTEXT"

    tls_only = KafkaSecurity.from_env({"TRADEWATCH_SECURITY_PROTOCOL": "ssl", "TRADEWATCH_SSL_CHECK_HOSTNAME": "false"})
    assert tls_only.aiokafka_kwargs()["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    assert isinstance(tls_only.faust_settings()["broker_credentials"], faust.SSLCredentials)


# --------------------------------------------------------------------------- certificates


def _write_ca_and_server_cert(directory: Path) -> tuple[Path, Path]:
    """A throwaway CA (ca.pem) and a broker cert for 127.0.0.1 with its key (server.pem)."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tradewatch test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = directory / "ca.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    # Kafka's PEM keystore: an unencrypted PKCS#8 key followed by the certificate chain.
    server_path = directory / "server.pem"
    server_path.write_bytes(
        server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + server_cert.public_bytes(serialization.Encoding.PEM)
        + ca_cert.public_bytes(serialization.Encoding.PEM)
    )
    return ca_path, server_path


# --------------------------------------------------------------------------- broker


def _sasl_ssl_config(sasl_port: int, keystore: Path) -> dict[str, str]:
    """An extra SASL_SSL listener; PLAINTEXT (probe, inter-broker) and CONTROLLER stay as they are."""
    return {
        "listeners": f"PLAINTEXT://127.0.0.1:{{port}},CONTROLLER://127.0.0.1:{{controller_port}},SASL_SSL://127.0.0.1:{sasl_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{{port}},SASL_SSL://127.0.0.1:{sasl_port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL",
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        "listener.name.sasl_ssl.ssl.keystore.type": "PEM",
        "listener.name.sasl_ssl.ssl.keystore.location": str(keystore),
    }


def _format_with_scram_user(broker: LocalKafka) -> None:
    """Format the storage ourselves, adding the SCRAM user; LocalKafka.start() then keeps it."""
    properties = broker.configure()
    cluster_id = "tw" + base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")[2:]  # never starts with "-"
    command = [
        java_executable(), "-Xmx256m", "-cp", f"{ensure_jars()}/*", "kafka.tools.StorageTool", "format",
        "-t", cluster_id, "-c", str(properties),
        "--add-scram", f"SCRAM-SHA-512=[name={USER},password={PASSWORD}]",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def secured_kafka(tmp_path_factory):
    """(broker, SASL_SSL bootstrap, CA file): one broker for the whole module (~5 s)."""
    directory = tmp_path_factory.mktemp("sasl-ssl")
    ca_path, keystore = _write_ca_and_server_cert(directory)
    sasl_port = free_port()
    broker = LocalKafka(directory / "kafka", extra_config=_sasl_ssl_config(sasl_port, keystore))
    _format_with_scram_user(broker)
    broker.start()
    try:
        yield broker, f"127.0.0.1:{sasl_port}", ca_path
    finally:
        broker.stop()


def _security(ca_path: Path | None, password: str = PASSWORD) -> KafkaSecurity:
    env = {
        "TRADEWATCH_SECURITY_PROTOCOL": "SASL_SSL",
        "TRADEWATCH_SASL_MECHANISM": "SCRAM-SHA-512",
        "TRADEWATCH_SASL_USERNAME": USER,
        "TRADEWATCH_SASL_PASSWORD": password,
    }
    if ca_path is not None:
        env["TRADEWATCH_SSL_CAFILE"] = str(ca_path)
    return KafkaSecurity.from_env(env)


async def _round_trip(bootstrap: str, security: KafkaSecurity, topic: str) -> list[tuple[bytes, bytes]]:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **security.aiokafka_kwargs())
    await start_checked(producer, security, bootstrap)
    try:
        await producer.send_and_wait(topic, b"hello " + topic.encode(), key=b"gh_secure")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False,
        **security.aiokafka_kwargs(),
    )  # fmt: skip
    await start_checked(consumer, security, bootstrap)
    try:
        batch = await consumer.getmany(timeout_ms=15000, max_records=10)
        return [(message.key, message.value) for records in batch.values() for message in records]
    finally:
        await consumer.stop()


async def _start_producer(bootstrap: str, security: KafkaSecurity) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, request_timeout_ms=5000, **security.aiokafka_kwargs())
    await start_checked(producer, security, bootstrap)
    await producer.stop()


# --------------------------------------------------------------------------- tests


@pytest.mark.kafka
def test_produce_and_consume_over_sasl_ssl_with_scram(secured_kafka):
    _, bootstrap, ca_path = secured_kafka

    received = asyncio.run(_round_trip(bootstrap, _security(ca_path), "secured.v1"))

    assert received == [(b"gh_secure", b"hello secured.v1")]


@pytest.mark.kafka
def test_wrong_password_is_reported_as_an_authentication_failure_naming_the_user(secured_kafka):
    _, bootstrap, ca_path = secured_kafka
    wrong = "not the password at all"

    with pytest.raises(KafkaAuthError) as failure:
        asyncio.run(_start_producer(bootstrap, _security(ca_path, password=wrong)))

    message = str(failure.value)
    assert "authentication failed" in message and "TRADEWATCH_SASL_USERNAME" in message and USER in message
    assert wrong not in message and PASSWORD not in message


@pytest.mark.kafka
def test_client_that_does_not_trust_the_broker_ca_fails_tls(secured_kafka):
    _, bootstrap, _ = secured_kafka

    with pytest.raises(KafkaTLSError) as failure:
        asyncio.run(_start_producer(bootstrap, _security(ca_path=None)))  # system CAs only

    assert "not trusted" in str(failure.value) and "TRADEWATCH_SSL_CAFILE" in str(failure.value)


@pytest.mark.kafka
def test_plaintext_listener_still_serves_the_local_tools(secured_kafka):
    """The extra listener must not break the PLAINTEXT one LocalKafka probes and the harness uses."""
    broker, _, _ = secured_kafka
    received = asyncio.run(_round_trip(broker.bootstrap, KafkaSecurity(), "plain.v1"))
    assert received == [(b"gh_secure", b"hello plain.v1")]


@pytest.mark.kafka
def test_tradewatch_verify_reads_signed_actions_over_sasl_ssl(secured_kafka, monkeypatch, capsys):
    _, bootstrap, ca_path = secured_kafka
    signer = SigningKeys([SigningKey.hmac("k1", b"s" * 32)], "k1")
    topic = "enforcement.actions.v1"
    good = b'{"action_id":"act-good"}'
    forged = b'{"action_id":"act-forged"}'

    async def publish() -> None:
        from aiokafka import AIOKafkaProducer

        security = _security(ca_path)
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **security.aiokafka_kwargs())
        await start_checked(producer, security, bootstrap)
        try:
            await producer.send_and_wait(topic, good, key=b"gh_a", headers=sign(signer, topic, b"gh_a", good, 1))
            await producer.send_and_wait(topic, forged, key=b"gh_b", headers=sign(signer, topic, b"gh_b", good, 1))
        finally:
            await producer.stop()

    asyncio.run(publish())
    monkeypatch.setenv("TRADEWATCH_SIGNING_KEYS", "k1:hmac:" + base64.b64encode(b"s" * 32).decode())
    for name, value in {**SASL_SSL_ENV, "TRADEWATCH_SASL_MECHANISM": "SCRAM-SHA-512", "TRADEWATCH_SSL_CAFILE": str(ca_path)}.items():
        monkeypatch.setenv(name, value)

    status = verify_main(["--broker", bootstrap, "--from-beginning", "--max-messages", "2", "--timeout", "10"])

    lines = capsys.readouterr().out.splitlines()
    assert status == 1
    assert lines == ["ok k1 act-good", "FAIL bad_signature offset=1 partition=0 act-forged"]


def _security_is_wired() -> bool:
    from streams.config import SETTINGS

    names = {setting.env for setting in SETTINGS}
    return {"TRADEWATCH_SECURITY_PROTOCOL", "TRADEWATCH_SIGNING_KEYS"} <= names


@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.skipif(not _security_is_wired(), reason="KafkaSecurity/SigningKeys not yet wired into streams.config")
def test_worker_over_sasl_ssl_publishes_signed_actions(secured_kafka, tmp_path):
    from streams.signing import verify
    from tests.integration.harness import WorkerProcess, produce, read_all, wait_for
    from tests.integration.records import post_record, resale_records

    broker, bootstrap, ca_path = secured_kafka
    secret = b"w" * 32
    (tmp_path / "password").write_text(PASSWORD + "\n")
    env = {
        "TRADEWATCH_SECURITY_PROTOCOL": "SASL_SSL",
        "TRADEWATCH_SASL_MECHANISM": "SCRAM-SHA-512",
        "TRADEWATCH_SASL_USERNAME": USER,
        "TRADEWATCH_SASL_PASSWORD_FILE": str(tmp_path / "password"),
        "TRADEWATCH_SSL_CAFILE": str(ca_path),
        "TRADEWATCH_SIGNING_KEYS": "w1:" + base64.b64encode(secret).decode(),
    }
    worker = WorkerProcess(bootstrap, "tw-sasl", tmp_path, extra_env=env).start()
    try:
        worker.wait_ready()
        account, app = "gh_5a5150000001", "wx5a5150000000001"
        records = [post_record(account, "数字藏品二级市场已开放，寄售转售自由交易，地板价持续上涨！", at_offset_s=0)]
        records += resale_records(account, app, count=30, start_offset_s=60)
        produce(broker.bootstrap, records)  # the test's own client uses the PLAINTEXT listener
        def ours() -> list:
            return [m for m in read_all(broker.bootstrap, "enforcement.actions.v1") if m.key == account.encode()]

        actions = wait_for(ours, 60, "an action for the account")
        keys = SigningKeys([SigningKey.hmac("w1", secret)])
        for message in actions:
            assert verify(keys, message.topic, message.key, message.value, message.headers) == "w1"
    finally:
        worker.stop()
