"""A private stock Postfix for benchmarks: loopback only, no relayhost, every mail discarded.

Configured in a temporary directory of its own (main.cf, master.cf, queue and data folders), so
the system's Postfix, if any, is untouched. It accepts mail for any recipient from 127.0.0.0/8
into its queue (each queue file fsync'ed before the 250, as Postfix always does) and the
``discard`` transport then drops it. Needs root (Postfix's master) and Debian's ``postfix``.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

MASTER_CF = """\
{listen} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.bench.test
mydestination =
relayhost =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = permit_mynetworks, reject
default_transport = discard
relay_transport = discard
local_transport = discard
virtual_transport = discard
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
default_process_limit = 200
message_size_limit = 10485760
biff = no
"""


def available() -> str | None:
    """None if a private Postfix can run here, else why not."""
    if shutil.which("postfix") is None and not Path("/usr/sbin/postfix").exists():
        return "postfix not found: DEBIAN_FRONTEND=noninteractive apt-get install -y postfix"
    return None


class PrivatePostfix:
    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self.config = root / "etc"

    def _postfix(self, *args: str) -> None:
        subprocess.run(["/usr/sbin/postfix", "-c", str(self.config), *args], check=True, capture_output=True)

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)  # Postfix drops to its own user: it must reach its folders
        self.config.mkdir(parents=True)
        (self.root / "queue").mkdir()
        (self.root / "data").mkdir()
        shutil.chown(self.root / "data", "postfix", "postfix")
        (self.config / "main.cf").write_text(MAIN_CF.format(root=self.root))
        (self.config / "master.cf").write_text(MASTER_CF.format(listen=f"127.0.0.1:{self.port}"))
        for name in ("dynamicmaps.cf", "postfix-files"):
            if Path("/etc/postfix", name).exists():
                shutil.copy(Path("/etc/postfix", name), self.config / name)
        dynamic = Path("/etc/postfix/dynamicmaps.cf.d")
        if dynamic.is_dir():
            shutil.copytree(dynamic, self.config / "dynamicmaps.cf.d")
        postfix_files = Path("/etc/postfix/postfix-files.d")
        if postfix_files.is_dir():
            shutil.copytree(postfix_files, self.config / "postfix-files.d")
        self._postfix("set-permissions")
        self._postfix("start")

    def master_pid(self) -> int:
        deadline = time.monotonic() + 10
        pid_file = self.root / "queue" / "pid" / "master.pid"
        while time.monotonic() < deadline:
            if pid_file.exists() and pid_file.read_text().strip():
                return int(pid_file.read_text().strip())
            time.sleep(0.05)
        raise RuntimeError(f"Postfix did not start: see {self.root / 'maillog'}")

    def stop(self) -> None:
        command = ["/usr/sbin/postfix", "-c", str(self.config), "stop"]
        subprocess.run(command, check=False, capture_output=True)
