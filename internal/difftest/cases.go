package difftest

import (
	"github.com/go-zookeeper/zk"
)

// Cases returns every differential case, in a stable order.
func Cases() []Case {
	var all []Case
	for _, group := range [][]Case{
		createCases(),
		deleteCases(),
		dataCases(),
		aclCases(),
		multiCases(),
		seqCases(),
		watchCases(),
		specialCases(),
		treeCases(),
		rootCases(),
		rawCases(),
	} {
		all = append(all, group...)
	}
	return all
}

// D is data for a step.
func D(s string) []byte { return []byte(s) }

// Common ACLs.
var (
	open     = zk.WorldACL(zk.PermAll)
	readOnly = zk.WorldACL(zk.PermRead)
)
