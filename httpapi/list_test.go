package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/solti-wasm/solti-wasm/httpapi"
	"github.com/solti-wasm/solti-wasm/store"
)

func list(t *testing.T, e *env, token, query string) httpapi.TaskList {
	t.Helper()
	resp, b := e.do("GET", tasks+"?"+query, token, "", nil)
	wantCode(t, resp, b, http.StatusOK)
	var l httpapi.TaskList
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatal(err)
	}
	return l
}

func names(l httpapi.TaskList) string {
	var ns []string
	for _, it := range l.Items {
		ns = append(ns, it.Metadata.Name)
	}
	return strings.Join(ns, ",")
}

func seed(t *testing.T, e *env) {
	t.Helper()
	for i := range 7 {
		slot := "even"
		if i%2 == 1 {
			slot = "odd"
		}
		labels := map[string]string{"n": fmt.Sprint(i)}
		if i < 3 {
			labels["tier"] = "front"
		}
		resp, b := e.do("POST", tasks, tokenA, jsonCT, manifest(fmt.Sprintf("t%d", i), slot, labels))
		wantCode(t, resp, b, http.StatusCreated)
	}
	e.f.setPhase(store.Key{Tenant: "a", Name: "t1"}, store.PhaseRunning, 1)
	e.f.setPhase(store.Key{Tenant: "a", Name: "t2"}, store.PhaseSucceeded, 1)
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Options{})
	seed(t, e)
	for _, c := range []struct{ query, want string }{
		{"", "t0,t1,t2,t3,t4,t5,t6"},
		{"slot=odd", "t1,t3,t5"},
		{"phase=running&phase=succeeded", "t1,t2"},
		{"phase=running,pending&slot=even", "t0,t4,t6"},
		{"labelSelector=" + url.QueryEscape("tier=front"), "t0,t1,t2"},
		{"labelSelector=" + url.QueryEscape("tier==front,n!=1"), "t0,t2"},
		{"labelSelector=" + url.QueryEscape("n in (3, 5),!tier"), "t3,t5"},
		{"labelSelector=" + url.QueryEscape("n notin (0,1,2,3),tier"), ""},
		{"labelSelector=" + url.QueryEscape("tier"), "t0,t1,t2"},
		{"limit=0", "t0,t1,t2,t3,t4,t5,t6"},
	} {
		if got := names(list(t, e, tokenA, c.query)); got != c.want {
			t.Errorf("?%s: got %q, want %q", c.query, got, c.want)
		}
	}
	// The other tenant sees none of them.
	if got := names(list(t, e, tokenB, "")); got != "" {
		t.Errorf("tenant b sees %q", got)
	}
	for _, c := range []struct{ query, want string }{
		{"limit=1001", "over the maximum of 1000"},
		{"limit=-1", "limit"},
		{"limit=x", "limit"},
		{"phase=sleeping", `phase "sleeping"`},
		{"slot=..", "slot"},
		{"labelSelector=" + url.QueryEscape("a in b"), "'('"},
		{"labelSelector=" + url.QueryEscape("BAD KEY=1"), "want an operator"},
		{"labelSelector=" + url.QueryEscape("bad/key/x=1"), "invalid label key"},
		{"labelSelector=" + url.QueryEscape("a=b c"), "want ','"},
		{"labelSelector=" + url.QueryEscape("a=-x"), "invalid label value"},
		{"limit=1&limit=2", "given 2 times"},
		{"watch=maybe", "watch"},
		{"resourceVersion=3", "apply to a watch"},
		{"watch=true&limit=3", "a watch"},
		{"continue=abc", "invalid continue token"},
	} {
		resp, b := e.do("GET", tasks+"?"+c.query, tokenA, "", nil)
		st := status(t, resp, b, http.StatusBadRequest, httpapi.ReasonBadRequest)
		if !strings.Contains(st.Message, c.want) {
			t.Errorf("?%s: message %q does not say %q", c.query, st.Message, c.want)
		}
	}
}

func TestListPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Options{})
	seed(t, e)
	var all []string
	query := "limit=3&slot=even"
	page := list(t, e, tokenA, query)
	if page.Metadata.RemainingItemCount == nil || *page.Metadata.RemainingItemCount != 1 || page.Metadata.Continue == "" {
		t.Fatalf("first page metadata %+v", page.Metadata)
	}
	rv := page.Metadata.ResourceVersion
	all = append(all, names(page))
	for page.Metadata.Continue != "" {
		tok := page.Metadata.Continue
		page = list(t, e, tokenA, query+"&continue="+url.QueryEscape(tok))
		if page.Metadata.ResourceVersion != rv {
			t.Fatalf("a continued page reports revision %s, the listing began at %s", page.Metadata.ResourceVersion, rv)
		}
		all = append(all, names(page))
	}
	if got := strings.Join(all, "|"); got != "t0,t2,t4|t6" {
		t.Fatalf("pages %q", got)
	}

	first := list(t, e, tokenA, query)
	tok := first.Metadata.Continue
	bad := func(q, why string) {
		t.Helper()
		resp, b := e.do("GET", tasks+"?"+q, tokenA, "", nil)
		st := status(t, resp, b, http.StatusBadRequest, httpapi.ReasonBadRequest)
		if !strings.Contains(st.Message, "continue") {
			t.Errorf("%s: %q", why, st.Message)
		}
	}
	// Tampered: one character of the payload changed.
	tampered := []byte(tok)
	tampered[3] ^= 1
	bad(query+"&continue="+url.QueryEscape(string(tampered)), "tampered")
	bad("limit=3&slot=odd&continue="+url.QueryEscape(tok), "other filters")
	// Another tenant's use of the token: refused, not read.
	resp, b := e.do("GET", tasks+"?"+query+"&continue="+url.QueryEscape(tok), tokenB, "", nil)
	status(t, resp, b, http.StatusBadRequest, httpapi.ReasonBadRequest)

	// Expired: the store no longer holds the revision the listing began at.
	e.f.compact()
	resp, b = e.do("GET", tasks+"?"+query+"&continue="+url.QueryEscape(tok), tokenA, "", nil)
	status(t, resp, b, http.StatusGone, httpapi.ReasonExpired)
}

func TestContinueTokenSurvivesWithKey(t *testing.T) {
	t.Parallel()
	// Two handlers with one ContinueKey accept each other's tokens (a restarted server).
	key := []byte("0123456789abcdef0123456789abcdef")
	e1 := newEnv(t, httpapi.Options{ContinueKey: key})
	e2 := newEnv(t, httpapi.Options{ContinueKey: key})
	seed(t, e1)
	seed(t, e2)
	tok := list(t, e1, tokenA, "limit=2").Metadata.Continue
	if got := names(list(t, e2, tokenA, "limit=2&continue="+url.QueryEscape(tok))); got != "t2,t3" {
		t.Fatalf("second page from the other server: %q", got)
	}
}

// recorder collects the validator's complaints.
type complaints struct{ msgs []string }

func (c *complaints) Helper() {}
func (c *complaints) Errorf(format string, args ...any) {
	c.msgs = append(c.msgs, fmt.Sprintf(format, args...))
}

// TestValidatorCatchesDrift: a response the document does not describe is reported, so a
// handler change without a document change fails the tests.
func TestValidatorCatchesDrift(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Options{})
	req, _ := http.NewRequest("GET", e.srv.URL+tasks+"/x", nil)
	for _, c := range []struct {
		name string
		code int
		body string
	}{
		{"task without status", 200, `{"apiVersion":"solti.io/v1","kind":"Task","metadata":{"name":"x","uid":"u","resourceVersion":"1","generation":1,"creationTimestamp":"2026-12-01T10:00:00Z"},"spec":{}}`},
		{"undeclared status", 418, `{"apiVersion":"v1","kind":"Status","metadata":{},"status":"Failure","message":"m","reason":"BadRequest","code":418}`},
		{"error not a Status", 404, `{"error":"TaskNotFound"}`},
	} {
		var got complaints
		resp := &http.Response{StatusCode: c.code, Header: http.Header{"Content-Type": {jsonCT}}}
		(&validating{t: &got}).check(req, resp, []byte(c.body))
		if len(got.msgs) == 0 {
			t.Errorf("%s: not reported", c.name)
		}
	}
}
