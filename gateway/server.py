"""Running a node: both listeners in one process and one event loop, the federation listener
with mutual TLS required, the local listener with TLS; SIGINT/SIGTERM stop both."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import ssl
from collections.abc import Callable, Generator

import uvicorn

from gateway.app import create_federation_app, create_local_app
from gateway.federation.tls import PeerCertificateProtocol
from gateway.node import Node


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # Signals are handled once for both servers in ``serve_node``.
        yield


def _configs(node: Node) -> tuple[uvicorn.Config, uvicorn.Config]:
    cfg = node.config
    federation = uvicorn.Config(
        create_federation_app(node),
        host=cfg.federation_listener.host,
        port=cfg.federation_listener.port,
        http=PeerCertificateProtocol,
        ssl_certfile=str(cfg.tls_certificate),
        ssl_keyfile=str(cfg.tls_key),
        ssl_ca_certs=str(cfg.federation_ca),
        ssl_cert_reqs=ssl.CERT_REQUIRED,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    local = uvicorn.Config(
        create_local_app(node),
        host=cfg.local_listener.host,
        port=cfg.local_listener.port,
        http="h11",
        ssl_certfile=str(cfg.tls_certificate),
        ssl_keyfile=str(cfg.tls_key),
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    return federation, local


async def serve_node(node: Node, *, on_ready: Callable[[], None] | None = None) -> None:
    federation_config, local_config = _configs(node)
    servers = [_Server(federation_config), _Server(local_config)]

    def stop() -> None:
        for server in servers:
            server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop)
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    while not all(server.started for server in servers):
        if any(task.done() for task in tasks):
            stop()
            break
        await asyncio.sleep(0.02)
    else:
        if on_ready is not None:
            on_ready()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    if not all(server.started for server in servers):
        raise SystemExit(f"node {node.agency} could not start its listeners")
