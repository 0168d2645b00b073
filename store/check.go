package store

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ErrInvalid: a record a caller passed lacks what every backend needs (a tenant, a name, a
// run's Seq...). The wrapping error names the record and the field.
var ErrInvalid = errors.New("invalid record")

// CheckKey reports an empty tenant or name, wrapping ErrInvalid.
func CheckKey(k Key) error {
	switch {
	case k.Tenant == "":
		return fmt.Errorf("task %q: %w: empty tenant", k.Name, ErrInvalid)
	case k.Name == "":
		return fmt.Errorf("task of tenant %q: %w: empty name", k.Tenant, ErrInvalid)
	}
	return nil
}

// CheckTask reports what makes t unstorable, wrapping ErrInvalid: a nil task, an empty key,
// a Spec that is present but not JSON.
func CheckTask(t *Task) error {
	if t == nil {
		return fmt.Errorf("%w: nil task", ErrInvalid)
	}
	if err := CheckKey(t.Key); err != nil {
		return err
	}
	if len(t.Spec) > 0 && !json.Valid(t.Spec) {
		return fmt.Errorf("task %s/%s: %w: spec is not valid JSON", t.Tenant, t.Name, ErrInvalid)
	}
	return nil
}

// CheckRun reports what makes r unstorable, wrapping ErrInvalid: a nil run, an empty tenant,
// task or task uid, a zero Seq.
func CheckRun(r *Run) error {
	switch {
	case r == nil:
		return fmt.Errorf("%w: nil run", ErrInvalid)
	case r.Tenant == "" || r.Task == "":
		return fmt.Errorf("run of task %s/%s: %w: empty tenant or task", r.Tenant, r.Task, ErrInvalid)
	case r.TaskUID == "":
		return fmt.Errorf("run of task %s/%s: %w: empty task uid", r.Tenant, r.Task, ErrInvalid)
	case r.Seq == 0:
		return fmt.Errorf("run of task %s/%s: %w: Seq is 0 (runs number from 1)", r.Tenant, r.Task, ErrInvalid)
	}
	return nil
}

// CheckRunOf reports what makes t and r unstorable together, wrapping ErrInvalid:
// CheckTask's and CheckRun's reasons, or r naming another task.
func CheckRunOf(t *Task, r *Run) error {
	if err := CheckTask(t); err != nil {
		return err
	}
	if err := CheckRun(r); err != nil {
		return err
	}
	if r.Tenant != t.Tenant || r.Task != t.Name {
		return fmt.Errorf("run of task %s/%s: %w: stored with task %s/%s", r.Tenant, r.Task, ErrInvalid, t.Tenant, t.Name)
	}
	return nil
}

// CheckPrecondition checks a conditional write's expected uid and revision ("" and 0: any)
// against the stored task cur: ErrConflict, naming what differs, when one does not match.
func CheckPrecondition(cur *Task, uid string, want Revision) error {
	if uid != "" && uid != cur.UID {
		return fmt.Errorf("task %s/%s: %w: uid is %s, not %s", cur.Tenant, cur.Name, ErrConflict, cur.UID, uid)
	}
	if want != 0 && want != cur.ResourceVersion {
		return fmt.Errorf("task %s/%s: %w: revision is %d, not %d", cur.Tenant, cur.Name, ErrConflict, cur.ResourceVersion, want)
	}
	return nil
}
