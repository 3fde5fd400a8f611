#!/bin/bash
# The official rabbitmq image's entrypoint contract: started as root with a rabbitmq* command, it
# hands the data dir (a fresh tmpfs under compose) to the rabbitmq user and steps down to it; with
# differing short and long host names it uses long node names. Any other command runs as given.
set -euo pipefail
if [[ "${1:-}" == rabbitmq* ]] && [ "$(id -u)" = 0 ]; then
  if [ "$1" = rabbitmq-server ]; then
    find /var/lib/rabbitmq \! -user rabbitmq -exec chown rabbitmq:rabbitmq '{}' +
  fi
  exec gosu rabbitmq "$BASH_SOURCE" "$@"
fi
if [ -z "${RABBITMQ_USE_LONGNAME:-}" ] && [ "$(hostname)" != "$(hostname -s)" ]; then
  export RABBITMQ_USE_LONGNAME=true
fi
exec "$@"
