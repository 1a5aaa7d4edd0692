package load

import (
	"errors"

	"github.com/go-zookeeper/zk"
)

// codes names the errors a request can return after ZooKeeper's error codes
// (KeeperException.Code), the client's own conditions included. The set is
// small and fixed, so counts by code stay bounded.
var codes = []struct {
	err  error
	code string
}{
	{zk.ErrNoNode, "NONODE"},
	{zk.ErrNodeExists, "NODEEXISTS"},
	{zk.ErrBadVersion, "BADVERSION"},
	{zk.ErrNotEmpty, "NOTEMPTY"},
	{zk.ErrNoChildrenForEphemerals, "NOCHILDRENFOREPHEMERALS"},
	{zk.ErrNoAuth, "NOAUTH"},
	{zk.ErrAuthFailed, "AUTHFAILED"},
	{zk.ErrInvalidACL, "INVALIDACL"},
	{zk.ErrInvalidFlags, "BADARGUMENTS"},
	{zk.ErrBadArguments, "BADARGUMENTS"},
	{zk.ErrInvalidPath, "BADARGUMENTS"},
	{zk.ErrSessionExpired, "SESSIONEXPIRED"},
	{zk.ErrSessionMoved, "SESSIONMOVED"},
	{zk.ErrConnectionClosed, "CONNECTIONLOSS"},
	{zk.ErrNoServer, "CONNECTIONLOSS"},
	{zk.ErrClosing, "CLOSING"},
	{zk.ErrAPIError, "APIERROR"},
	{zk.ErrUnknown, "SYSTEMERROR"},
}

// errorCode returns the ZooKeeper name of err's code, or "OTHER".
func errorCode(err error) string {
	if re := (replyError{}); errors.As(err, &re) {
		return re.code.String()
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return "OTHER"
}
