package inbox

import "net/http"

// writeAccepted answers 202 {"id":ID,"status":"accepted"} (the api
// channel's answer) without a map and a JSON encoder per request: message
// ids are "m_" and hex, which need no escaping; any other id goes through
// writeJSON.
func writeAccepted(w http.ResponseWriter, id string) {
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			writeJSON(w, http.StatusAccepted, map[string]string{"id": id, "status": "accepted"})
			return
		}
	}
	var buf [96]byte
	b := append(buf[:0], `{"id":"`...)
	b = append(b, id...)
	b = append(b, "\",\"status\":\"accepted\"}\n"...)
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusAccepted)
	w.Write(b)
}

var jsonContentType = []string{"application/json"}
