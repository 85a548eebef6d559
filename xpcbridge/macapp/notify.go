package macapp

// Action is a button on an approval notification: its key (what the
// answer callback receives) and its title.
type Action struct {
	Key, Title string
}

// ApprovalAnswer receives the owner's choice on a notification shown with
// ShowApproval: the request id and the action's key. Set by the caller
// before the first ShowApproval; called on the notification centre's
// delegate queue.
var ApprovalAnswer func(id, key string)
