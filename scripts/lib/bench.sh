# Shared by the benchmark scripts (scripts/bench-zk, scripts/bench-fdb):
# sourced, not run. The caller sets out (its output directory) and
# server_cpus, and kills the pids it collects.

# free_port prints a TCP port free on 127.0.0.1 now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# await_port waits up to 30 s for something to listen on 127.0.0.1:$1.
await_port() {
	for _ in $(seq 300); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "$(basename "$0"): nothing listens on $1" >&2
	return 1
}

# start_zookeeper starts Debian's ZooKeeper 3.8 standalone (fsync on,
# no connection limit, no AdminServer) in $out/zk, pinned to
# $server_cpus, on port $1; its pid is appended to pids.
start_zookeeper() {
	mkdir -p "$out/zk/data"
	cat >"$out/zk/zoo.cfg" <<CFG
tickTime=2000
dataDir=$out/zk/data
clientPort=$1
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
CFG
	taskset -c "$server_cpus" java -cp '/etc/zookeeper/conf:/usr/share/java/zookeeper.jar' \
		org.apache.zookeeper.server.ZooKeeperServerMain "$out/zk/zoo.cfg" >"$out/zk.log" 2>&1 &
	pids+=($!)
}

# await_zookeeper waits up to 60 s for the ZooKeeper on 127.0.0.1:$1 to
# serve (its srvr answer, not "not currently serving"): a listening port
# alone was once not enough for 64 sessions within a minute.
await_zookeeper() {
	local reply
	for _ in $(seq 600); do
		reply=$( (exec 3<>"/dev/tcp/127.0.0.1/$1" && printf srvr >&3 && timeout 2 cat <&3) 2>/dev/null | head -1) || true
		[[ $reply == "Zookeeper version"* ]] && return 0
		sleep 0.1
	done
	echo "$(basename "$0"): ZooKeeper on $1 does not serve: ${reply:-no answer}" >&2
	return 1
}
