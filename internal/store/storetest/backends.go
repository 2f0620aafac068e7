package storetest

import (
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/comfygate/comfygate/internal/job"
)

var backendTests = map[string]func(*testing.T, NewStore){
	"PutAndList":        backendPutAndList,
	"PutKeepsState":     backendPutKeepsState,
	"Add":               backendAdd,
	"Invalid":           backendInvalid,
	"Draining":          backendDraining,
	"Delete":            backendDelete,
	"Lease":             backendLease,
	"LeaseRenew":        backendLeaseRenew,
	"LeaseRelease":      backendLeaseRelease,
	"LeaseConcurrent":   backendLeaseConcurrent,
	"Heartbeat":         backendHeartbeat,
	"ClosedAndNotFound": backendClosed,
}

// backendStore returns a new store as a job.BackendStore: both SQL stores
// implement it.
func backendStore(t *testing.T, ns NewStore) job.BackendStore {
	t.Helper()
	s := ns(t)
	bs, ok := s.(job.BackendStore)
	if !ok {
		t.Fatalf("%T does not implement job.BackendStore", s)
	}
	return bs
}

func putBackend(tb testing.TB, s job.BackendStore, id, url string) *job.Backend {
	tb.Helper()
	b, err := s.PutBackend(tb.Context(), &job.Backend{ID: id, URL: url})
	if err != nil {
		tb.Fatalf("PutBackend(%s): %v", id, err)
	}
	return b
}

func listBackends(tb testing.TB, s job.BackendStore) []*job.Backend {
	tb.Helper()
	list, err := s.ListBackends(tb.Context())
	if err != nil {
		tb.Fatalf("ListBackends: %v", err)
	}
	return list
}

func backendIDs(list []*job.Backend) []string {
	out := []string{}
	for _, b := range list {
		out = append(out, b.ID)
	}
	return out
}

func acquire(tb testing.TB, s job.BackendStore, id, owner string, now, until int) bool {
	tb.Helper()
	ok, err := s.AcquireBackendLease(tb.Context(), id, owner, at(now), at(until))
	if err != nil {
		tb.Fatalf("AcquireBackendLease(%s, %s): %v", id, owner, err)
	}
	return ok
}

func backendPutAndList(t *testing.T, ns NewStore) {
	s := backendStore(t, ns)
	diff(t, "empty store", []string{}, backendIDs(listBackends(t, s)))
	b1 := putBackend(t, s, "gpu-1", "http://a:8188")
	b2, err := s.PutBackend(t.Context(), &job.Backend{ID: "gpu-0", URL: "http://b:8188", MaxInflight: 3})
	if err != nil {
		t.Fatal(err)
	}
	if b1.CreatedAt.IsZero() || !b1.UpdatedAt.Equal(b1.CreatedAt) || b1.Draining || b1.LeaseOwner != "" {
		t.Errorf("stored backend = %+v", b1)
	}
	diff(t, "listed in creation order", []*job.Backend{b1, b2}, listBackends(t, s), cmpopts.EquateEmpty())
	// A second put updates the address and the slots, and nothing else.
	again, err := s.PutBackend(t.Context(), &job.Backend{ID: "gpu-1", URL: "http://c:8188", MaxInflight: 4})
	if err != nil {
		t.Fatal(err)
	}
	if again.URL != "http://c:8188" || again.MaxInflight != 4 || !again.CreatedAt.Equal(b1.CreatedAt) {
		t.Errorf("updated backend = %+v", again)
	}
	diff(t, "still two", []string{"gpu-1", "gpu-0"}, backendIDs(listBackends(t, s)))
}

func backendPutKeepsState(t *testing.T, ns NewStore) {
	s := backendStore(t, ns)
	putBackend(t, s, "gpu-1", "http://a:8188")
	if err := s.SetBackendDraining(t.Context(), "gpu-1", true); err != nil {
		t.Fatal(err)
	}
	if !acquire(t, s, "gpu-1", "r1", 0, 15) {
		t.Fatal("lease of a free backend not acquired")
	}
	putBackend(t, s, "gpu-1", "http://a:8188")
	b := listBackends(t, s)[0]
	if !b.Draining || b.LeaseOwner != "r1" || !b.LeaseUntil.Equal(at(15)) {
		t.Errorf("a put lost the backend's state: %+v", b)
	}
	if !b.Leased(at(14)) || b.Leased(at(15)) {
		t.Errorf("Leased: at 14 %v, at 15 %v; want true, false", b.Leased(at(14)), b.Leased(at(15)))
	}
}

func backendAdd(t *testing.T, ns NewStore) {
	s := backendStore(t, ns)
	b, err := s.AddBackend(t.Context(), &job.Backend{ID: "gpu-1", URL: "http://a:8188", Draining: true, LeaseOwner: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if b.Draining || b.LeaseOwner != "" {
		t.Errorf("AddBackend kept state it must ignore: %+v", b)
	}
	_, err = s.AddBackend(t.Context(), &job.Backend{ID: "gpu-1", URL: "http://other:8188"})
	wantErr(t, "second add", err, job.ErrDuplicateID)
	if got := listBackends(t, s); len(got) != 1 || got[0].URL != "http://a:8188" {
		t.Errorf("after a refused add: %+v", got)
	}
}

func backendInvalid(t *testing.T, ns NewStore) {
	s := backendStore(t, ns)
	for name, b := range map[string]*job.Backend{
		"no id":             {URL: "http://a"},
		"no url":            {ID: "a"},
		"negative inflight": {ID: "a", URL: "http://a", MaxInflight: -1},
	} {
		_, err := s.PutBackend(t.Context(), b)
		wantErr(t, "put "+name, err, job.ErrInvalid)
		_, err = s.AddBackend(t.Context(), b)
		wantErr(t, "add "+name, err, job.ErrInvalid)
	}
	_, err := s.AcquireBackendLease(t.Context(), "a", "", at(0), at(1))
	wantErr(t, "lease without owner", err, job.ErrInvalid)
	_, err = s.Heartbeat(t.Context(), "", at(0), at(1))
	wantErr(t, "heartbeat without id", err, job.ErrInvalid)
}

func backendDraining(t *testing.T, ns NewStore) {
	s := backendStore(t, ns)
	putBackend(t, s, "gpu-1", "http://a:8188")
	for _, want := range []bool{true, false} {
		if err := s.SetBackendDraining(t.Context(), "gpu-1", want); err != nil {
			t.Fatal(err)
		}
		if got := listBackends(t, s)[0].Draining; got != want {
			t.Errorf("draining = %v, want %v", got, want)
		}
	}
	wantErr(t, "unknown backend", s.SetBackendDraining(t.Context(), "nope", true), job.ErrNotFound)
}

func backendDelete(t *testing.T, ns NewStore) {
	s := backendStore(t, ns)
	putBackend(t, s, "gpu-1", "http://a:8188")
	putBackend(t, s, "gpu-2", "http://b:8188")
	acquire(t, s, "gpu-1", "r1", 0, 15)
	if err := s.DeleteBackend(t.Context(), "gpu-1"); err != nil {
		t.Fatal(err)
	}
	diff(t, "left", []string{"gpu-2"}, backendIDs(listBackends(t, s)))
	wantErr(t, "second delete", s.DeleteBackend(t.Context(), "gpu-1"), job.ErrNotFound)
	// The lease went with it: a new backend of that id is free.
	putBackend(t, s, "gpu-1", "http://a:8188")
	if !acquire(t, s, "gpu-1", "r2", 1, 16) {
		t.Error("the lease of a deleted backend outlived it")
	}
}

func backendLease(t *testing.T, ns NewStore) {
	s := backendStore(t, ns)
	putBackend(t, s, "gpu-1", "http://a:8188")
	steps := []struct {
		name       string
		owner      string
		now, until int
		want       bool
	}{
		{"a free lease is taken", "r1", 0, 15, true},
		{"a held lease is refused", "r2", 5, 20, false},
		{"its holder renews it", "r1", 10, 25, true},
		{"still held just before it lapses", "r2", 24, 39, false},
		{"a lapsed lease is taken over", "r2", 25, 40, true},
		{"the old holder cannot take it back", "r1", 26, 41, false},
	}
	for _, st := range steps {
		if got := acquire(t, s, "gpu-1", st.owner, st.now, st.until); got != st.want {
			t.Errorf("%s: acquire = %v, want %v", st.name, got, st.want)
		}
	}
	b := listBackends(t, s)[0]
	if b.LeaseOwner != "r2" || !b.LeaseUntil.Equal(at(40)) {
		t.Errorf("lease = %s until %v, want r2 until %v", b.LeaseOwner, b.LeaseUntil, at(40))
	}
	if acquire(t, s, "unknown", "r1", 0, 15) {
		t.Error("the lease of an unknown backend was acquired")
	}
}

func backendLeaseRenew(t *testing.T, ns NewStore) {
	s := backendStore(t, ns)
	for _, id := range []string{"c", "a", "b"} {
		putBackend(t, s, id, "http://"+id)
	}
	acquire(t, s, "c", "r1", 0, 15)
	acquire(t, s, "a", "r1", 0, 15)
	acquire(t, s, "b", "r2", 0, 15)
	renew := func(owner string, now, until int) []string {
		ids, err := s.RenewBackendLeases(t.Context(), owner, at(now), at(until))
		if err != nil {
			t.Fatal(err)
		}
		return append([]string{}, ids...)
	}
	diff(t, "r1 renews its two, sorted", []string{"a", "c"}, renew("r1", 5, 20))
	diff(t, "r2 renews its one", []string{"b"}, renew("r2", 5, 20))
	// r1 stops renewing; its leases lapse and r3 takes one over.
	if !acquire(t, s, "a", "r3", 20, 35) {
		t.Fatal("a lapsed lease was not taken over")
	}
	// r1 renews the one nobody took (nobody drove it meanwhile), not the
	// one r3 holds now.
	diff(t, "r1 renews what is still its own", []string{"c"}, renew("r1", 21, 36))
	if acquire(t, s, "c", "r3", 22, 37) {
		t.Error("a lease renewed after it lapsed was taken over")
	}
	diff(t, "r3's", []string{"a"}, renew("r3", 22, 37))
}

func backendLeaseRelease(t *testing.T, ns NewStore) {
	s := backendStore(t, ns)
	for _, id := range []string{"a", "b", "c"} {
		putBackend(t, s, id, "http://"+id)
		acquire(t, s, id, "r1", 0, 15)
	}
	if err := s.ReleaseBackendLeases(t.Context(), "r2", "a"); err != nil {
		t.Fatal(err)
	}
	if acquire(t, s, "a", "r2", 1, 16) {
		t.Error("a release by another owner freed the lease")
	}
	if err := s.ReleaseBackendLeases(t.Context(), "r1", "a"); err != nil {
		t.Fatal(err)
	}
	if !acquire(t, s, "a", "r2", 1, 16) {
		t.Error("a released lease is not free at once")
	}
	if acquire(t, s, "b", "r2", 1, 16) {
		t.Error("releasing one lease freed another")
	}
	if err := s.ReleaseBackendLeases(t.Context(), "r1"); err != nil {
		t.Fatal(err)
	}
	for _, b := range listBackends(t, s) {
		if b.ID != "a" && b.Leased(at(1)) {
			t.Errorf("backend %s still leased to %s after releasing all", b.ID, b.LeaseOwner)
		}
	}
}

func backendLeaseConcurrent(t *testing.T, ns NewStore) {
	s := backendStore(t, ns)
	putBackend(t, s, "gpu-1", "http://a:8188")
	const n = 8
	var (
		wg  sync.WaitGroup
		won = make(chan string, n)
	)
	for i := range n {
		wg.Go(func() {
			owner := name("r", i)
			ok, err := s.AcquireBackendLease(t.Context(), "gpu-1", owner, at(0), at(15))
			if err != nil {
				t.Error(err)
			}
			if ok {
				won <- owner
			}
		})
	}
	wg.Wait()
	close(won)
	var winners []string
	for w := range won {
		winners = append(winners, w)
	}
	if len(winners) != 1 {
		t.Fatalf("%d replicas acquired one lease: %v", len(winners), winners)
	}
	if got := listBackends(t, s)[0].LeaseOwner; got != winners[0] {
		t.Errorf("lease owner = %s, want the winner %s", got, winners[0])
	}
}

func backendHeartbeat(t *testing.T, ns NewStore) {
	s := backendStore(t, ns)
	beat := func(id string, now, until int) []string {
		live, err := s.Heartbeat(t.Context(), id, at(now), at(until))
		if err != nil {
			t.Fatal(err)
		}
		return append([]string{}, live...)
	}
	diff(t, "alone", []string{"r2"}, beat("r2", 0, 15))
	diff(t, "two, sorted", []string{"r1", "r2"}, beat("r1", 1, 16))
	diff(t, "r2 again", []string{"r1", "r2"}, beat("r2", 10, 25))
	// r1 stopped beating: at 16 it is gone.
	diff(t, "r1 lapsed", []string{"r2"}, beat("r2", 16, 31))
	diff(t, "r1 back", []string{"r1", "r2"}, beat("r1", 17, 32))
	if err := s.Leave(t.Context(), "r1"); err != nil {
		t.Fatal(err)
	}
	diff(t, "r1 left", []string{"r2"}, beat("r2", 18, 33))
}

func backendClosed(t *testing.T, ns NewStore) {
	s := backendStore(t, ns)
	if err := s.(job.Store).Close(); err != nil {
		t.Fatal(err)
	}
	_, err := s.ListBackends(t.Context())
	wantErr(t, "list after close", err, job.ErrClosed)
	_, err = s.PutBackend(t.Context(), &job.Backend{ID: "a", URL: "http://a"})
	wantErr(t, "put after close", err, job.ErrClosed)
	_, err = s.AcquireBackendLease(t.Context(), "a", "r1", at(0), at(1))
	wantErr(t, "acquire after close", err, job.ErrClosed)
	_, err = s.Heartbeat(t.Context(), "r1", at(0), at(1))
	wantErr(t, "heartbeat after close", err, job.ErrClosed)
}
