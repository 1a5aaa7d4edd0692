// Package adminserver serves ZooKeeper's AdminServer interface over HTTP:
// /commands lists the commands, /commands/<name> (or its four-letter
// alias, /commands/srvr) answers one as JSON with ZooKeeper 3.8's field
// names, "command" and "error" included. It shares the data of the
// four-letter words (package fourletter) and is mounted on a telemetry
// server, which adds /metrics, /healthz and /readyz.
package adminserver

import (
	"encoding/json"
	"fmt"
	"net/http"
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
}

// command is one AdminServer command.
type command struct {
	name, alias string
	run         func(Source) (map[string]any, error)
}

// commands are those layerd answers, under ZooKeeper's names and
// aliases. ZooKeeper's others (dump, leader, observers, snapshots, trace
// masks, …) answer "Unknown command" here.
var commands = []command{
	{"configuration", "conf", configuration},
	{"connection_stat_reset", "crst", func(s Source) (map[string]any, error) { s.ResetConnStats(); return map[string]any{}, nil }},
	{"connections", "cons", connections},
	{"dirs", "", dirs},
	{"environment", "envi", environment},
	{"is_read_only", "isro", func(Source) (map[string]any, error) { return map[string]any{"read_only": false}, nil }},
	{"monitor", "mntr", monitor},
	{"ruok", "", func(Source) (map[string]any, error) { return map[string]any{}, nil }},
	{"server_stats", "srvr", serverStats},
	{"stat_reset", "srst", func(s Source) (map[string]any, error) { s.ResetServerStats(); return map[string]any{}, nil }},
	{"stats", "stat", stats},
	{"watch_summary", "wchs", watchSummary},
	{"watches", "wchc", watches},
	{"watches_by_path", "wchp", watchesByPath},
}

// Names lists the commands answered, by their names.
func Names() []string {
	var out []string
	for _, c := range commands {
		out = append(out, c.name)
	}
	return out
}

// Register mounts the AdminServer's routes on srv.
func Register(srv *telemetry.Server, src Source) {
	srv.HandleFunc("GET /commands", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		for _, c := range commands {
			fmt.Fprintf(w, "<a href=\"/commands/%s\">%s</a>\n<br/>\n", c.name, c.name)
		}
	})
	srv.HandleFunc("GET /commands/{name}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		i := slices.IndexFunc(commands, func(c command) bool { return c.name == name || (c.alias != "" && c.alias == name) })
		out := map[string]any{}
		if i < 0 {
			out["command"], out["error"] = name, "Unknown command: "+name
		} else {
			res, err := commands[i].run(src)
			if res != nil {
				out = res
			}
			out["command"], out["error"] = commands[i].name, nil
			if err != nil {
				out["error"] = err.Error()
			}
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(out)
	})
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
