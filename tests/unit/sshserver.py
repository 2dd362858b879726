"""An SSH server on 127.0.0.1 inside the test process (paramiko), for the connection
tests: real SSH on the wire, for paramiko and for the OpenSSH client alike, with
the failures a fleet meets made to order.

Modes:

- ``normal``: an exec request runs ``/bin/sh -c COMMAND`` as the current user and
  sends its output and exit status back;
- ``stall_exec``: an exec request is never answered (the server's transport thread
  sits in the request, as with a link cut right after the request went out);
- ``drop``: the command's first output is sent, then the TCP connection is closed
  (sshd killed, a router reset);
- ``freeze``: the exec request is accepted, then nothing more comes back, and every
  later request (a new channel, a keepalive) sits unanswered: a link cut without a
  FIN or RST, as a pulled cable looks from the client.

The first ``healthy`` exec requests are answered as in ``normal`` whatever the mode
(fleetcheck sends a `true` when it connects). Public-key authentication with the
client key (``client_key_file``, made here unless given); every exec request's
command, login user and global request (keepalives) are recorded (``commands``,
``logins``, ``global_requests``), so a test can compare what the client says it sent
with what arrived. ``direct-tcpip``
channels (ProxyJump, ``ssh -W``) are forwarded to 127.0.0.1 ports only.

Keys are made with ``cryptography`` and written in OpenSSH's format, readable by
both the OpenSSH client and paramiko (``new_key``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from pathlib import Path
from typing import Callable

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

MODES = ("normal", "stall_exec", "drop", "freeze")


def new_key(path: Path) -> paramiko.PKey:
    """A new ed25519 key at ``path`` (OpenSSH private format, 0600) and ``path.pub``."""
    private = ed25519.Ed25519PrivateKey.generate()
    path.write_bytes(private.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.OpenSSH,
                                           serialization.NoEncryption()))
    os.chmod(path, 0o600)
    key = paramiko.Ed25519Key.from_private_key_file(str(path))
    path.with_name(path.name + ".pub").write_text(f"{key.get_name()} {key.get_base64()}\n")
    return key


def known_hosts_line(port: int, key: paramiko.PKey, host: str = "127.0.0.1") -> str:
    name = host if port == 22 else f"[{host}]:{port}"
    return f"{name} {key.get_name()} {key.get_base64()}\n"


class _Interface(paramiko.ServerInterface):
    def __init__(self, server: SshServer, transport: paramiko.Transport):
        self.server = server
        self.transport = transport
        self.after_reply: dict[int, Callable[[], None]] = {}

    def get_allowed_auths(self, username):
        return "publickey"

    def check_auth_publickey(self, username, key):
        if key == self.server.client_key:
            self.server.logins.append(username)
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        self.server.hold_if_frozen()
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_direct_tcpip_request(self, chanid, origin, destination):
        if destination[0] not in ("127.0.0.1", "localhost"):
            return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        self.server.forwards[chanid] = destination
        return paramiko.OPEN_SUCCEEDED

    def check_global_request(self, kind, msg):
        self.server.global_requests.append(kind)
        self.server.hold_if_frozen()
        return False

    def check_channel_pty_request(self, *args):
        return True

    def check_channel_exec_request(self, channel, command):
        server = self.server
        server.commands.append(command.decode(errors="replace"))
        mode = server.mode if len(server.commands) > server.healthy else "normal"
        if mode == "stall_exec":
            server.released.wait()  # the transport thread sits here: no reply at all
            return False
        if mode == "freeze":
            server.frozen.set()
            return True
        # The command starts once the reply to this request is sent (see _on_reply): a
        # fast command (`true`) started here could close the channel before the reply,
        # and the client's exec_command would fail with "Channel closed." (sshd
        # replies before it runs the command).
        self.after_reply[channel.remote_chanid] = threading.Thread(
            target=server.run_command, args=(self.transport, channel, command, mode == "drop"),
            daemon=True).start
        return True


def _on_reply(transport: paramiko.Transport, interface: _Interface) -> None:
    """Call ``interface.after_reply[chanid]`` once the transport has sent the reply
    (CHANNEL_SUCCESS/FAILURE) to that channel's request. Wraps the transport's private
    ``_send_user_message``: paramiko has no hook after a request's reply."""
    send = transport._send_user_message
    replies = (paramiko.common.cMSG_CHANNEL_SUCCESS, paramiko.common.cMSG_CHANNEL_FAILURE)

    def sent(message):
        send(message)
        data = message.asbytes()
        if len(data) == 5 and data[:1] in replies:
            then = interface.after_reply.pop(int.from_bytes(data[1:5], "big"), None)
            if then is not None:
                then()

    transport._send_user_message = sent


class SshServer:
    """``with SshServer(tmp_path) as server:`` listens on ``server.port``."""

    def __init__(self, tmp_path: Path, mode: str = "normal", name: str = "server",
                 healthy: int = 0, client_key_file: Path | None = None):
        assert mode in MODES, mode
        self.mode = mode
        self.healthy = healthy
        self.host_key = new_key(tmp_path / f"{name}_host_ed25519")
        if client_key_file is None:
            client_key_file = tmp_path / f"{name}_client_ed25519"
            new_key(client_key_file)
        self.client_key_file = client_key_file
        self.client_key = paramiko.Ed25519Key.from_private_key_file(str(client_key_file))
        self.commands: list[str] = []
        self.logins: list[str] = []
        self.global_requests: list[str] = []
        self.forwards: dict[int, tuple[str, int]] = {}
        self.released = threading.Event()  # set at stop: whatever waits, ends
        self.frozen = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._transports: list[paramiko.Transport] = []
        self._threads: list[threading.Thread] = []

    # -- what tests use ------------------------------------------------------------

    def known_hosts(self, path: Path, key: paramiko.PKey | None = None) -> Path:
        """Write a known_hosts file at ``path`` knowing this server by ``key`` (its own
        host key unless told)."""
        path.write_text(known_hosts_line(self.port, key or self.host_key))
        return path

    def hold_if_frozen(self) -> None:
        if self.frozen.is_set():
            self.released.wait()

    # -- running -------------------------------------------------------------------

    def __enter__(self) -> SshServer:
        thread = threading.Thread(target=self._accept_loop, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self.released.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept(); close() does not
        except OSError:
            pass
        self._listener.close()
        for transport in list(self._transports):
            transport.close()
        for thread in self._threads:
            thread.join(5)

    def _accept_loop(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            transport = paramiko.Transport(conn)
            transport.add_server_key(self.host_key)
            self._transports.append(transport)
            interface = _Interface(self, transport)
            _on_reply(transport, interface)
            try:
                transport.start_server(server=interface)
            except (paramiko.SSHException, EOFError, OSError):
                continue  # the client gave up (host key refused, ...)
            thread = threading.Thread(target=self._channels, args=(transport,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _channels(self, transport: paramiko.Transport) -> None:
        """Accept the transport's channels; forward the direct-tcpip ones."""
        while transport.is_active() and not self.released.is_set():
            chan = transport.accept(0.2)
            if chan is not None and chan.get_id() in self.forwards:
                threading.Thread(target=self._forward, args=(chan,), daemon=True).start()

    def _forward(self, chan: paramiko.Channel) -> None:
        sock = socket.create_connection(self.forwards[chan.get_id()])

        def pump(read, write, done):
            try:
                while data := read(65536):
                    write(data)
            except OSError:
                pass
            done()

        up = threading.Thread(target=pump, args=(chan.recv, sock.sendall,
                                                 lambda: sock.shutdown(socket.SHUT_WR)),
                              daemon=True)
        up.start()
        pump(sock.recv, chan.sendall, chan.shutdown_write)
        up.join(5)
        try:
            chan.close()
        except (OSError, EOFError, paramiko.SSHException):
            pass  # the client's transport went first
        sock.close()

    def run_command(self, transport: paramiko.Transport, chan: paramiko.Channel,
                    command: bytes, drop: bool) -> None:
        proc = subprocess.Popen(["/bin/sh", "-c", command], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if drop:
            chan.sendall(proc.stdout.readline())
            transport.sock.shutdown(socket.SHUT_RDWR)  # the connection ends mid-command
            transport.sock.close()
            proc.kill()
            proc.communicate()
            return
        out, err = proc.communicate()
        try:
            chan.sendall(out)
            chan.sendall_stderr(err)
            chan.send_exit_status(proc.returncode)
            chan.close()
        except (OSError, EOFError, paramiko.SSHException):
            pass  # the client went away first
