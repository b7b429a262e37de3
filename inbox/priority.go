package inbox

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/switchboard-hub/switchboard/store"
)

// priorityHint is the 400 message for an unknown priority value.
func priorityHint(what, v string) string {
	return fmt.Sprintf("%s %q is not a priority; it must be one of: none, %s", what, v, strings.Join(store.Priorities, ", "))
}

// badPriority answers 400 when r's priority= filter is not a priority
// (none selects the conversations without one), or a sort=priority cursor
// is not one, and reports whether it did.
func badPriority(w http.ResponseWriter, r *http.Request) bool {
	q := r.URL.Query()
	if v := q.Get("priority"); v != "" {
		if _, ok := store.ParsePriority(v); !ok {
			writeError(w, http.StatusBadRequest, "bad_input", priorityHint("priority filter", v))
			return true
		}
	}
	if q.Get("sort") == store.SortPriority && q.Get("before") != "" {
		if _, _, err := store.ParsePriorityCursor(q.Get("before")); err != nil {
			writeError(w, http.StatusBadRequest, "bad_input", "before is not a cursor of sort=priority (use the list's next)")
			return true
		}
	}
	return false
}
