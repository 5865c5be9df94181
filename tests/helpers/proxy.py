"""A TCP proxy that drops connections mid-request: the network failing under an upload."""

from __future__ import annotations

import contextlib
import socket
import threading


class DroppingProxy:
    """Forwards to ``target``; the first ``drops`` connections are cut after some bytes."""

    def __init__(self, target_port: int, drops: int) -> None:
        self.target_port, self.drops = target_port, drops
        self.dropped = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        if self.dropped < self.drops:
            self.dropped += 1
            client.recv(4096)  # part of the request arrives, then the line goes dead
            client.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            client.close()
            return
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._server.close()
