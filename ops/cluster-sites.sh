# ops/cluster-sites.sh — sourced by ops/cluster: the WAN links between the sites, and (with
# `up --brokers 3`) the three-node RabbitMQ cluster, one node per site.
#
#   site A (this namespace)  ──WAN──  site B (netns $NETNS)        A–B: $WAN_NET.1 / .2
#          │                             │                         A–C: $SITEC_NET.1 / .2
#          └────────WAN────  site C (netns $NETNS_C) ──WAN──┘       B–C: $BC_NET.1 (B) / .2 (C)
#
# Every link adds WAN_DELAY_MS each way. The mesh is direct: B and C talk over their own link,
# never through site A's kernel, so losing site A cuts nothing between them. A node is named by
# its site address (bardo-b@$WAN_NET.2, bardo-c@$SITEC_NET.2, site A's bardo-a@$WAN_NET.1);
# /32 routes send each address over the direct link (every namespace accepts packets for its own
# addresses on any interface), so no namespace forwards anything.

NETNS_C="${BARDO_CLUSTER_NETNS_C:-site-c}"
SITEC_NET="${BARDO_CLUSTER_SITEC_NET:-10.76.0}"
BC_NET="${BARDO_CLUSTER_BC_NET:-10.75.0}"
SITEC_IP="$SITEC_NET.2"
# Site A's broker node shares this namespace with the single shared broker (ops/rabbitmq.sh,
# :5672), so it takes other ports; B and C, alone in their namespaces, take the standard ones.
BROKER_A_PORT="${BARDO_CLUSTER_BROKER_A_PORT:-5682}"
# The shared broker's Erlang flags (ops/rabbitmq.sh explains them): one scheduler, no busy-wait.
BROKER_ERL_ARGS='+S 1:1 +SDcpu 1:1 +sbwt none +sbwtdcpu none +sbwtdio none'

netem_available() {
  ip link add bardo-probe0 type veth peer name bardo-probe1 2>/dev/null || return 1
  local ok=1
  tc qdisc add dev bardo-probe0 root netem delay 1ms 2>/dev/null && ok=0
  ip link del bardo-probe0 2>/dev/null || true
  return $ok
}

# A TUN pair, one end per namespace ("-": this one), joined by a forwarder that holds each packet
# for the delay. A partition takes an end down: the forwarder's write fails and drops the packet.
WAN_FORWARDER='
import collections, ctypes, fcntl, os, select, struct, sys, time
TUNSETIFF, IFF_TUN, IFF_NO_PI, CLONE_NEWNET = 0x400454CA, 0x0001, 0x1000, 0x40000000
left_ns, left_if, right_ns, right_if, delay = sys.argv[1:5] + [float(sys.argv[5]) / 1000]
libc = ctypes.CDLL(None, use_errno=True)
def tun(netns, name):
    if netns != "-" and libc.setns(os.open(netns, os.O_RDONLY), CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns " + netns)
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd
a, b = tun(left_ns, left_if), tun(right_ns, right_if)
peer, queue = {a: b, b: a}, {a: collections.deque(), b: collections.deque()}  # queue[fd]: to write to fd
print("wan link up: %s <-> %s, %.3f ms each way" % (left_if, right_if, delay * 1000), flush=True)
while True:
    due = [q[0][0] for q in queue.values() if q]
    timeout = max(0.0, min(due) - time.monotonic()) if due else None
    readable, _, _ = select.select([a, b], [], [], timeout)
    now = time.monotonic()
    for fd in readable:
        for _ in range(256):
            try:
                queue[peer[fd]].append((now + delay, os.read(fd, 65536)))
            except BlockingIOError:
                break
    now = time.monotonic()
    for fd, q in queue.items():
        while q and q[0][0] <= now:
            try:
                os.write(fd, q.popleft()[1])
            except OSError:
                pass  # a full or down device drops the packet, as a wire would
'

nsx() { local ns=$1; shift; if [ "$ns" = - ]; then "$@"; else ip netns exec "$ns" "$@"; fi; }
ns_path() { [ "$1" = - ] && echo - || echo "/var/run/netns/$1"; }

# link_up NAME LEFT_NS LEFT_IF LEFT_IP RIGHT_NS RIGHT_IF RIGHT_IP: a delayed point-to-point link
# (/30) between two namespaces ("-": this one). Its forwarder's pid (tun mode) is RUN/NAME.pid.
link_up() {
  local name=$1 lns=$2 lif=$3 lip=$4 rns=$5 rif=$6 rip=$7 mode
  mode=$(cat "$RUN/wan.mode")
  if [ "$mode" = netem ]; then
    local lnet=() rnet=()
    [ "$lns" = - ] || lnet=(netns "$lns")
    [ "$rns" = - ] || rnet=(netns "$rns")
    ip link add "$lif" "${lnet[@]}" type veth peer name "$rif" "${rnet[@]}"
    nsx "$lns" tc qdisc replace dev "$lif" root netem delay "${WAN_DELAY_MS}ms" ||
      die "tc netem failed (a kernel without sch_netem? BARDO_WAN_MODE=tun works there); ops/cluster down cleans up"
    nsx "$rns" tc qdisc replace dev "$rif" root netem delay "${WAN_DELAY_MS}ms"
  else
    [ -f "$RUN/wan-link.py" ] || printf '%s' "$WAN_FORWARDER" >"$RUN/wan-link.py"
    (exec 9>&- setsid python3 "$RUN/wan-link.py" "$(ns_path "$lns")" "$lif" "$(ns_path "$rns")" "$rif" \
      "$WAN_DELAY_MS") >"$RUN/$name.log" 2>&1 </dev/null &
    echo $! >"$RUN/$name.pid"
    for _ in $(seq 1 50); do
      nsx "$lns" ip link show "$lif" >/dev/null 2>&1 && nsx "$rns" ip link show "$rif" >/dev/null 2>&1 && break
      alive "$name" || { cat "$RUN/$name.log"; die "the WAN forwarder $name did not start"; }
      sleep 0.1
    done
  fi
  nsx "$lns" ip addr add "$lip/30" dev "$lif"
  nsx "$lns" ip link set "$lif" up
  nsx "$rns" ip addr add "$rip/30" dev "$rif"
  nsx "$rns" ip link set "$rif" up
}

netns_up() {
  ip netns list | grep -qw "$1" || ip netns add "$1"
  ip -n "$1" link set lo up
}

# The A–B link (always), and with three brokers site C and the A–C and B–C links.
wan_up() {
  netns_up "$NETNS"
  local mode=$WAN_MODE
  if [ "$mode" = auto ]; then netem_available && mode=netem || mode=tun; fi
  echo "$mode" >"$RUN/wan.mode"
  rm -f "$RUN/wan-link.py"
  link_up wan - "$WAN_A" "$HOST_IP" "$NETNS" "$WAN_B" "$SITEB_IP"
  say "WAN link ($mode): $HOST_IP <-> $NETNS $SITEB_IP, ${WAN_DELAY_MS} ms each way"
  [ "$(brokers)" = 3 ] || return 0
  netns_up "$NETNS_C"
  link_up wan-c - "${WAN_IF}c0" "$SITEC_NET.1" "$NETNS_C" "${WAN_IF}c1" "$SITEC_IP"
  link_up wan-bc "$NETNS" "${WAN_IF}x0" "$BC_NET.1" "$NETNS_C" "${WAN_IF}x1" "$BC_NET.2"
  site_routes
  say "WAN links ($mode): $SITEC_NET.1 <-> $NETNS_C $SITEC_IP, $NETNS $BC_NET.1 <-> $NETNS_C $BC_NET.2"
}

# The /32 routes of the mesh (a link taken down loses its routes: `heal` calls this again).
site_routes() {
  ip -n "$NETNS_C" route replace "$HOST_IP/32" dev "${WAN_IF}c1" 2>/dev/null || true
  ip -n "$NETNS_C" route replace "$SITEB_IP/32" dev "${WAN_IF}x1" 2>/dev/null || true
  ip -n "$NETNS" route replace "$SITEC_IP/32" dev "${WAN_IF}x0" 2>/dev/null || true
}

wan_down() {
  local ns pid
  for ns in "$NETNS" "$NETNS_C"; do
    ip netns list 2>/dev/null | grep -qw "$ns" || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  done
  stop_pid wan
  stop_pid wan-c
  stop_pid wan-bc
  ip link del "$WAN_A" 2>/dev/null || true
  ip link del "${WAN_IF}c0" 2>/dev/null || true
  ip netns del "$NETNS" 2>/dev/null || true
  ip netns del "$NETNS_C" 2>/dev/null || true
  rm -f "$RUN/wan.mode"
}

# ---------------------------------------------------------------- three broker nodes
brokers() { cat "$RUN/brokers" 2>/dev/null || echo 1; }

# broker_field NODE FIELD: a, b or c -> netns, address, AMQP port, management port, node name.
broker_field() {
  local ns ip port=5672
  case "$1" in
    a) ns=- ip=$HOST_IP port=$BROKER_A_PORT ;;
    b) ns=$NETNS ip=$SITEB_IP ;;
    c) ns=$NETNS_C ip=$SITEC_IP ;;
    *) die "unknown broker node '$1' (a, b, c)" ;;
  esac
  case "$2" in
    ns) echo "$ns" ;;
    ip) echo "$ip" ;;
    amqp) echo "$port" ;;
    http) echo $((port + 10000)) ;;
    name) echo "$CGROUP-$1@$ip" ;;
  esac
}

broker_url() { echo "amqp://$RABBIT_USER:$RABBIT_PASSWORD@$(broker_field "$1" ip):$(broker_field "$1" amqp)/%2f"; }
# The AMQP URLs an instance at a site lists, its own site's node first.
broker_urls() {
  if [ "$(brokers)" != 3 ]; then
    local host=127.0.0.1; [ "$1" = b ] && host=$HOST_IP
    echo "amqp://$RABBIT_USER:$RABBIT_PASSWORD@$host:5672/%2f"; return
  fi
  case "$1" in
    a) echo "$(broker_url a),$(broker_url b),$(broker_url c)" ;;
    b) echo "$(broker_url b),$(broker_url c),$(broker_url a)" ;;
  esac
}
broker_api() { echo "http://$RABBIT_USER:$RABBIT_PASSWORD@$(broker_field "$1" ip):$(broker_field "$1" http)/api"; }

broker_config() { # node dir
  local node=$1 dir=$2 peer i=1
  {
    echo "listeners.tcp.default = $(broker_field "$node" amqp)"
    echo "management.tcp.port = $(broker_field "$node" http)"
    echo "management.rates_mode = none"
    echo "collect_statistics_interval = 30000"
    # A node cut off from the other two pauses itself (no split brain) and, when the network
    # comes back, rejoins by itself: what the partition drill checks.
    echo "cluster_partition_handling = pause_minority"
    # Peers notice a silent partition within about this many seconds (default 60).
    echo "net_ticktime = 15"
    echo "loopback_users = none"
    echo "default_user = $RABBIT_USER"
    echo "default_pass = $RABBIT_PASSWORD"
    echo "default_user_tags.administrator = true"
    echo "cluster_formation.peer_discovery_backend = classic_config"
    for peer in a b c; do echo "cluster_formation.classic_config.nodes.$i = $(broker_field "$peer" name)"; i=$((i + 1)); done
    echo "cluster_formation.randomized_startup_delay_range.min = 0"
    echo "cluster_formation.randomized_startup_delay_range.max = 1"
  } >"$dir/rabbitmq.conf"
  echo "[rabbitmq_management]." >"$dir/enabled_plugins"
}

# broker_start NODE: one node, in its site's namespace and its cgroups (broker-a is site A's
# `rabbitmq` service), as the rabbitmq user, in the foreground. Its data outlives a kill, so a
# restarted node rejoins the cluster with what it held.
broker_start() {
  local node=$1 dir="$RUN/broker-data/$1" svc
  svc=$(broker_service "$node")
  if [ ! -d "$dir/mnesia" ]; then
    mkdir -p "$dir/mnesia" "$dir/log"
    broker_config "$node" "$dir"
    chown -R rabbitmq:rabbitmq "$dir"
  fi
  local cookie=/var/lib/rabbitmq/.erlang.cookie
  [ -s "$cookie" ] || { head -c 20 /dev/urandom | base64 | tr -dc A-Za-z0-9 >"$cookie"; chown rabbitmq: "$cookie"; chmod 400 "$cookie"; }
  local ns prefix=()
  ns=$(broker_field "$node" ns)
  [ "$ns" = - ] || prefix=(ip netns exec "$ns")
  launch "$svc" "${prefix[@]}" setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups \
    env HOME=/var/lib/rabbitmq RABBITMQ_NODENAME="$(broker_field "$node" name)" RABBITMQ_USE_LONGNAME=true \
    RABBITMQ_NODE_PORT="$(broker_field "$node" amqp)" RABBITMQ_DIST_PORT=$(($(broker_field "$node" amqp) + 20000)) \
    RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config" RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf" \
    RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" RABBITMQ_PID_FILE="$dir/pid" \
    RABBITMQ_LOGS=- RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="$BROKER_ERL_ARGS" /usr/lib/rabbitmq/bin/rabbitmq-server
}

broker_service() { [ "$1" = a ] && echo rabbitmq || echo "broker-$1"; }

# The node's Erlang VM (beam.smp), found by the node name in its environment (RabbitMQ names
# the node at boot, not on the command line).
broker_beam() {
  local pid want
  want="RABBITMQ_NODENAME=$(broker_field "$1" name)"
  for pid in $(pgrep -x beam.smp 2>/dev/null); do
    tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF "$want" && { echo "$pid"; return 0; }
  done
  return 0
}

broker_wait() { # node [timeout]: its management API answers and it runs
  local node=$1 deadline=$((SECONDS + ${2:-$TIMEOUT}))
  while [ $SECONDS -lt $deadline ]; do
    curl -fsS -m 2 "$(broker_api "$node")/healthchecks/node" 2>/dev/null | grep -q '"ok"' && return 0
    alive "$(broker_service "$node")" || { tail -n 30 "$RUN/$(broker_service "$node").log"; die "broker $node exited"; }
    sleep 0.5
  done
  tail -n 30 "$RUN/$(broker_service "$node").log"
  die "broker $node did not answer within ${2:-$TIMEOUT} s"
}

# Site A's node first (the others join it), then B and C together; done once all three run.
brokers_up() {
  rm -rf "$RUN/broker-data"
  broker_start a
  broker_wait a
  broker_start b
  broker_start c
  broker_wait b
  broker_wait c
  local deadline=$((SECONDS + TIMEOUT)) running=0
  while [ $SECONDS -lt $deadline ]; do
    running=$(curl -fsS -m 3 "$(broker_api a)/nodes" 2>/dev/null |
      python3 -c 'import json,sys; print(sum(1 for n in json.load(sys.stdin) if n.get("running")))' 2>/dev/null || echo 0)
    [ "$running" = 3 ] && break
    sleep 0.5
  done
  [ "$running" = 3 ] || die "the broker cluster did not reach 3 running nodes (saw $running)"
  say "RabbitMQ cluster: $(broker_field a name), $(broker_field b name), $(broker_field c name) running"
}

brokers_down() {
  local node pid
  for node in a b c; do
    pid=$(broker_beam "$node")
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    stop_pid "$(broker_service "$node")"
  done
  rm -rf "$RUN/broker-data"
}

# The stream's state as the first node that answers sees it: "leader NODE" ("none" before the
# stream exists), "member NODE online|offline" (from the management statistics: up to 30 s old)
# and "node NODE running|down [partitioned]" lines (the cluster's membership, live: what a
# partition changes first).
stream_roles() {
  local node stream queue nodes
  stream=$(cat "$RUN/stream")
  for node in a b c; do
    nodes=$(curl -fsS -m 3 "$(broker_api "$node")/nodes" 2>/dev/null) || continue
    queue=$(curl -fsS -m 3 "$(broker_api "$node")/queues/%2f/$stream" 2>/dev/null) || queue='{}'
    NODES="$nodes" python3 -c '
import json, os, sys
q = json.load(sys.stdin)
print("leader", q.get("leader") or q.get("node") or "none")  # 3.10: the leader is "node"
online = set(q.get("online") or [])
for m in q.get("members") or []:
    print("member", m, "online" if m in online else "offline")
for n in json.loads(os.environ["NODES"]):
    print("node", n["name"], "running" if n.get("running") else "down", "partitioned" if n.get("partitions") else "")' <<<"$queue" && return 0
  done
  echo "leader unknown (no broker node answered)"
}

# Which node (a, b, c) leads the stream now; empty when unknown.
stream_leader() {
  local leader node
  leader=$(stream_roles | awk '$1 == "leader" { print $2 }')
  for node in a b c; do [ "$leader" = "$(broker_field "$node" name)" ] && echo "$node"; done
  return 0
}

brokers_status() {
  local node roles
  roles=$(stream_roles)
  printf '%-6s %-22s %-8s %-9s %-10s %s\n' broker node site beam cluster stream
  for node in a b c; do
    local name state role beam
    name=$(broker_field "$node" name)
    beam=$(broker_beam "$node"); beam=${beam:--}
    state=$(awk -v n="$name" '$1 == "node" && $2 == n { print $3 ($4 ? "+" $4 : "") }' <<<"$roles")
    grep -q '^node ' <<<"$roles" && state=${state:-absent}
    role=$(awk -v n="$name" '$1 == "leader" && $2 == n { print "leader" } $1 == "member" && $2 == n { print "replica-" $3 }' <<<"$roles" | head -1)
    printf '%-6s %-22s %-8s %-9s %-10s %s\n' "$node" "$name" "site-$node" "$beam" "${state:-unknown}" "${role:--}"
  done
}

# partition SITE / heal SITE (b or c): every link of that site goes down (its namespace can send
# nothing, and what reaches its ends is dropped), then up again with its routes.
site_links() { case "$1" in b) echo "$NETNS $WAN_B ${WAN_IF}x0" ;; c) echo "$NETNS_C ${WAN_IF}c1 ${WAN_IF}x1" ;; *) die "partition/heal: site b or c" ;; esac; }
site_partition() { # site up|down
  local ns links link
  read -r ns links <<<"$(site_links "$1")"
  for link in $links; do ip -n "$ns" link set "$link" "$2"; done
  if [ "$2" = up ]; then site_routes; fi
}
