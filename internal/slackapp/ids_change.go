package slackapp

// The IDs of the two-person rule's buttons and modal. Every button's value
// is only the change's ID; the state is re-read on each click.
const (
	ActionApprove       ActionID = "change_approve"
	ActionApproveDelete ActionID = "change_approve_delete" // opens CallbackConfirmDelete
	ActionReject        ActionID = "change_reject"
	ActionCancel        ActionID = "change_cancel"
	ActionRequestAgain  ActionID = "change_request_again"
	// ActionUndo files the undo of an applied change; ActionRevert is the
	// same for a break-glass kill. ActionUndoConfirm confirms an undo after
	// being shown what changed since: its value is the change ID and the
	// versions shown, "id:flagVersion.envVersion".
	ActionUndo        ActionID = "change_undo"
	ActionRevert      ActionID = "change_revert"
	ActionUndoConfirm ActionID = "change_undo_confirm"
	// ActionSignOff signs off an emergency change.
	ActionSignOff ActionID = "change_sign_off"
	// ActionCancelSchedule cancels an approved change waiting for its time.
	ActionCancelSchedule ActionID = "change_cancel_schedule"

	// CallbackConfirmDelete is the modal in which an approver types the
	// flag key to approve its deletion.
	CallbackConfirmDelete CallbackID = "change_confirm_delete"
	BlockConfirmKey       BlockID    = "confirm_key"
	ActionConfirmKey      ActionID   = "confirm_key_input"
)
