#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Logs in with paramiko's keyboard-interactive, answering pam_ephem's prompts the
way ephem-askpass does, runs a command and prints its output.

    EPHEM_TOKEN=... paramiko-login.py HOST PORT USER COMMAND
"""
import os
import re
import sys

import paramiko

PART = 1000


def answers_for(token):
    parts = [token[i:i + PART] for i in range(0, len(token), PART)]

    def handler(title, instructions, prompts):
        out = []
        for text, _echo in prompts:
            if text.strip() == "ephem token:":
                out.append(token if len(parts) == 1 else "multipart:%d:%s" % (len(parts), parts[0]))
                continue
            m = re.fullmatch(r"ephem token part (\d+)/(\d+): ", text)
            if not m or int(m.group(2)) != len(parts):
                raise SystemExit("unexpected prompt %r" % text)
            out.append(parts[int(m.group(1)) - 1])
        return out

    return handler


def main():
    host, port, user, command = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    token = os.environ["EPHEM_TOKEN"]
    transport = paramiko.Transport((host, port))
    try:
        transport.start_client(timeout=10)
        transport.auth_interactive(user, answers_for(token))
        chan = transport.open_session()
        chan.exec_command(command)
        sys.stdout.write(chan.makefile("r").read().decode())
        sys.exit(chan.recv_exit_status())
    finally:
        transport.close()


if __name__ == "__main__":
    main()
