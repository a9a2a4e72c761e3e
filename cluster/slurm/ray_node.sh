#!/usr/bin/env bash
# One Ray node of a netsep Slurm job. netsep.sbatch runs it with srun on every node of
# the allocation; it runs `ray start` in the foreground (--block), so the node's Ray
# lives exactly as long as its job step.
#
#   ray_node.sh address NODE           print the IPv4 address Slurm reaches NODE at
#   ray_node.sh head PORT              the head: Ray's GCS on PORT, trials too
#   ray_node.sh worker HEAD_IP:PORT    a worker joining the head
#
# Resources come from the step's own Slurm variables: --num-cpus from
# SLURM_CPUS_PER_TASK (SLURM_CPUS_ON_NODE without --cpus-per-task), --num-gpus from
# SLURM_GPUS_ON_NODE (what --gpus-per-node allocated here; Slurm also sets
# CUDA_VISIBLE_DEVICES, which Ray reads to number them). Token authentication comes from
# the environment netsep.sbatch exports (RAY_AUTH_MODE=token, RAY_AUTH_TOKEN).
#
# Optional settings (environment):
#   NETSEP_PYTHON                  the Python that has netsep's dependencies (python3)
#   NETSEP_RAY_TMPDIR              parent of Ray's per-node temp folder (/tmp); keep it
#                                  short, Ray's socket paths must stay under 108 bytes
#   NETSEP_RAY_OBJECT_STORE_BYTES  Ray's object store per node (Ray's default: 30 % of RAM)
set -euo pipefail

die() {
  echo "ray_node.sh: error: $*" >&2
  exit 2
}

python=${NETSEP_PYTHON:-python3}
# On SIGTERM (Slurm ending the job or a step) `ray start` first "drains" the node for up
# to 30 s, for Ray Serve's sake; nothing of netsep's needs it, and the job would hold
# its nodes that long after the sweep ended. Without it Ray stops at once.
export RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S=0

node_address() {
  # Slurm's NodeAddr for the node (NodeName when unset), resolved to IPv4: the address
  # slurmctld itself reaches the node at, so the other nodes can reach it there too.
  local node=$1 addr ip
  addr=$(scontrol show node -o "$node" 2>/dev/null | tr ' ' '\n' | sed -n 's/^NodeAddr=//p')
  [ -n "$addr" ] || die "Slurm does not know node '$node' (scontrol show node $node)"
  if [[ $addr =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    ip=$addr
  else
    ip=$(getent ahostsv4 "$addr" | awk 'NR == 1 { print $1 }')
  fi
  [ -n "$ip" ] || die "node '$node': its NodeAddr '$addr' does not resolve to an IPv4 address"
  case $ip in
    127.*) die "node '$node': its NodeAddr '$addr' resolves to loopback ($ip); other nodes cannot reach Ray there" ;;
  esac
  echo "$ip"
}

start_args() {
  # Arguments every node's `ray start` shares ($1: this node's address, $2: the head's GCS
  # port; the dashboard agent's HTTP port is the one after, so that two jobs sharing a
  # node, whose GCS ports differ, do not both ask for Ray's fixed default 52365).
  local cpus=${SLURM_CPUS_PER_TASK:-${SLURM_CPUS_ON_NODE:-1}}
  local gpus=${SLURM_GPUS_ON_NODE:-0}
  # One temp folder per job and node: two jobs (or two nodes of a test) never share one.
  local temp="${NETSEP_RAY_TMPDIR:-/tmp}/ray-${SLURM_JOB_ID}-${SLURMD_NODENAME:-node}"
  mkdir -p -m 700 "$temp"
  args=(--block --node-ip-address="$1" --num-cpus="$cpus" --num-gpus="$gpus" --temp-dir="$temp"
    --dashboard-agent-listen-port=$(($2 + 1)) --disable-usage-stats)
  if [ -n "${NETSEP_RAY_OBJECT_STORE_BYTES:-}" ]; then
    args+=(--object-store-memory="$NETSEP_RAY_OBJECT_STORE_BYTES")
  fi
  echo "ray_node.sh: ${SLURMD_NODENAME:-?} at $1: $cpus CPUs, $gpus GPUs, temp folder $temp"
}

[ $# -eq 2 ] || die "usage: ray_node.sh address NODE | head PORT | worker HEAD_IP:PORT"
case $1 in
  address)
    node_address "$2"
    ;;
  head)
    [ "${RAY_AUTH_MODE:-}" = token ] || die "RAY_AUTH_MODE=token is not set: netsep.sbatch starts Ray with token authentication only"
    start_args "$(node_address "${SLURMD_NODENAME:?not in a Slurm job step}")" "$2"
    # No dashboard: nothing needs it (the sweep joins by the GCS address), and it would be
    # one more port per job on a shared node.
    # The Ray client server (ray://) takes the port after the agent's.
    exec "$python" -m ray.scripts.scripts start --head --port="$2" --ray-client-server-port=$(($2 + 2)) \
      --include-dashboard=false "${args[@]}"
    ;;
  worker)
    [ "${RAY_AUTH_MODE:-}" = token ] || die "RAY_AUTH_MODE=token is not set: netsep.sbatch starts Ray with token authentication only"
    start_args "$(node_address "${SLURMD_NODENAME:?not in a Slurm job step}")" "${2##*:}"
    exec "$python" -m ray.scripts.scripts start --address="$2" "${args[@]}"
    ;;
  *)
    die "unknown mode '$1': usage: ray_node.sh address NODE | head PORT | worker HEAD_IP:PORT"
    ;;
esac
