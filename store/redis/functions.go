package redis

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	goredis "github.com/redis/go-redis/v9"
)

// The hub's Redis Functions library (issue 23): the hot path's server-side
// code, loaded by the hub and versioned, so a call names a function instead
// of a script hash and a server that lost its script cache needs no
// re-send of the body. A function's name carries its version
// (sb_append_v1): a changed function gets a new name, and the library
// keeps the old names while hubs of an older version may still run.
//
// Loading: on first use the store asks the library its version (FCALL
// sb_version) and loads its own with FUNCTION LOAD REPLACE only when the
// server has none or an older one, so a replica of an older version never
// replaces a newer library in a rolling upgrade. A function the server
// does not have (a newer library without it, FUNCTION FLUSH, a restart
// without persistence, Redis < 7, functions refused by ACL) falls back to
// the same code as a script (EVALSHA): the library is an optimisation,
// never a dependency.

// libraryVersion is this hub's library version; raise it with any change
// of a function (and rename the function).
const libraryVersion = 5

var library = "#!lua name=switchboard\n" +
	"redis.register_function{function_name='sb_version', callback=function() return " + strconv.Itoa(libraryVersion) + " end, flags={'no-writes'}}\n" +
	"redis.register_function('sb_append_v1', function(KEYS, ARGV)\n" + conversationHelpers + oneStepBodyV1 + "\nend)\n" +
	"redis.register_function('sb_append_v2', function(KEYS, ARGV)\n" + conversationHelpers + oneStepBodyV2 + "\nend)\n" +
	"redis.register_function('sb_append_v3', function(KEYS, ARGV)\n" + conversationHelpers + oneStepBodyV3 + "\nend)\n" +
	"redis.register_function('sb_append_v4', function(KEYS, ARGV)\n" + conversationHelpers + oneStepBodyV4 + "\nend)\n" +
	"redis.register_function('sb_append_v5', function(KEYS, ARGV)\n" + conversationHelpers + oneStepBody + "\nend)\n"

// functions tracks whether the library is usable on this store's server.
type functions struct {
	loaded atomic.Bool // the server has a library with this hub's functions
	off    atomic.Bool // functions are not available: scripts only
	newer  atomic.Bool // the server's library is a newer hub's
	mu     sync.Mutex  // held while asking the server
}

// ensureLibrary loads the library unless the server has this version or a
// newer one. false: use scripts.
func (s *Store) ensureLibrary(ctx context.Context) bool {
	f := &s.fns
	if f.loaded.Load() {
		return true // the hot path: no lock
	}
	if f.off.Load() {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.loaded.Load() || f.off.Load() {
		return f.loaded.Load()
	}
	v, err := s.c.FCall(ctx, "sb_version", nil).Int()
	if err == nil && v >= libraryVersion {
		f.newer.Store(v > libraryVersion)
		f.loaded.Store(true)
		return true
	}
	if err != nil && !isFunctionMissing(err) {
		if isScriptRefused(err) {
			f.off.Store(true)
		}
		return false // a failed call: ask again next time
	}
	if err := s.c.FunctionLoadReplace(ctx, library).Err(); err != nil {
		if ctx.Err() == nil {
			f.off.Store(isScriptRefused(err) || strings.Contains(err.Error(), "unknown"))
			s.log.Warn("store/redis: loading the functions library failed; using scripts", "err", err)
		}
		return false
	}
	f.loaded.Store(true)
	return true
}

// fcall runs function name (falling back to script, the same code) with
// keys and args.
func (s *Store) fcall(ctx context.Context, name string, script *goredis.Script, keys []string, args ...any) *goredis.Cmd {
	if s.ensureLibrary(ctx) {
		cmd := s.c.FCall(ctx, name, keys, args...)
		if err := cmd.Err(); err == nil || !isFunctionMissing(err) {
			return cmd
		}
		// A newer library without it: scripts from now on. Otherwise gone
		// since it was loaded (FUNCTION FLUSH, a restart without
		// persistence): load it again next time.
		if s.fns.newer.Load() {
			s.fns.off.Store(true)
		}
		s.fns.loaded.Store(false)
	}
	return script.Run(ctx, s.c, keys, args...)
}

func isFunctionMissing(err error) bool {
	return strings.Contains(err.Error(), "Function not found") || strings.Contains(err.Error(), "function not found")
}
