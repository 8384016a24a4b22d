package slackapp

// The IDs of the two-person rule's buttons and modal. Every button's value
// is only the change's ID; the state is re-read on each click.
const (
	ActionApprove       ActionID = "change_approve"
	ActionApproveDelete ActionID = "change_approve_delete" // opens CallbackConfirmDelete
	ActionReject        ActionID = "change_reject"
	ActionCancel        ActionID = "change_cancel"
	ActionRequestAgain  ActionID = "change_request_again"

	// CallbackConfirmDelete is the modal in which an approver types the
	// flag key to approve its deletion.
	CallbackConfirmDelete CallbackID = "change_confirm_delete"
	BlockConfirmKey       BlockID    = "confirm_key"
	ActionConfirmKey      ActionID   = "confirm_key_input"
)
