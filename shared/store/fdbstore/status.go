//go:build fdb

package fdbstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/apple/foundationdb/bindings/go/src/fdb"
)

// statusKey is FDB's machine-readable status, in the special key space.
const statusKey = "\xff\xff/status/json"

// Status is what a client can learn of a cluster that does not answer,
// read from FDB's status document.
type Status struct {
	// QuorumReachable: the client reaches a majority of the coordinators.
	QuorumReachable bool
	// Available: the database serves transactions.
	Available bool
	// Locked: the database is locked (fdbcli lock); only lock-aware
	// transactions run.
	Locked bool
	// Recovery is the cluster's recovery state ("fully_recovered",
	// "configuration_never_created", ...) and its description.
	Recovery, RecoveryDescription string
	// Messages are the client's and the cluster's messages.
	Messages []string
}

// Cause says in one line why the database does not serve transactions,
// as far as the status tells.
func (s Status) Cause() string {
	switch {
	case !s.QuorumReachable:
		return "no quorum of its coordinators is reachable (" + strings.Join(s.Messages, "; ") + ")"
	case s.Recovery == "configuration_never_created":
		return "the database was never created (fdbcli: configure new single memory|ssd)"
	case s.Locked:
		return "the database is locked (fdbcli: unlock)"
	case s.Recovery != "" && s.Recovery != "fully_recovered" && s.Recovery != "all_logs_recruited" && s.Recovery != "storage_recovered" && s.Recovery != "accepting_commits":
		return fmt.Sprintf("the cluster is recovering (%s: %s)", s.Recovery, s.RecoveryDescription)
	case !s.Available:
		return "the database is not available (" + strings.Join(s.Messages, "; ") + ")"
	}
	return "the database reports itself available"
}

// Status reads the cluster's status document. It needs the coordinators
// (for the client part) and the cluster controller (for the rest); ctx
// bounds the wait.
func (db *DB) Status(ctx context.Context) (Status, error) {
	b, err := readRaw(ctx, db, func(t *transaction) ([]byte, error) {
		v, err := t.tr.Get(fdb.Key(statusKey)).Get()
		return v, storeErr(err)
	})
	if err != nil {
		return Status{}, err
	}
	return parseStatus(b)
}

func parseStatus(b []byte) (Status, error) {
	type message struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	var doc struct {
		Client struct {
			Coordinators struct {
				QuorumReachable bool `json:"quorum_reachable"`
			} `json:"coordinators"`
			DatabaseStatus struct {
				Available bool `json:"available"`
			} `json:"database_status"`
			Messages []message `json:"messages"`
		} `json:"client"`
		Cluster struct {
			RecoveryState struct {
				Name        string `json:"name"`
				Description string `json:"description"`
			} `json:"recovery_state"`
			DatabaseLockState struct {
				Locked bool `json:"locked"`
			} `json:"database_lock_state"`
			Messages []message `json:"messages"`
		} `json:"cluster"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return Status{}, fmt.Errorf("fdbstore: status document: %w", err)
	}
	s := Status{
		QuorumReachable:     doc.Client.Coordinators.QuorumReachable,
		Available:           doc.Client.DatabaseStatus.Available,
		Locked:              doc.Cluster.DatabaseLockState.Locked,
		Recovery:            doc.Cluster.RecoveryState.Name,
		RecoveryDescription: doc.Cluster.RecoveryState.Description,
	}
	for _, m := range append(doc.Client.Messages, doc.Cluster.Messages...) {
		s.Messages = append(s.Messages, m.Description)
	}
	return s, nil
}
