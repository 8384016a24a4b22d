package commands

import (
	"context"
	"errors"
)

// Change returns change id as actor's workspace sees it (for the transport
// to re-read state on a click instead of trusting the button). Errors as
// Approve.
func (e *Executor) Change(ctx context.Context, actor Actor, id string) (Change, error) {
	return e.changeFor(ctx, actor, id)
}

// RecordPost remembers where change id's request was posted, so that later
// updates (an expiry swept by another replica) can edit that message.
func (e *Executor) RecordPost(ctx context.Context, ws Workspace, id, channelID, ts string) error {
	if e.changes == nil {
		return &Error{Kind: KindInternal, Err: errors.New("commands: no change store configured")}
	}
	if err := e.changes.SetMessage(ctx, ws, id, channelID, ts); err != nil {
		if errors.Is(err, ErrChangeNotFound) {
			return changeError(Change{}, err)
		}
		return storeError("record request message", err)
	}
	return nil
}
