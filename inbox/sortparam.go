package inbox

import (
	"net/http"
	"strings"

	"github.com/switchboard-hub/switchboard/store"
)

// listSorts are the sort= values of /api/v1/conversations and
// /api/v1/inbox (absent: latest activity first).
var listSorts = []string{store.SortSLADue, store.SortPriority}

// badSort answers 400 naming the allowed values when r's sort= is unknown,
// and reports whether it did.
func badSort(w http.ResponseWriter, r *http.Request) bool {
	v := r.URL.Query().Get("sort")
	if v == "" {
		return false
	}
	for _, s := range listSorts {
		if v == s {
			return false
		}
	}
	writeError(w, http.StatusBadRequest, "bad_input", "sort must be one of: "+strings.Join(listSorts, ", ")+" (or absent: latest activity first)")
	return true
}
