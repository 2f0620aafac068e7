package fleet

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func cand(id, owner string, prio int, seq int64) *Candidate {
	return &Candidate{ID: id, Owner: owner, Priority: prio, Seq: seq}
}

// drain pops everything accept takes, in order.
func drain(p Policy, accept func(*Candidate) bool) []string {
	var ids []string
	for c := p.Pop(accept); c != nil; c = p.Pop(accept) {
		ids = append(ids, c.ID)
	}
	return ids
}

func all(*Candidate) bool { return true }

func TestFairPolicyOrder(t *testing.T) {
	tests := []struct {
		name string
		push []*Candidate
		want []string
	}{
		{
			name: "fifo within one owner",
			push: []*Candidate{cand("b", "x", 0, 2), cand("a", "x", 0, 1), cand("c", "x", 0, 3)},
			want: []string{"a", "b", "c"},
		},
		{
			name: "priority first",
			push: []*Candidate{cand("low", "x", 0, 1), cand("high", "y", 5, 2), cand("mid", "z", 1, 3)},
			want: []string{"high", "mid", "low"},
		},
		{
			name: "owners take turns so one backlog does not starve another",
			push: []*Candidate{
				cand("a1", "a", 0, 1), cand("a2", "a", 0, 2), cand("a3", "a", 0, 3), cand("a4", "a", 0, 4),
				cand("b1", "b", 0, 5), cand("c1", "c", 0, 6), cand("c2", "c", 0, 7),
			},
			want: []string{"a1", "b1", "c1", "a2", "c2", "a3", "a4"},
		},
		{
			name: "turns are per priority",
			push: []*Candidate{
				cand("a1", "a", 0, 1), cand("a2", "a", 0, 2), cand("b1", "b", 0, 3),
				cand("ha", "a", 9, 4), cand("hb", "b", 9, 5),
			},
			want: []string{"ha", "hb", "a1", "b1", "a2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewFairPolicy()
			for _, c := range tt.push {
				p.Push(c)
			}
			if diff := cmp.Diff(tt.want, drain(p, all)); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
			if p.Len() != 0 {
				t.Errorf("Len = %d after draining", p.Len())
			}
		})
	}
}

// A new owner joins at the tail of the rotation, as in deficit round
// robin: everyone already waiting gets one more turn first.
func TestFairPolicyNewOwnerJoinsAtTail(t *testing.T) {
	p := NewFairPolicy()
	for i := range 3 {
		p.Push(cand(fmt.Sprint("a", i), "a", 0, int64(i)))
		p.Push(cand(fmt.Sprint("b", i), "b", 0, int64(10+i)))
	}
	got := []string{p.Pop(all).ID} // a0; b is due next
	p.Push(cand("c0", "c", 0, 100))
	got = append(got, drain(p, all)...)
	want := []string{"a0", "b0", "a1", "c0", "b1", "a2", "b2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestFairPolicySkipsUnplaceable(t *testing.T) {
	p := NewFairPolicy()
	p.Push(cand("big", "a", 5, 1)) // needs a model no free backend has
	p.Push(cand("a2", "a", 0, 2))
	p.Push(cand("b1", "b", 0, 3))
	notBig := func(c *Candidate) bool { return c.ID != "big" }
	if diff := cmp.Diff([]string{"a2", "b1"}, drain(p, notBig)); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if !p.Has("big") || p.Len() != 1 {
		t.Errorf("the unplaceable job must stay queued; Has=%v Len=%d", p.Has("big"), p.Len())
	}
}

func TestFairPolicyRemoveAndReplace(t *testing.T) {
	p := NewFairPolicy()
	p.Push(cand("a", "x", 0, 1))
	p.Push(cand("b", "x", 0, 2))
	p.Push(cand("c", "y", 0, 3))
	if !p.Remove("b") || p.Remove("b") {
		t.Fatal("Remove must report presence exactly once")
	}
	p.Push(cand("a", "x", 3, 1)) // re-pushed with a new priority
	if diff := cmp.Diff([]string{"a", "c"}, drain(p, all)); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

// TestFairPolicyPositionMatchesPopOrder checks the position estimate
// against what Pop really does, on random pools.
func TestFairPolicyPositionMatchesPopOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		p := NewFairPolicy()
		n := 1 + rng.IntN(40)
		for i := range n {
			p.Push(cand(fmt.Sprint("j", i), fmt.Sprint("o", rng.IntN(4)), rng.IntN(3), int64(i)))
		}
		for range rng.IntN(n) { // advance the turns a little
			p.Pop(all)
		}
		want := map[string]int{}
		for _, id := range p.IDs() {
			pos, ok := p.Position(id)
			if !ok {
				t.Fatalf("round %d: Position(%s) not found", round, id)
			}
			want[id] = pos
		}
		got := map[string]int{}
		for i, id := range drain(p, all) {
			got[id] = i
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("round %d: positions (-estimated +actual):\n%s", round, diff)
		}
	}
}

func TestFairPolicyPositionUnknown(t *testing.T) {
	if _, ok := NewFairPolicy().Position("nope"); ok {
		t.Error("Position of an unknown id must report false")
	}
}

// BenchmarkFairPolicyPop measures one dispatch decision over a backlog of
// 100,000 jobs from 100 owners.
func BenchmarkFairPolicyPop(b *testing.B) {
	p := NewFairPolicy()
	seq := int64(0)
	push := func() {
		seq++
		p.Push(cand(fmt.Sprint("j", seq), fmt.Sprint("o", seq%100), int(seq%3), seq))
	}
	for range 100_000 {
		push()
	}
	b.ResetTimer()
	for range b.N {
		if p.Pop(all) == nil {
			b.Fatal("empty")
		}
		push()
	}
}
