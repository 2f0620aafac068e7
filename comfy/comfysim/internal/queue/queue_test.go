package queue

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func numbers(h *Heap[int]) []float64 {
	var out []float64
	for _, it := range h.Items() {
		out = append(out, it.Number)
	}
	return out
}

// The layouts below were produced with CPython's heapq for the same sequence
// of operations.
func TestHeapMatchesHeapq(t *testing.T) {
	h := &Heap[int]{}
	// Capture 15: running 38, then pushes of 39, 7.5, -40.
	for _, n := range []float64{39, 7.5, -40} {
		h.Push(Item[int]{Number: n, PromptID: fmt.Sprint(n)})
	}
	if diff := cmp.Diff([]float64{-40, 39, 7.5}, numbers(h)); diff != "" {
		t.Errorf("after pushes (-want +got):\n%s", diff)
	}

	h.Clear()
	for _, n := range []float64{5, 3, 8, 1, 9, 2, 7} {
		h.Push(Item[int]{Number: n})
	}
	// heapq: [1, 3, 2, 5, 9, 8, 7]
	if diff := cmp.Diff([]float64{1, 3, 2, 5, 9, 8, 7}, numbers(h)); diff != "" {
		t.Errorf("pushes (-want +got):\n%s", diff)
	}
	it, _ := h.Pop()
	if it.Number != 1 {
		t.Errorf("pop = %v, want 1", it.Number)
	}
	// heapq after heappop: [2, 3, 7, 5, 9, 8]
	if diff := cmp.Diff([]float64{2, 3, 7, 5, 9, 8}, numbers(h)); diff != "" {
		t.Errorf("after pop (-want +got):\n%s", diff)
	}
	removed, wiped := h.DeleteFirst(func(it Item[int]) bool { return it.Number == 3 })
	if !removed || wiped {
		t.Fatalf("DeleteFirst = %v, %v", removed, wiped)
	}
	// list.pop(1) then heapify: [2, 7, 5, 9, 8]
	if diff := cmp.Diff([]float64{2, 7, 5, 9, 8}, numbers(h)); diff != "" {
		t.Errorf("after delete (-want +got):\n%s", diff)
	}
}

func TestHeapTieBreaksOnPromptID(t *testing.T) {
	h := &Heap[int]{}
	for _, id := range []string{"c", "a", "b"} {
		h.Push(Item[int]{Number: 1, PromptID: id})
	}
	var got []string
	for h.Len() > 0 {
		it, _ := h.Pop()
		got = append(got, it.PromptID)
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestHeapDeleteLastWipes(t *testing.T) {
	h := &Heap[int]{}
	h.Push(Item[int]{Number: 1, PromptID: "x"})
	removed, wiped := h.DeleteFirst(func(it Item[int]) bool { return it.PromptID == "x" })
	if !removed || !wiped || h.Len() != 0 {
		t.Fatalf("removed=%v wiped=%v len=%d", removed, wiped, h.Len())
	}
	if removed, _ := h.DeleteFirst(func(Item[int]) bool { return true }); removed {
		t.Error("delete on empty heap removed something")
	}
}

func ptr(i int) *int { return &i }

func TestHistoryPage(t *testing.T) {
	h := NewHistory[int](0)
	for i := 1; i <= 10; i++ {
		h.Put(fmt.Sprint(i), i)
	}
	tests := []struct {
		name     string
		maxItems *int
		offset   int
		want     []int
	}{
		{"all", nil, -1, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"max_items=3 newest", ptr(3), -1, []int{8, 9, 10}},
		{"offset=2", nil, 2, []int{3, 4, 5, 6, 7, 8, 9, 10}},
		{"offset=2 max_items=3", ptr(3), 2, []int{3, 4, 5}},
		{"offset=10", nil, 10, nil},
		{"max_items=0", ptr(0), -1, nil},
		{"max_items=20", ptr(20), -1, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"offset=0 max_items=0 quirk", ptr(0), 0, []int{1}},
		{"negative offset", nil, -5, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"max_items=1 offset=0", ptr(1), 0, []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			for _, e := range h.Page(tt.maxItems, tt.offset) {
				got = append(got, e.Value)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestHistoryReplaceKeepsPosition(t *testing.T) {
	h := NewHistory[string](0)
	h.Put("a", "1")
	h.Put("b", "2")
	h.Put("a", "3")
	got := h.All()
	want := []Entry[string]{{"a", "3"}, {"b", "2"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	h.Delete("a")
	if _, ok := h.Get("a"); ok || h.Len() != 1 {
		t.Error("delete failed")
	}
}

func TestHistoryCap(t *testing.T) {
	h := NewHistory[int](3)
	for i := 0; i < 6; i++ {
		h.Put(fmt.Sprint(i), i)
	}
	// ComfyUI keeps max+1 entries: it checks the size before inserting.
	var got []string
	for _, e := range h.All() {
		got = append(got, e.ID)
	}
	if diff := cmp.Diff([]string{"2", "3", "4", "5"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
