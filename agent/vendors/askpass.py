"""``hntht-agent-askpass``: the SSH_ASKPASS program of the OpenSSH transport (agent/vendors/openssh.py).

ssh runs it with the prompt as its argument and reads one line from its output.  It prints the codec
password read from the file named by ``$HNTHT_ASKPASS_FILE`` (the ``password_file`` or the systemd
credential the agent itself loaded), decoded and trimmed exactly as the agent reads secrets.  It
answers nothing but a password prompt: a yes/no question (a host key confirmation, which the agent's
``StrictHostKeyChecking=yes`` should never let ssh ask) is refused.  Deliberately tiny and without
agent imports beyond the standard library: it runs once per login.
"""

from __future__ import annotations

import os
import sys

ENV = "HNTHT_ASKPASS_FILE"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    prompt = " ".join(args).lower()
    if "yes/no" in prompt or "(yes" in prompt or "fingerprint" in prompt:
        sys.stderr.write("hntht-agent-askpass: refusing to answer a confirmation question\n")
        return 1
    path = os.environ.get(ENV, "")
    value = ""
    if path:
        try:
            with open(path, "rb") as handle:
                value = handle.read().decode("utf-8").strip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            sys.stderr.write(f"hntht-agent-askpass: cannot read the password file: {type(exc).__name__}\n")
            return 1
    sys.stdout.write(value + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
