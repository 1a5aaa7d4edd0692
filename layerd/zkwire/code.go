package zkwire

import "strconv"

// Code is a ZooKeeper error code (KeeperException.Code), as sent in
// ReplyHeader.Err and multi error results.
type Code int32

// Error codes. The server never sends CodeConnectionLoss,
// CodeOperationTimeout, CodeInvalidCallback or CodeRequestTimeout; clients
// make them.
const (
	CodeOK                           Code = 0
	CodeSystemError                  Code = -1
	CodeRuntimeInconsistency         Code = -2
	CodeDataInconsistency            Code = -3
	CodeConnectionLoss               Code = -4
	CodeMarshallingError             Code = -5
	CodeUnimplemented                Code = -6
	CodeOperationTimeout             Code = -7
	CodeBadArguments                 Code = -8
	CodeUnknownSession               Code = -12
	CodeNewConfigNoQuorum            Code = -13
	CodeReconfigInProgress           Code = -14
	CodeAPIError                     Code = -100
	CodeNoNode                       Code = -101
	CodeNoAuth                       Code = -102
	CodeBadVersion                   Code = -103
	CodeNoChildrenForEphemerals      Code = -108
	CodeNodeExists                   Code = -110
	CodeNotEmpty                     Code = -111
	CodeSessionExpired               Code = -112
	CodeInvalidCallback              Code = -113
	CodeInvalidACL                   Code = -114
	CodeAuthFailed                   Code = -115
	CodeSessionMoved                 Code = -118
	CodeNotReadOnly                  Code = -119
	CodeEphemeralOnLocalSession      Code = -120
	CodeNoWatcher                    Code = -121
	CodeRequestTimeout               Code = -122
	CodeReconfigDisabled             Code = -123
	CodeSessionClosedRequireSASLAuth Code = -124
	CodeQuotaExceeded                Code = -125
	CodeThrottledOp                  Code = -127
)

// codeInfo holds the Java enum name and KeeperException.getCodeMessage's
// text.
var codeInfo = map[Code]struct{ name, msg string }{
	CodeOK:                           {"OK", "ok"},
	CodeSystemError:                  {"SYSTEMERROR", "SystemError"},
	CodeRuntimeInconsistency:         {"RUNTIMEINCONSISTENCY", "RuntimeInconsistency"},
	CodeDataInconsistency:            {"DATAINCONSISTENCY", "DataInconsistency"},
	CodeConnectionLoss:               {"CONNECTIONLOSS", "ConnectionLoss"},
	CodeMarshallingError:             {"MARSHALLINGERROR", "MarshallingError"},
	CodeUnimplemented:                {"UNIMPLEMENTED", "Unimplemented"},
	CodeOperationTimeout:             {"OPERATIONTIMEOUT", "OperationTimeout"},
	CodeBadArguments:                 {"BADARGUMENTS", "BadArguments"},
	CodeUnknownSession:               {"UNKNOWNSESSION", "Unknown error UNKNOWNSESSION"},
	CodeNewConfigNoQuorum:            {"NEWCONFIGNOQUORUM", "NewConfigNoQuorum"},
	CodeReconfigInProgress:           {"RECONFIGINPROGRESS", "ReconfigInProgress"},
	CodeAPIError:                     {"APIERROR", "APIError"},
	CodeNoNode:                       {"NONODE", "NoNode"},
	CodeNoAuth:                       {"NOAUTH", "NoAuth"},
	CodeBadVersion:                   {"BADVERSION", "BadVersion"},
	CodeNoChildrenForEphemerals:      {"NOCHILDRENFOREPHEMERALS", "NoChildrenForEphemerals"},
	CodeNodeExists:                   {"NODEEXISTS", "NodeExists"},
	CodeNotEmpty:                     {"NOTEMPTY", "Directory not empty"},
	CodeSessionExpired:               {"SESSIONEXPIRED", "Session expired"},
	CodeInvalidCallback:              {"INVALIDCALLBACK", "Invalid callback"},
	CodeInvalidACL:                   {"INVALIDACL", "InvalidACL"},
	CodeAuthFailed:                   {"AUTHFAILED", "AuthFailed"},
	CodeSessionMoved:                 {"SESSIONMOVED", "Session moved"},
	CodeNotReadOnly:                  {"NOTREADONLY", "Not a read-only call"},
	CodeEphemeralOnLocalSession:      {"EPHEMERALONLOCALSESSION", "Ephemeral node on local session"},
	CodeNoWatcher:                    {"NOWATCHER", "No such watcher"},
	CodeRequestTimeout:               {"REQUESTTIMEOUT", "Unknown error REQUESTTIMEOUT"},
	CodeReconfigDisabled:             {"RECONFIGDISABLED", "Reconfig is disabled"},
	CodeSessionClosedRequireSASLAuth: {"SESSIONCLOSEDREQUIRESASLAUTH", "Session closed because client failed to authenticate"},
	CodeQuotaExceeded:                {"QUOTAEXCEEDED", "Quota has exceeded"},
	CodeThrottledOp:                  {"THROTTLEDOP", "Op throttled due to high load"},
}

// String returns the Java enum name ("NONODE"), or "Code(n)" for a value
// ZooKeeper does not define.
func (c Code) String() string {
	if i, ok := codeInfo[c]; ok {
		return i.name
	}
	return "Code(" + strconv.Itoa(int(c)) + ")"
}

// Message returns the text Java clients print after "KeeperErrorCode = "
// ("NoNode", "Directory not empty"). Codes without a case in
// KeeperException.getCodeMessage give "Unknown error " and the enum name,
// as in Java.
func (c Code) Message() string {
	if i, ok := codeInfo[c]; ok {
		return i.msg
	}
	return "Unknown error " + strconv.Itoa(int(c))
}
