package mailbox

import (
	"slices"
	"testing"
)

func TestPushTakeKeepsOrderAndSignalsOnce(t *testing.T) {
	t.Parallel()
	m := New[int](10)
	for i := range 3 {
		if !m.Push(i, false) {
			t.Fatalf("Push(%d) refused", i)
		}
	}
	select {
	case <-m.Signal():
	default:
		t.Fatal("no signal after pushes")
	}
	select {
	case <-m.Signal():
		t.Fatal("three pushes signalled more than once")
	default:
	}
	buf := m.Take(nil)
	if !slices.Equal(buf, []int{0, 1, 2}) {
		t.Errorf("Take = %v, want [0 1 2]", buf)
	}
	if got := m.Take(buf); len(got) != 0 {
		t.Errorf("second Take = %v, want nothing", got)
	}
}

func TestNeverBlocksAndDropsOnlyDroppable(t *testing.T) {
	t.Parallel()
	const max = 64
	m := New[string](max)
	dropped := 0
	for range max + 10 {
		if !m.Push("progress", true) {
			dropped++
		}
	}
	if dropped != 10 {
		t.Errorf("dropped %d droppable items past the bound, want 10", dropped)
	}
	if !m.Push("end", false) {
		t.Fatal("a non-droppable item was refused at the bound")
	}
	got := m.Take(nil)
	if len(got) != max+1 || got[len(got)-1] != "end" {
		t.Errorf("took %d items ending %q, want %d ending \"end\"", len(got), got[len(got)-1], max+1)
	}
	if !m.Push("progress", true) {
		t.Error("a droppable item was refused after Take emptied the backlog")
	}
}

func TestCloseReturnsTheRestAndRefusesMore(t *testing.T) {
	t.Parallel()
	m := New[string](8)
	m.Push("cancel", false)
	m.Push("progress", true)
	if left := m.Close(); !slices.Equal(left, []string{"cancel", "progress"}) {
		t.Errorf("Close = %v, want what was never taken", left)
	}
	if m.Push("late", false) {
		t.Error("Push after Close reported true")
	}
	if got := m.Take(nil); len(got) != 0 {
		t.Errorf("Take after Close = %v, want nothing", got)
	}
}
