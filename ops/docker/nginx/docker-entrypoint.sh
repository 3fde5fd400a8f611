#!/bin/sh
# The official nginx image's entrypoint contract: when the command is nginx, run the executable
# scripts in /docker-entrypoint.d/ (in name order) first; any other command runs as given.
set -eu
case "${1:-}" in
  nginx | nginx-debug)
    for script in /docker-entrypoint.d/*.sh; do
      [ -x "$script" ] || continue
      echo "docker-entrypoint.sh: running $script"
      "$script"
    done
    ;;
esac
exec "$@"
