// Package adminserver serves ZooKeeper's AdminServer interface over HTTP:
// /commands lists the commands, /commands/<name> (or an alias,
// /commands/srvr) answers one as JSON with ZooKeeper 3.9's field names,
// "command" and "error" included, arguments coming as query parameters
// (/commands/set_trace_mask?traceMask=306). It shares the data of the
// four-letter words (package fourletter) and is mounted on a telemetry
// server, which adds /metrics, /healthz and /readyz.
package adminserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"zkfdb/layerd/fourletter"
	"zkfdb/shared/buildinfo"
	"zkfdb/shared/telemetry"
)

// Source is the server the commands report on (zkserver.Server).
type Source interface {
	Report() fourletter.Report
	WatchLists() ([]fourletter.SessionWatches, error)
	ResetServerStats()
	ResetConnStats()
	TraceMask() int64
	SetTraceMask(mask int64)
	SessionDump() (expiry map[int64][]int64, ephemerals map[int64][]string, err error)
	SystemProperties() map[string]string
	InitialConfiguration() string
}

// command is one AdminServer command.
type command struct {
	// names are ZooKeeper's: the primary name, then its aliases.
	names []string
	run   func(s Source, args url.Values) (map[string]any, error)
	// status is the HTTP status of the answer; 0 means 200.
	status int
}

// commands are ZooKeeper 3.9's, under its names and aliases, sorted by
// name as /commands lists them. Those about a quorum answer as
// ZooKeeper's standalone server does: layerd is a standalone server to
// its clients, whichever store is under it.
var commands = []command{
	{names: []string{"configuration", "conf", "config"}, run: plain(configuration)},
	{names: []string{"connection_stat_reset", "crst"}, run: plain(func(s Source) (map[string]any, error) { s.ResetConnStats(); return map[string]any{}, nil })},
	{names: []string{"connections", "cons"}, run: plain(connections)},
	{names: []string{"dirs"}, run: plain(dirs)},
	{names: []string{"dump"}, run: plain(dump)},
	{names: []string{"environment", "env", "envi"}, run: plain(environment)},
	{names: []string{"get_trace_mask", "gtmk"}, run: plain(func(s Source) (map[string]any, error) { return map[string]any{"tracemask": s.TraceMask()}, nil })},
	// hash: ZooKeeper's digests of its tree every 128 transactions, for
	// replicas to compare; layerd keeps none (zkserver's hash), so the
	// list is empty, as ZooKeeper's before the 128th transaction.
	{names: []string{"hash"}, run: plain(func(Source) (map[string]any, error) { return map[string]any{"digests": []any{}}, nil })},
	{names: []string{"initial_configuration", "icfg"}, run: plain(func(s Source) (map[string]any, error) {
		return map[string]any{"initial_configuration": s.InitialConfiguration()}, nil
	})},
	{names: []string{"is_read_only", "isro"}, run: plain(func(Source) (map[string]any, error) { return map[string]any{"read_only": false}, nil })},
	// last_snapshot: ZooKeeper's last snapshot file. layerd writes none
	// (the store keeps the tree), so it answers as ZooKeeper does with
	// none: zxid -1 in hex, timestamp -1.
	{names: []string{"last_snapshot", "lsnp"}, run: plain(func(Source) (map[string]any, error) {
		return map[string]any{"zxid": strconv.FormatUint(math.MaxUint64, 16), "timestamp": -1}, nil
	})},
	// leader: a standalone ZooKeeper answers only this error.
	{names: []string{"leader", "lead"}, run: plain(func(Source) (map[string]any, error) { return nil, errors.New("server is not initialized") })},
	{names: []string{"monitor", "mntr"}, run: plain(monitor)},
	{names: []string{"observer_connection_stat_reset", "orst"}, run: plain(func(Source) (map[string]any, error) { return map[string]any{}, nil })},
	{names: []string{"observers", "obsr"}, run: plain(func(Source) (map[string]any, error) {
		return map[string]any{"synced_observers": 0, "observers": []any{}}, nil
	})},
	// restore (POST in ZooKeeper 3.9) and snapshot: a ZooKeeper snapshot
	// file sent or taken over HTTP. layerd writes no such file: the tree
	// is in the store, backed up with the store's own tools
	// (FoundationDB's backup, a copy of the embedded engine's stopped
	// data directory). Both answer as ZooKeeper does with
	// zookeeper.admin.{restore,snapshot}.enabled=false: 503. ZooKeeper
	// asks for authentication first; with nothing to do here, layerd
	// does not.
	{names: []string{"restore", "rest"}, run: plain(func(Source) (map[string]any, error) { return map[string]any{}, nil }), status: http.StatusServiceUnavailable},
	{names: []string{"ruok"}, run: plain(func(Source) (map[string]any, error) { return map[string]any{}, nil })},
	{names: []string{"server_stats", "srvr"}, run: plain(serverStats)},
	{names: []string{"set_trace_mask", "stmk"}, run: setTraceMask},
	{names: []string{"snapshot", "snap"}, run: plain(func(Source) (map[string]any, error) { return map[string]any{}, nil }), status: http.StatusServiceUnavailable},
	{names: []string{"stat_reset", "srst"}, run: plain(func(s Source) (map[string]any, error) { s.ResetServerStats(); return map[string]any{}, nil })},
	{names: []string{"stats", "stat"}, run: plain(stats)},
	{names: []string{"system_properties", "sysp"}, run: plain(systemProperties)},
	{names: []string{"voting_view"}, run: plain(func(Source) (map[string]any, error) { return map[string]any{"current_config": map[string]any{}}, nil })},
	{names: []string{"watch_summary", "wchs"}, run: plain(watchSummary)},
	{names: []string{"watches", "wchc"}, run: plain(watches)},
	{names: []string{"watches_by_path", "wchp"}, run: plain(watchesByPath)},
	{names: []string{"zabstate"}, run: plain(func(Source) (map[string]any, error) { return map[string]any{"voting": false, "zabstate": ""}, nil })},
}

// plain is a command that takes no arguments.
func plain(f func(Source) (map[string]any, error)) func(Source, url.Values) (map[string]any, error) {
	return func(s Source, _ url.Values) (map[string]any, error) { return f(s) }
}

// Names lists the commands answered, by their primary names.
func Names() []string {
	var out []string
	for _, c := range commands {
		out = append(out, c.names[0])
	}
	return out
}

// Aliases lists the commands' other names.
func Aliases() []string {
	var out []string
	for _, c := range commands {
		out = append(out, c.names[1:]...)
	}
	return out
}

// Register mounts the AdminServer's routes on srv: GET for every
// command, and POST for restore, which ZooKeeper 3.9 takes by POST.
func Register(srv *telemetry.Server, src Source) {
	srv.HandleFunc("GET /commands", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		for _, c := range commands {
			fmt.Fprintf(w, "<a href=\"/commands/%s\">%s</a>\n<br/>\n", c.names[0], c.names[0])
		}
	})
	answer := func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/commands/")
		i := slices.IndexFunc(commands, func(c command) bool { return slices.Contains(c.names, name) })
		out, status := map[string]any{}, http.StatusOK
		if i < 0 {
			out["command"], out["error"] = name, "Unknown command: "+name
		} else {
			c := commands[i]
			res, err := c.run(src, r.URL.Query())
			if res != nil {
				out = res
			}
			out["command"], out["error"] = c.names[0], nil
			if err != nil {
				out["error"] = err.Error()
			}
			if c.status != 0 {
				status = c.status
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(out)
	}
	srv.HandleFunc("GET /commands/{name}", answer)
	for _, name := range []string{"restore", "rest"} {
		srv.HandleFunc("POST /commands/"+name, answer)
	}
}

func configuration(s Source) (map[string]any, error) {
	conf := map[string]string{}
	for _, kv := range s.Report().Conf {
		conf[kv.Key] = kv.Value
	}
	num := func(k string) any { return number(conf[k]) }
	return map[string]any{
		"client_port":                num("clientPort"),
		"data_dir":                   conf["dataDir"],
		"data_log_dir":               conf["dataLogDir"],
		"tick_time":                  num("tickTime"),
		"max_client_cnxns":           num("maxClientCnxns"),
		"min_session_timeout":        num("minSessionTimeout"),
		"max_session_timeout":        num("maxSessionTimeout"),
		"server_id":                  num("serverId"),
		"client_port_listen_backlog": num("clientPortListenBacklog"),
	}, nil
}

func environment(Source) (map[string]any, error) {
	out := map[string]any{"zookeeper.version": buildinfo.ZooKeeperVersion()}
	for _, kv := range fourletter.Environment() {
		out[kv.Key] = kv.Value
	}
	return out, nil
}

func dirs(s Source) (map[string]any, error) {
	r := s.Report()
	return map[string]any{"datadir_size": r.DataDirSize, "logdir_size": r.LogDirSize}, nil
}

func monitor(s Source) (map[string]any, error) {
	out := map[string]any{}
	for _, kv := range fourletter.MntrValues(s.Report()) {
		out[kv.Key] = number(kv.Value)
	}
	return out, nil
}

// serverFields are server_stats's and stats's fields.
func serverFields(r fourletter.Report) map[string]any {
	response := map[string]any{"last_buffer_size": -1, "min_buffer_size": -1, "max_buffer_size": -1}
	uptime, _ := strconv.ParseInt(r.Metrics["uptime"], 10, 64)
	return map[string]any{
		"version":   r.Version,
		"read_only": false,
		"server_stats": map[string]any{
			"packets_sent":                 r.Sent,
			"packets_received":             r.Received,
			"fsync_threshold_exceed_count": 0,
			"client_response_stats":        response,
			"data_dir_size":                r.DataDirSize,
			"log_dir_size":                 r.LogDirSize,
			"provider_null":                false,
			"server_state":                 r.Mode,
			"last_processed_zxid":          r.Zxid,
			"outstanding_requests":         r.Outstanding,
			"avg_latency":                  r.Latency.Avg(),
			"max_latency":                  r.Latency.Max,
			"min_latency":                  r.Latency.Min,
			"num_alive_client_connections": len(r.Connections),
			"uptime":                       uptime,
			"auth_failed_count":            0,
			"non_mtlsremote_conn_count":    0,
			"non_mtlslocal_conn_count":     0,
		},
		"client_response": response,
		"node_count":      r.NodeCount,
	}
}

func serverStats(s Source) (map[string]any, error) { return serverFields(s.Report()), nil }

func stats(s Source) (map[string]any, error) {
	r := s.Report()
	out := serverFields(r)
	out["connections"], out["secure_connections"] = connList(r, false), []any{}
	return out, nil
}

func connections(s Source) (map[string]any, error) {
	return map[string]any{"connections": connList(s.Report(), true), "secure_connections": []any{}}, nil
}

// connList lists the connections as stats (brief) and connections
// (full, with each session's fields) show them.
func connList(r fourletter.Report, full bool) []any {
	out := []any{}
	for _, c := range r.Connections {
		m := map[string]any{
			"remote_socket_address": c.Remote,
			"interest_ops":          c.Interest,
			"outstanding_requests":  c.Queued,
			"packets_received":      c.Received,
			"packets_sent":          c.Sent,
		}
		if s := c.Session; full && s != nil {
			m["session_id"] = s.ID
			m["last_operation"] = s.LastOp
			m["established"] = s.Established.UnixMilli()
			m["session_timeout"] = s.Timeout
			m["last_cxid"] = s.LastCxid
			m["last_zxid"] = s.LastZxid
			m["last_response_time"] = s.LastResponse
			m["last_latency"] = s.LastLatency
			m["min_latency"] = s.Latency.Min
			m["avg_latency"] = int64(s.Latency.Avg())
			m["max_latency"] = s.Latency.Max
		}
		out = append(out, m)
	}
	return out
}

func dump(s Source) (map[string]any, error) {
	expiry, ephemerals, err := s.SessionDump()
	if err != nil {
		return nil, err
	}
	// JSON keys are strings: ZooKeeper writes its long keys in decimal.
	byTime, bySession := map[string][]int64{}, map[string][]string{}
	for at, ids := range expiry {
		byTime[strconv.FormatInt(at, 10)] = ids
	}
	for id, paths := range ephemerals {
		bySession[strconv.FormatInt(id, 10)] = paths
	}
	return map[string]any{"expiry_time_to_session_ids": byTime, "session_id_to_ephemeral_paths": bySession}, nil
}

// setTraceMask takes the mask from the argument traceMask, in decimal,
// with ZooKeeper's errors.
func setTraceMask(s Source, args url.Values) (map[string]any, error) {
	if !args.Has("traceMask") {
		return nil, errors.New("setTraceMask requires long traceMask argument")
	}
	mask, err := strconv.ParseInt(args.Get("traceMask"), 10, 64)
	if err != nil {
		return nil, errors.New("setTraceMask requires long traceMask argument, got " + args.Get("traceMask"))
	}
	s.SetTraceMask(mask)
	return map[string]any{"tracemask": mask}, nil
}

func systemProperties(s Source) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range s.SystemProperties() {
		out[k] = v
	}
	return out, nil
}

func watchSummary(s Source) (map[string]any, error) {
	ws, err := s.WatchLists()
	if err != nil {
		return nil, err
	}
	sessions, paths, watches := fourletter.WatchSummary(ws)
	return map[string]any{"num_connections": sessions, "num_paths": paths, "num_total_watches": watches}, nil
}

func watches(s Source) (map[string]any, error) {
	ws, err := s.WatchLists()
	if err != nil {
		return nil, err
	}
	by := map[string][]string{}
	for _, w := range ws {
		if len(w.Paths) > 0 {
			by[strconv.FormatInt(w.Session, 10)] = w.Paths
		}
	}
	return map[string]any{"session_id_to_watched_paths": by}, nil
}

func watchesByPath(s Source) (map[string]any, error) {
	ws, err := s.WatchLists()
	if err != nil {
		return nil, err
	}
	_, by := fourletter.ByPath(ws)
	return map[string]any{"path_to_session_ids": by}, nil
}

// number is v as a JSON number when it is one, else the string.
func number(v string) any {
	if i, err := strconv.ParseInt(v, 10, 64); err == nil {
		return i
	}
	if strings.ContainsAny(v, ".") {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	}
	return v
}
