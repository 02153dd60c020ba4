"""How tradewatch talks to a secured Kafka: TLS and SASL (SCRAM or PLAIN), from the environment.

One ``KafkaSecurity`` feeds every client — the Faust worker (``faust_settings``), and the
aiokafka producers, consumers and admin clients of the tools (``aiokafka_kwargs``) — so a
worker and ``tradewatch topics`` can never disagree about how to connect.

A misconfiguration stops the process at start with the variable's name and what is allowed.
A broker that rejects us is explained by ``check_connection`` (aiokafka itself only says
"Unable to bootstrap"): ``KafkaAuthError`` for a rejected login, ``KafkaTLSError`` for a
certificate we do not trust. The password is never part of repr, str or an error message.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN")
DEFAULT_MECHANISM = "SCRAM-SHA-512"

ENV_PROTOCOL = "TRADEWATCH_SECURITY_PROTOCOL"
ENV_MECHANISM = "TRADEWATCH_SASL_MECHANISM"
ENV_USERNAME = "TRADEWATCH_SASL_USERNAME"
ENV_PASSWORD = "TRADEWATCH_SASL_PASSWORD"
ENV_PASSWORD_FILE = "TRADEWATCH_SASL_PASSWORD_FILE"
ENV_CAFILE = "TRADEWATCH_SSL_CAFILE"
ENV_CERTFILE = "TRADEWATCH_SSL_CERTFILE"
ENV_KEYFILE = "TRADEWATCH_SSL_KEYFILE"
ENV_CHECK_HOSTNAME = "TRADEWATCH_SSL_CHECK_HOSTNAME"

# (env, default, help): config.py turns these into Setting rows, and so into the table in docs/reference.md.
SECURITY_SETTINGS: tuple[tuple[str, str, str], ...] = (
    (ENV_PROTOCOL, "PLAINTEXT", "Kafka security protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"),
    (ENV_MECHANISM, "", "SASL mechanism: SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN; empty = SCRAM-SHA-512 (SASL_* protocols only)"),
    (ENV_USERNAME, "", "SASL user name (required for SASL_* protocols)"),
    (ENV_PASSWORD, "", "SASL password; prefer TRADEWATCH_SASL_PASSWORD_FILE"),
    (ENV_PASSWORD_FILE, "", "file holding the SASL password (e.g. a mounted Secret); trailing newline ignored"),
    (ENV_CAFILE, "", "PEM file of CA certificates that sign the brokers' certificates; empty = the system's CAs (SSL, SASL_SSL)"),
    (ENV_CERTFILE, "", "PEM client certificate for mutual TLS (SSL, SASL_SSL)"),
    (ENV_KEYFILE, "", "PEM private key of TRADEWATCH_SSL_CERTFILE (if not inside it)"),
    (ENV_CHECK_HOSTNAME, "true", "check that the broker certificate names the host connected to: true or false"),
)

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class SecurityConfigError(ValueError):
    """A security setting that cannot be used; the message names the variable."""


class KafkaConnectError(ConnectionError):
    """The broker could not be reached or spoken to with the configured security."""


class KafkaAuthError(KafkaConnectError):
    """The broker rejected our SASL login (wrong user or password, or mechanism not enabled)."""


class KafkaTLSError(KafkaConnectError):
    """The TLS handshake failed (untrusted or mismatched certificate, or not a TLS listener)."""


@dataclass(frozen=True)
class KafkaSecurity:
    protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    check_hostname: bool = True

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def uses_sasl(self) -> bool:
        return self.protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    @property
    def uses_tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> KafkaSecurity:
        source = os.environ if env is None else env

        def get(name: str) -> str | None:
            return source.get(name, "").strip() or None

        protocol = (get(ENV_PROTOCOL) or "PLAINTEXT").upper()
        if protocol not in PROTOCOLS:
            raise SecurityConfigError(f"{ENV_PROTOCOL}={protocol!r} is not allowed: one of {', '.join(PROTOCOLS)}")
        mechanism = get(ENV_MECHANISM)
        if mechanism is None and protocol.startswith("SASL_"):
            mechanism = DEFAULT_MECHANISM
        password = source.get(ENV_PASSWORD) or None
        password_file = get(ENV_PASSWORD_FILE)
        if password is not None and password_file is not None:
            raise SecurityConfigError(f"{ENV_PASSWORD} and {ENV_PASSWORD_FILE} are both set: set only one")
        if password_file is not None:
            password = _read_password(password_file)
        check_hostname_raw = (get(ENV_CHECK_HOSTNAME) or "true").lower()
        if check_hostname_raw not in _TRUE + _FALSE:
            raise SecurityConfigError(f"{ENV_CHECK_HOSTNAME}={check_hostname_raw!r} is not allowed: true or false")
        security = cls(
            protocol=protocol,
            sasl_mechanism=mechanism.upper() if mechanism else None,
            username=get(ENV_USERNAME),
            password=password,
            cafile=get(ENV_CAFILE),
            certfile=get(ENV_CERTFILE),
            keyfile=get(ENV_KEYFILE),
            check_hostname=check_hostname_raw in _TRUE,
        )
        security.ssl_context()  # a bad CA or key file fails now, naming the variable
        return security

    def ssl_context(self) -> ssl.SSLContext | None:
        """A verifying client context (None for non-TLS protocols); TLS 1.2 or newer."""
        if not self.uses_tls:
            return None
        try:
            context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.cafile)
        except (ssl.SSLError, OSError) as error:
            raise SecurityConfigError(f"{ENV_CAFILE}={self.cafile!r} is not allowed: not a readable PEM CA bundle ({_brief(error)})") from None
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.check_hostname = self.check_hostname
        context.verify_mode = ssl.CERT_REQUIRED  # the chain is always verified, even without hostname checks
        if self.certfile:
            try:
                context.load_cert_chain(self.certfile, keyfile=self.keyfile)
            except (ssl.SSLError, OSError) as error:
                raise SecurityConfigError(
                    f"{ENV_CERTFILE}={self.certfile!r} / {ENV_KEYFILE}={self.keyfile!r} are not allowed: "
                    f"need a readable PEM certificate and its unencrypted private key ({_brief(error)})"
                ) from None
        return context

    def aiokafka_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for AIOKafkaProducer / AIOKafkaConsumer / AIOKafkaAdminClient."""
        kwargs: dict[str, Any] = {"security_protocol": self.protocol}
        if self.uses_tls:
            kwargs["ssl_context"] = self.ssl_context()
        if self.uses_sasl:
            kwargs.update(
                sasl_mechanism=self.sasl_mechanism,
                sasl_plain_username=self.username,
                sasl_plain_password=self.password,
            )
        return kwargs

    def faust_settings(self) -> dict[str, Any]:
        """Keyword arguments for faust.App(...): ``broker_credentials`` (empty for PLAINTEXT).

        faust-streaming turns these into the same aiokafka arguments for its consumer, producer
        and topic creation (faust/transport/drivers/aiokafka.py credentials_to_aiokafka_auth).
        """
        import faust

        if self.uses_sasl:
            return {
                "broker_credentials": faust.SASLCredentials(
                    username=self.username,
                    password=self.password,
                    mechanism=self.sasl_mechanism,
                    ssl_context=self.ssl_context(),  # None -> SASL_PLAINTEXT, a context -> SASL_SSL
                )
            }
        if self.protocol == "SSL":
            return {"broker_credentials": faust.SSLCredentials(self.ssl_context())}
        return {}

    def describe(self) -> str:
        """One log line saying how we connect (no secrets)."""
        parts = [self.protocol]
        if self.uses_sasl:
            parts.append(f"{self.sasl_mechanism} as {self.username!r}")
        if self.uses_tls:
            parts.append(f"CA={self.cafile or 'system'} check_hostname={self.check_hostname}")
            if self.certfile:
                parts.append(f"client cert={self.certfile}")
        return " ".join(parts)


def _validate(security: KafkaSecurity) -> None:
    if security.protocol not in PROTOCOLS:
        raise SecurityConfigError(f"{ENV_PROTOCOL}={security.protocol!r} is not allowed: one of {', '.join(PROTOCOLS)}")
    if security.uses_sasl:
        if security.sasl_mechanism not in MECHANISMS:
            raise SecurityConfigError(f"{ENV_MECHANISM}={security.sasl_mechanism!r} is not allowed: one of {', '.join(MECHANISMS)}")
        if not security.username:
            raise SecurityConfigError(f"{ENV_USERNAME} is required when {ENV_PROTOCOL}={security.protocol}")
        if not security.password:
            raise SecurityConfigError(f"{ENV_PASSWORD} or {ENV_PASSWORD_FILE} is required when {ENV_PROTOCOL}={security.protocol}")
    else:
        # Credentials with a non-SASL protocol mean the operator thinks we log in; we would not.
        for name, value in ((ENV_MECHANISM, security.sasl_mechanism), (ENV_USERNAME, security.username), (ENV_PASSWORD, security.password)):
            if value:
                raise SecurityConfigError(f"{name} is set but {ENV_PROTOCOL}={security.protocol}: use SASL_SSL or SASL_PLAINTEXT, or unset it")
    if not security.uses_tls:
        for name, value in ((ENV_CAFILE, security.cafile), (ENV_CERTFILE, security.certfile), (ENV_KEYFILE, security.keyfile)):
            if value:
                raise SecurityConfigError(f"{name} is set but {ENV_PROTOCOL}={security.protocol}: use SSL or SASL_SSL, or unset it")
    if security.keyfile and not security.certfile:
        raise SecurityConfigError(f"{ENV_KEYFILE} is set without {ENV_CERTFILE}: set both for mutual TLS")
    for name, path in ((ENV_CAFILE, security.cafile), (ENV_CERTFILE, security.certfile), (ENV_KEYFILE, security.keyfile)):
        if path and not Path(path).is_file():
            raise SecurityConfigError(f"{name}={path!r} is not allowed: no such file")


def _read_password(path: str) -> str:
    try:
        password = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as error:
        raise SecurityConfigError(f"{ENV_PASSWORD_FILE}={path!r} is not allowed: cannot read it ({_brief(error)})") from None
    if not password:
        raise SecurityConfigError(f"{ENV_PASSWORD_FILE}={path!r} is not allowed: the file is empty")
    return password


def _brief(error: BaseException) -> str:
    return getattr(error, "strerror", None) or getattr(error, "reason", None) or type(error).__name__


# --------------------------------------------------------------------------- diagnosis


async def check_connection(security: KafkaSecurity, bootstrap_servers: str, timeout: float = 10.0) -> None:
    """Connect (and log in) to each bootstrap server once; return when one works.

    Raises the most telling failure: KafkaAuthError, then KafkaTLSError, then KafkaConnectError.
    Run it before starting a worker so a bad password is one clear line, not endless retries.
    """
    from aiokafka import errors
    from aiokafka.conn import create_conn

    failures: list[KafkaConnectError] = []
    for server in (part.strip().split("://", 1)[-1] for part in bootstrap_servers.split(",") if part.strip()):
        host, _, port = server.rpartition(":")
        where = f"{host}:{port}"
        try:
            conn = await asyncio.wait_for(
                create_conn(host.strip("[]"), int(port), request_timeout_ms=int(timeout * 1000), **security.aiokafka_kwargs()),
                timeout,
            )
        except (errors.SaslAuthenticationFailed, errors.AuthenticationFailedError) as error:
            failures.append(KafkaAuthError(
                f"authentication failed at {where}: the broker rejected {ENV_USERNAME}={security.username!r} "
                f"with {security.sasl_mechanism} ({_server_says(error)}); check {ENV_USERNAME} and "
                f"{ENV_PASSWORD}/{ENV_PASSWORD_FILE}"
            ))
        except errors.UnsupportedSaslMechanismError as error:
            failures.append(KafkaAuthError(
                f"authentication failed at {where}: {ENV_MECHANISM}={security.sasl_mechanism} is not enabled on "
                f"that listener ({_server_says(error)})"
            ))
        except ssl.SSLCertVerificationError as error:
            failures.append(KafkaTLSError(
                f"TLS handshake with {where} failed: the broker certificate is not trusted "
                f"({error.verify_message}); check {ENV_CAFILE} (and {ENV_CHECK_HOSTNAME} if the name does not match)"
            ))
        except ssl.SSLError as error:
            failures.append(KafkaTLSError(
                f"TLS handshake with {where} failed ({error.reason or type(error).__name__}); "
                f"is it a {security.protocol} listener?"
            ))
        except (TimeoutError, OSError, errors.KafkaError) as error:
            failures.append(KafkaConnectError(
                f"cannot talk to Kafka at {where} with {ENV_PROTOCOL}={security.protocol} "
                f"({type(error).__name__}: {_brief(error) if isinstance(error, OSError) else error}); "
                "is the address right and does that listener use this protocol?"
            ))
        else:
            conn.close()
            return
    for kind in (KafkaAuthError, KafkaTLSError, KafkaConnectError):
        for failure in failures:
            if type(failure) is kind:
                raise failure
    raise KafkaConnectError(f"no bootstrap servers in {bootstrap_servers!r}")


async def start_checked(client: Any, security: KafkaSecurity, bootstrap_servers: str) -> None:
    """``await client.start()``, turning aiokafka's generic bootstrap failure into a clear error."""
    from aiokafka.errors import KafkaConnectionError

    try:
        await client.start()
    except KafkaConnectionError:
        with contextlib.suppress(Exception):
            await (client.stop() if hasattr(client, "stop") else client.close())
        await check_connection(security, bootstrap_servers)
        raise


def _server_says(error: BaseException) -> str:
    text = str(error).strip()
    return text if text and text != "None" else type(error).__name__
