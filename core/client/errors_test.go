package client

import (
	"bufio"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
)

// TestErrorResponseIsErrsError: an error response comes back as an
// *errs.Error with the code's kind, data.reason, data.hint and the other
// data members, and prints as the router wrote it; errs.Match finds it.
func TestErrorResponseIsErrsError(t *testing.T) {
	mine, theirs := net.Pipe()
	defer theirs.Close()
	go func() {
		r := bufio.NewReader(theirs)
		if _, err := r.ReadBytes('\n'); err != nil {
			return
		}
		theirs.Write([]byte(`{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"rate limited","data":{"reason":"rate_limited","hint":"retry in 250 ms","retry_after_ms":250,"detail":"code.execute"}}}` + "\n"))
	}()
	c := New(mine)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := c.Call(ctx, "code.execute", map[string]any{}, nil)
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T %v, want an *errs.Error", err, err)
	}
	if e.Kind != errs.RateLimited || e.Reason != errs.ReasonRateLimited || e.Hint != "retry in 250 ms" || e.Data["retry_after_ms"] != 250.0 {
		t.Errorf("decoded %+v", e)
	}
	if want := "rate limited (rate_limited): code.execute [-32005]"; err.Error() != want {
		t.Errorf("text %q, want %q", err.Error(), want)
	}
	if !errs.Match(errs.E(errs.RateLimited, errs.ReasonRateLimited), err) {
		t.Error("errs.Match does not find the decoded reason")
	}
}
