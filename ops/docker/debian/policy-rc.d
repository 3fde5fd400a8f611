#!/bin/sh
# Installed as /usr/sbin/policy-rc.d: packages installed while an image is built must not start
# their services (no init runs in a build container); exit 101 = "action forbidden".
exit 101
