//go:build fdb

package fdbstore

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// statusSeeds are status documents shaped as FoundationDB 7.3 writes them
// (abridged), with what parseStatus must read from each.
var statusSeeds = []struct {
	doc  string
	want Status
}{
	{`{"client":{"cluster_file":{"path":"/etc/foundationdb/fdb.cluster","up_to_date":true},` +
		`"coordinators":{"coordinators":[{"address":"127.0.0.1:4500","protocol":"0fdb00b073000000","reachable":true}],"quorum_reachable":true},` +
		`"database_status":{"available":true,"healthy":true},"messages":[],"timestamp":1700000000},` +
		`"cluster":{"database_lock_state":{"locked":false},"generation":2,"layers":{"_valid":true},"messages":[],` +
		`"recovery_state":{"active_generations":1,"description":"Recovery complete.","name":"fully_recovered","seconds_since_last_recovered":12.5}}}`,
		Status{QuorumReachable: true, Available: true, Recovery: "fully_recovered", RecoveryDescription: "Recovery complete."}},
	{`{"client":{"coordinators":{"coordinators":[{"address":"127.0.0.1:4500","reachable":false}],"quorum_reachable":false},` +
		`"database_status":{"available":false,"healthy":false},` +
		`"messages":[{"description":"Unable to reach a quorum of coordinators.","name":"quorum_not_reachable"}],"timestamp":1700000000},` +
		`"cluster":{"layers":{"_error":"configurationMissing","_valid":false}}}`,
		Status{Messages: []string{"Unable to reach a quorum of coordinators."}}},
	{`{"client":{"coordinators":{"quorum_reachable":true},"database_status":{"available":false,"healthy":false},` +
		`"messages":[{"description":"Unable to read database configuration.","name":"status_incomplete"}]},` +
		`"cluster":{"messages":[{"description":"Unable to locate the data distributor worker.","name":"unreachable_dataDistributor_worker"}],` +
		`"recovery_state":{"description":"The coordinators have been configured but the database has not been created.","name":"configuration_never_created"}}}`,
		Status{QuorumReachable: true, Recovery: "configuration_never_created",
			RecoveryDescription: "The coordinators have been configured but the database has not been created.",
			Messages:            []string{"Unable to read database configuration.", "Unable to locate the data distributor worker."}}},
	{`{"client":{"coordinators":{"quorum_reachable":true},"database_status":{"available":false}},` +
		`"cluster":{"database_lock_state":{"lock_uid":"00000000000000000000000000000001","locked":true},` +
		`"recovery_state":{"description":"Accepting commits.","name":"accepting_commits"}}}`,
		Status{QuorumReachable: true, Locked: true, Recovery: "accepting_commits", RecoveryDescription: "Accepting commits."}},
	{`null`, Status{}},
}

// FuzzParseStatus: a status document is read or refused, never a panic.
// Only JSON is read; a refusal is a syntax error, or a field of the wrong
// type in valid JSON, and leaves the Status zero. What is read, written
// back as a document, reads back the same, and has a Cause.
func FuzzParseStatus(f *testing.F) {
	for _, s := range statusSeeds {
		if got, err := parseStatus([]byte(s.doc)); err != nil || !reflect.DeepEqual(got, s.want) {
			f.Fatalf("parseStatus(%s) = %+v, %v; want %+v", s.doc, got, err, s.want)
		}
		f.Add([]byte(s.doc))
	}
	f.Add([]byte(`{"client":{"coordinators":{"quorum_reachable":"yes"}}}`))
	f.Add([]byte(`{"client":`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseStatus(b)
		valid := json.Valid(b)
		if err != nil {
			var syntax *json.SyntaxError
			var typ *json.UnmarshalTypeError
			if !reflect.DeepEqual(s, Status{}) || valid && !errors.As(err, &typ) || !valid && !errors.As(err, &syntax) {
				t.Fatalf("parseStatus(%q) = %+v, %v (valid JSON: %v)", b, s, err, valid)
			}
			return
		}
		if !valid {
			t.Fatalf("parseStatus(%q), which is not JSON, = %+v", b, s)
		}
		if s.Cause() == "" {
			t.Fatalf("parseStatus(%q) = %+v, which has no Cause", b, s)
		}
		doc := writeStatus(t, s)
		if s2, err := parseStatus(doc); err != nil || !reflect.DeepEqual(s2, s) {
			t.Fatalf("parseStatus(%s) = %+v, %v; want %+v", doc, s2, err, s)
		}
	})
}

// writeStatus returns a status document that says s, its messages as the
// client's.
func writeStatus(t *testing.T, s Status) []byte {
	type obj = map[string]any
	var msgs []obj
	for _, m := range s.Messages {
		msgs = append(msgs, obj{"name": "m", "description": m})
	}
	b, err := json.Marshal(obj{
		"client": obj{
			"coordinators":    obj{"quorum_reachable": s.QuorumReachable},
			"database_status": obj{"available": s.Available},
			"messages":        msgs,
		},
		"cluster": obj{
			"recovery_state":      obj{"name": s.Recovery, "description": s.RecoveryDescription},
			"database_lock_state": obj{"locked": s.Locked},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
