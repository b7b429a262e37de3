package redis

import (
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

// The append function's versions, as each was shipped (v1 in 14eaf09, v2
// in 302e477, v3 in 2c6edd1, v4 on branch h23act, v5 on branch h21fold). A function never changes under
// its name: hubs of different versions call it during a rolling upgrade.
const (
	shippedAppendV1 = `
local o = redis.call('SET', KEYS[5], ARGV[10], 'NX', 'GET')
if o and o ~= ARGV[10] then return {3, o} end
local e = redis.call('HGET', KEYS[3], ARGV[7])
if e then return {0, e} end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur ~= ARGV[2] then
  if not cur and not o then redis.call('DEL', KEYS[5]) end
  return {2, cur}
end
if storeConversation(ARGV[1], ARGV[3], ARGV[4], ARGV[5], ARGV[6]) ~= 1 then return {-1, ''} end
redis.call('HSET', KEYS[3], ARGV[7], ARGV[8])
redis.call('ZADD', KEYS[4], 0, ARGV[9])
redis.call('ZADD', KEYS[6], 0, ARGV[11])
if ARGV[12] ~= ARGV[11] then redis.call('ZREM', KEYS[6], ARGV[12]) end
return {1, ''}
`

	shippedAppendV2 = `
local o = redis.call('SET', KEYS[5], ARGV[10], 'NX', 'GET')
if o and o ~= ARGV[10] then return {3, o} end
if o then
  local e = redis.call('HGET', KEYS[3], ARGV[7])
  if e then return {0, e} end
end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur ~= ARGV[2] then
  if not cur and not o then redis.call('DEL', KEYS[5]) end
  return {2, cur}
end
if storeConversation(ARGV[1], ARGV[3], ARGV[4], ARGV[5], ARGV[6]) ~= 1 then return {-1, ''} end
redis.call('HSET', KEYS[3], ARGV[7], ARGV[8])
redis.call('ZADD', KEYS[4], 0, ARGV[9])
redis.call('ZADD', KEYS[6], 0, ARGV[11])
if ARGV[12] ~= ARGV[11] then redis.call('ZREM', KEYS[6], ARGV[12]) end
return {1, ''}
`

	shippedAppendV3 = `
local o = redis.call('SET', KEYS[5], ARGV[10], 'NX', 'GET')
if o and o ~= ARGV[10] then return {3, o} end
if o then
  local e = redis.call('HGET', KEYS[3], ARGV[7])
  if e then return {0, e} end
end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur ~= ARGV[2] then
  if not cur and not o then redis.call('DEL', KEYS[5]) end
  return {2, cur}
end
if storeConversation(ARGV[1], ARGV[3], ARGV[4], ARGV[5], ARGV[6]) ~= 1 then return {-1, ''} end
redis.call('HSET', KEYS[3], ARGV[7], ARGV[8])
redis.call('ZADD', KEYS[4], 0, ARGV[9])
redis.call('ZADD', KEYS[6], 0, ARGV[11])
if ARGV[12] ~= ARGV[11] then redis.call('ZREM', KEYS[6], ARGV[12]) end
for i = 14, #ARGV do redis.call('PUBLISH', ARGV[13], ARGV[i]) end
return {1, ''}
`

	shippedAppendV4 = `
local o = redis.call('SET', KEYS[5], ARGV[10], 'NX', 'GET')
if o and o ~= ARGV[10] then return {3, o} end
if o then
  local e = redis.call('HGET', KEYS[3], ARGV[7])
  if e then return {0, e} end
end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur ~= ARGV[2] then
  if not cur and not o then redis.call('DEL', KEYS[5]) end
  return {2, cur}
end
if storeConversation(ARGV[1], ARGV[3], ARGV[4], ARGV[5], ARGV[6]) ~= 1 then return {-1, ''} end
redis.call('HSET', KEYS[3], ARGV[7], ARGV[8])
redis.call('ZADD', KEYS[4], 0, ARGV[9])
redis.call('ZADD', KEYS[6], ARGV[12], ARGV[11])
for i = 14, #ARGV do redis.call('PUBLISH', ARGV[13], ARGV[i]) end
return {1, ''}
`
	shippedAppendV5 = `local function putEvent(KEYS, ARGV)
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then return {0, cur} end
if ARGV[4] ~= '' then
  cur = redis.call('HGET', KEYS[1], ARGV[4])
  if cur then return {0, cur} end
end
local seq = redis.call('INCR', KEYS[2])
local v = string.gsub(ARGV[2], '"seq":0,', '"seq":' .. seq .. ',', 1)
redis.call('HSET', KEYS[1], ARGV[1], v)
redis.call('ZADD', KEYS[3], seq, ARGV[1])
if ARGV[3] == '1' then redis.call('SADD', KEYS[4], ARGV[1]) end
return {1, v}
end
local function putEvents()
  for i = 0, tonumber(ARGV[14]) - 1 do
    putEvent({KEYS[7], KEYS[8], KEYS[9], KEYS[10+i]}, {ARGV[15+4*i], ARGV[16+4*i], ARGV[17+4*i], ARGV[18+4*i]})
  end
end

local o = redis.call('SET', KEYS[5], ARGV[10], 'NX', 'GET')
if o and o ~= ARGV[10] then return {3, o} end
if o then
  local e = redis.call('HGET', KEYS[3], ARGV[7])
  if e then return {0, e} end
end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur ~= ARGV[2] then
  if not cur and not o then redis.call('DEL', KEYS[5]) end
  return {2, cur}
end
if storeConversation(ARGV[1], ARGV[3], ARGV[4], ARGV[5], ARGV[6]) ~= 1 then return {-1, ''} end
redis.call('HSET', KEYS[3], ARGV[7], ARGV[8])
redis.call('ZADD', KEYS[4], 0, ARGV[9])
redis.call('ZADD', KEYS[6], ARGV[12], ARGV[11])
putEvents()
for i = 15 + 4 * tonumber(ARGV[14]), #ARGV do redis.call('PUBLISH', ARGV[13], ARGV[i]) end
return {1, ''}
`
)

// The bodies built from shared pieces are the shipped ones, byte for
// byte, and the library registers each under its own name.
func TestAppendBodiesUnchanged(t *testing.T) {
	for _, c := range []struct {
		name, got, want string
	}{
		{"sb_append_v1", oneStepBodyV1, shippedAppendV1},
		{"sb_append_v2", oneStepBodyV2, shippedAppendV2},
		{"sb_append_v3", oneStepBodyV3, shippedAppendV3},
		{"sb_append_v4", oneStepBodyV4, shippedAppendV4},
		{"sb_append_v5", oneStepBody, shippedAppendV5},
	} {
		if c.got != c.want {
			t.Errorf("%s body changed:\n--- built\n%s\n--- shipped\n%s", c.name, c.got, c.want)
		}
		reg := "redis.register_function('" + c.name + "', function(KEYS, ARGV)\n" + conversationHelpers + c.want + "\nend)\n"
		if !strings.Contains(library, reg) {
			t.Errorf("library does not register %s with its shipped body", c.name)
		}
	}
	if got, want := appendInOneStep.Hash(), goredis.NewScript(conversationHelpers+shippedAppendV5).Hash(); got != want {
		t.Errorf("the fallback script is not sb_append_v5's body: hash %s, want %s", got, want)
	}
}
