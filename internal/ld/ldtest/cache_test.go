package ldtest_test

import (
	"errors"
	"testing"

	"github.com/flagbot/flagbot/internal/ld"
)

// TestGetFlagSeesEveryChange: the fake keeps encoded GET flag answers
// (see ldfake's getFlag), and every change made through the API or the Add
// methods is seen by the next GET, whichever environments it asks for.
func TestGetFlagSeesEveryChange(t *testing.T) {
	t.Parallel()
	s, c, _ := writeServer(t)
	ctx := t.Context()
	state := func(envs ...string) (bool, int) {
		t.Helper()
		f, err := c.GetFlag(ctx, "web", "new-checkout", envs...)
		if err != nil {
			t.Fatal(err)
		}
		return f.Environments["production"].On, f.Environments["production"].Version
	}
	on, v := state("production")
	if on2, v2 := state("production"); !on || on2 != on || v2 != v {
		t.Fatalf("two reads: on %t version %d, then on %t version %d; want on twice, the same version", on, v, on2, v2)
	}
	_, _ = state() // all environments: another cached answer

	if _, err := c.PatchFlag(ctx, "web", "new-checkout", ld.SemanticPatch{EnvironmentKey: "production", Comment: "test",
		Instructions: []ld.Instruction{{Kind: ld.KindTurnFlagOff}}}); err != nil {
		t.Fatal(err)
	}
	for _, envs := range [][]string{{"production"}, nil} {
		if on, v2 := state(envs...); on || v2 != v+1 {
			t.Errorf("after turning it off, GET %v: on %t version %d; want off, version %d", envs, on, v2, v+1)
		}
	}

	if err := c.DeleteFlag(ctx, "web", "new-checkout"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetFlag(ctx, "web", "new-checkout", "production"); !errors.Is(err, ld.ErrNotFound) {
		t.Errorf("after deleting it: GetFlag error %v, want not found", err)
	}
	s.AddFlag("web", ld.Flag{Key: "new-checkout", Name: "Back", Environments: map[string]ld.FlagEnvironment{"production": {On: true}}})
	f, err := c.GetFlag(ctx, "web", "new-checkout", "production")
	if err != nil || f.Name != "Back" || !f.Environments["production"].On {
		t.Errorf("after adding it again: %+v, %v; want the new flag, on", f, err)
	}
}
